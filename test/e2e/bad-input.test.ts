import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CfnResponseRecorder } from './harness/cfn-response-recorder';
import { useE2EEnvironment } from './harness/e2e-environment';
import { expectNoViolations } from './harness/scenario';
import { ADMIN_TAG, ROLE_TAG, RotatedSecret, SecretOptions } from './harness/secrets-fixture';

const e = useE2EEnvironment('e2e-bad');
afterEach(() => expectNoViolations(e));

/** What "unchanged" means: the same versions hold the same values, and Astra minted nothing. */
async function snapshot(secret: RotatedSecret) {
  const values = await e.secrets.versionValues(secret.arn);
  return {
    values: Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)),
    current: (await e.secrets.readStage(secret.arn, 'AWSCURRENT'))!.versionId,
    minted: (await e.astra.mintedTokens()).length,
  };
}

/** DELETEs Astra answered since the snapshot: bad input revokes nothing either. */
async function revokedSince(at: number): Promise<string[]> {
  return (await e.astra.records()).requests.slice(at).filter((r) => r.method === 'DELETE' && r.status !== 404).map((r) => r.path);
}

const NOT_A_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:e2e-bad-does-not-exist-AbCdEf';

const BAD_SECRETS: Array<[string, () => Promise<SecretOptions>]> = [
  ['malformed JSON', async () => ({ mode: 'self', rawValue: '{"astraKey": "AstraCS:' })],
  ['a JSON array instead of an object', async () => ({ mode: 'self', rawValue: '[]' })],
  ['no engine', async () => ({ mode: 'self', overrides: { engine: undefined } })],
  ['a wrong engine', async () => ({ mode: 'self', overrides: { engine: 'postgres' } })],
  ['roleID that is a role name, not a UUID', async () => ({ mode: 'self', overrides: { roleID: 'Database Administrator' } })],
  ['a self-rotating secret with no token yet', async () => ({ mode: 'self', seedToken: false })],
  ['an unreadable rootarn secret', async () => ({ mode: 'admin', rootarn: NOT_A_SECRET })],
  ['a malformed rootarn', async () => ({ mode: 'admin', rootarn: 'my-admin-secret' })],
  ['a rootarn secret that is not JSON', async () => ({ mode: 'admin', rootarn: (await e.secrets.createAdminSecret(undefined, 'AstraCS:not-json')).arn })],
  ['a rootarn secret with no astraKey', async () => ({ mode: 'admin', rootarn: (await e.secrets.createAdminSecret(undefined, '{"clientID":"x"}')).arn })],
  ['an admin token without token-write', async () => ({ mode: 'admin', rootarn: (await e.secrets.createAdminSecret(e.astra.roles.readOnly.id)).arn })],
  ['a self-rotating token without token-write', async () => ({ mode: 'self', roleId: e.astra.roles.readOnly.id })],
  // Bootstrapped with an admin's token, bound to a role whose tokens could never mint their successors.
  ['a self-rotating secret bound to a role without token-write', async () => ({ mode: 'self', roleId: e.astra.roles.apiUser.id, seedRoleId: e.astra.roles.orgAdmin.id })],
  ['no role tag', async () => ({ mode: 'self', tags: { [ROLE_TAG]: undefined } })],
  ['a role tag that is a role name', async () => ({ mode: 'admin', tags: { [ROLE_TAG]: 'API User' } })],
  ['an admin tag naming no secret', async () => ({ mode: 'admin', tags: { [ADMIN_TAG]: NOT_A_SECRET } })],
  ['an astraKey that is not an Astra token', async () => ({ mode: 'self', overrides: { astraKey: 'AstraCS-but-not-a-token' } })],
  ['a clientID that is not the one inside astraKey', async () => ({
    mode: 'self', policyTag: 'IMMEDIATELY', overrides: { clientID: (await e.astra.seedToken(e.astra.roles.apiUser.id, 'unrelated')).clientId },
  })],
];

test.each(BAD_SECRETS)('%s: the rotation fails, the secret is unchanged and no token is minted', async (_why, options) => {
  const secret = await e.secrets.createRotatedSecret(await options());
  const before = await snapshot(secret);
  const calls = (await e.astra.records()).requests.length;
  const result = await e.driver.rotate(secret.arn, { maxAttempts: 2 });
  expect(result.completed).toBe(false);
  expect(result.errors.length).toBeGreaterThan(0);
  for (const error of result.errors) expect(error.message).toMatch(/^createSecret of arn:aws:secretsmanager:/);
  expect(await snapshot(secret)).toEqual(before);
  expect(await revokedSince(calls)).toEqual([]);
  await e.invariants.redaction(result.errors, _why);
});

test('without credentials in its environment the bundle fails clearly: it reads no other source (no ~/.aws, no instance metadata)', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
  const before = await snapshot(secret);
  const token = '5f0f5d1e-0000-4000-8000-00000000e2e2';
  await e.driver.stagePendingVersion(secret.arn, token);
  const error = await e.driver.invoke({ Step: 'createSecret', SecretId: secret.arn, ClientRequestToken: token }, { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
  expect(error?.message).toMatch(/createSecret of .* failed: Secrets Manager DescribeSecret .* Unable to find environment variable credentials/);
  await e.driver.abandon(secret.arn, token);
  expect(await snapshot(secret)).toEqual(before);
});

test('AWS settings in its environment or a shared config file do not redirect its Secrets Manager calls', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
  const dir = mkdtempSync(path.join(tmpdir(), 'e2e-aws-config-'));
  const configFile = path.join(dir, 'config');
  writeFileSync(configFile, '[default]\nuse_fips_endpoint = true\nuse_dualstack_endpoint = true\nretry_mode = adaptive\nmax_attempts = 1\n');
  try {
    const result = await e.driver.rotate(secret.arn, {
      environmentFor: () => ({ AWS_USE_FIPS_ENDPOINT: 'true', AWS_USE_DUALSTACK_ENDPOINT: 'true', AWS_CONFIG_FILE: configFile, AWS_PROFILE: 'default' }),
    });
    expect(result.completed).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.each(['http://secretsmanager.us-east-1.amazonaws.com', 'http://10.1.2.3:443'])(
  'a SECRETS_MANAGER_ENDPOINT of %s (every new token would cross it in clear) is refused before any call', async (endpoint) => {
    const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
    const before = await snapshot(secret);
    const calls = (await e.astra.records()).requests.length;
    const token = '5f0f5d1e-0000-4000-8000-00000000e2e1';
    await e.driver.stagePendingVersion(secret.arn, token);
    const error = await e.driver.invoke({ Step: 'createSecret', SecretId: secret.arn, ClientRequestToken: token }, { SECRETS_MANAGER_ENDPOINT: endpoint });
    expect(error?.message).toMatch(/SECRETS_MANAGER_ENDPOINT .* must use https:\/\//);
    expect((await e.astra.records()).requests.length).toBe(calls);
    await e.driver.abandon(secret.arn, token);
    expect(await snapshot(secret)).toEqual(before);
  });

describe('URL credentials in the environment: refused, and quoted nowhere', () => {
  const USER = 'astra-url-user';
  const PASSWORD = 'url-pw-5cQ8vRt2';
  const cfn = new CfnResponseRecorder();
  beforeAll(() => cfn.start());
  afterAll(() => cfn.stop());

  const withUserInfo = (url: string) => url.replace('://', `://${USER}:${PASSWORD}@`);
  // The harness's own loopback servers with credentials added (everything else about them is right), a host http would
  // be refused for anyway, and a value the URL parser does not split.
  const SETTINGS: Array<[string, () => Record<string, string>]> = [
    ['ASTRA_API_URL to the emulator', () => ({ ASTRA_API_URL: withUserInfo(e.env.ASTRA_API_URL) })],
    ['ASTRA_API_URL over http to a remote host', () => ({ ASTRA_API_URL: withUserInfo('http://api.astra.datastax.com') })],
    ['ASTRA_API_URL with no scheme', () => ({ ASTRA_API_URL: `${USER}:${PASSWORD}@api.astra.datastax.com` })],
    ['SECRETS_MANAGER_ENDPOINT to moto', () => ({ SECRETS_MANAGER_ENDPOINT: withUserInfo(e.env.SECRETS_MANAGER_ENDPOINT) })],
    ['SECRETS_MANAGER_ENDPOINT over http to a remote host', () => ({ SECRETS_MANAGER_ENDPOINT: withUserInfo('http://secretsmanager.us-east-1.amazonaws.com') })],
  ];
  const REFUSAL = /(?:ConfigError: )?(ASTRA_API_URL|SECRETS_MANAGER_ENDPOINT)( "[^"]*")? (carries credentials|must use https|is not a URL)/;

  /** Every text that leaves the function: its console lines since `from`, the error it threw, and CloudFormation's answer. */
  function expectNoCredentials(from: number, error?: Error, answer?: Record<string, any>): void {
    const texts = [
      ...e.logs.lines.slice(from),
      ...(error ? [error.message, error.stack ?? '', (error as { serialized?: string }).serialized ?? ''] : []),
      answer?.raw ?? '',
    ];
    for (const text of texts) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(USER);
    }
  }

  test.each(SETTINGS)('%s: a rotation step is refused before any call; nothing written, minted or revoked', async (_what, settings) => {
    const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
    const before = await snapshot(secret);
    const calls = (await e.astra.records()).requests.length;
    const token = randomUUID();
    await e.driver.stagePendingVersion(secret.arn, token);
    const from = e.logs.lines.length;
    const error = await e.driver.invoke({ Step: 'createSecret', SecretId: secret.arn, ClientRequestToken: token }, settings());
    expect(error?.message).toMatch(new RegExp(`^createSecret of ${secret.arn} \\(version ${token}\\) failed: ${REFUSAL.source}.*no credentials`));
    const line = e.logs.stepLines(from).find((l) => l.secretArn === secret.arn);
    expect(line).toMatchObject({ level: 'ERROR', outcome: 'failed', error: error!.message });
    expectNoCredentials(from, error);
    expect((await e.astra.records()).requests.length).toBe(calls);
    expect((await e.secrets.versionValues(secret.arn))[token]).toBeUndefined();
    await e.driver.abandon(secret.arn, token);
    expect(await snapshot(secret)).toEqual(before);
  });

  test.each(SETTINGS)('%s: the teardown revokes nothing and its CloudFormation answer and alert do not quote them', async (_what, settings) => {
    const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
    const before = await snapshot(secret);
    const calls = (await e.astra.records()).requests.length;
    const requestId = randomUUID();
    const from = e.logs.lines.length;
    const error = await e.driver.invoke({
      RequestType: 'Delete',
      ResponseURL: cfn.url(requestId),
      StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/AstraTokens/0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7',
      RequestId: requestId,
      LogicalResourceId: 'AstraTokenRotationTokenTeardown1A2B3C4D',
      PhysicalResourceId: 'AstraTokenRotationTokenTeardown1A2B3C4D-astra-token-teardown',
      ResourceType: 'Custom::AstraTokenTeardown',
      ResourceProperties: { ServiceToken: 'ignored', Secrets: [{ Arn: secret.arn, Destroy: 'true' }] },
    }, settings());
    expect(error).toBeUndefined();
    const answer = cfn.answerTo(requestId);
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(answer!.Reason).toMatch(new RegExp(`^teardown failed: ${REFUSAL.source}`));
    const alert = e.logs.stepLines(from).find((l) => l.alert === 'TokensLeftLiveOnDeletion');
    expect(alert?.message).toMatch(REFUSAL);
    expectNoCredentials(from, undefined, answer);
    expect((await e.astra.records()).requests.length).toBe(calls);
    expect(await snapshot(secret)).toEqual(before);
  });

  test.each(SETTINGS)('%s: a Secrets Manager event is refused with an error that does not quote them', async (_what, settings) => {
    const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
    const before = await snapshot(secret);
    const from = e.logs.lines.length;
    const error = await e.driver.invoke({
      'version': '0',
      'id': randomUUID(),
      'detail-type': 'AWS Service Event via CloudTrail',
      'source': 'aws.secretsmanager',
      'account': '123456789012',
      'region': 'us-east-1',
      'detail': { eventName: 'RotationFailed', additionalEventData: { SecretId: secret.arn } },
    }, settings());
    expect(error?.message).toMatch(new RegExp(`^${REFUSAL.source}`));
    expectNoCredentials(from, error);
    expect(await snapshot(secret)).toEqual(before);
  });
});

describe('bad events', () => {
  let secret: RotatedSecret;
  let token: string;
  beforeAll(async () => {
    secret = await e.secrets.createRotatedSecret({ mode: 'self' });
    token = '5f0f5d1e-0000-4000-8000-00000000e2e0';
    await e.driver.stagePendingVersion(secret.arn, token);
  });
  afterAll(() => e.driver.abandon(secret.arn, token));

  const events: Array<[string, (arn: string, token: string) => unknown]> = [
    ['null', () => null],
    ['a string', () => 'createSecret'],
    ['no Step', (arn, t) => ({ SecretId: arn, ClientRequestToken: t })],
    ['no SecretId', (_arn, t) => ({ Step: 'createSecret', ClientRequestToken: t })],
    ['no ClientRequestToken', (arn) => ({ Step: 'createSecret', SecretId: arn })],
    ['an unknown step', (arn, t) => ({ Step: 'rotateSecret', SecretId: arn, ClientRequestToken: t })],
    ['a step in the wrong case', (arn, t) => ({ Step: 'CreateSecret', SecretId: arn, ClientRequestToken: t })],
    ['a token that is not a version of the secret', (arn) => ({ Step: 'createSecret', SecretId: arn, ClientRequestToken: '5f0f5d1e-0000-4000-8000-0000000000ff' })],
    ['an unknown secret', (_arn, t) => ({ Step: 'createSecret', SecretId: NOT_A_SECRET, ClientRequestToken: t })],
  ];
  test.each(events)('%s: the handler throws, nothing changes, nothing is minted', async (_why, makeEvent) => {
    const before = await snapshot(secret);
    const error = await e.driver.invoke(makeEvent(secret.arn, token));
    expect(error).toBeInstanceOf(Error);
    expect(await snapshot(secret)).toEqual(before);
    await e.invariants.redaction([error!], _why);
  });
});
