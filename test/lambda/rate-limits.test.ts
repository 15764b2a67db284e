import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ROTATOR_ROLE } from './support/fake-astra';
import { awsError } from './support/fake-secrets-manager';
import { Harness, POLICY_TAG, ROLE_TAG } from './support/harness';
import { SpendableBudget } from './support/spendable-budget';
import { SecretStore, isThrottling } from '../../lambda/clients/secret-store';
import { TimeBudget } from '../../lambda/clients/time-budget';
import { AstraApiError, RotationFailure, rateLimitRemedy, reasonOf } from '../../lambda/logging/errors';
import { mintFailure } from '../../lambda/rotation/authority';

const h = new Harness();
beforeAll(() => h.start());
afterAll(() => h.stop());
beforeEach(() => {
  h.setUp();
  // A second of the invocation's time: a 429 whose Retry-After is 5 s cannot be waited for.
  process.env.ROTATION_TIME_MARGIN_MS = String(180_000 - 1_000);
});
afterEach(() => {
  h.assertNoSecretMaterial();
  h.tearDown();
});

const LIST = /^\/v2\/clientIdSecrets$/;
const REVOKE = /^\/v2\/clientIdSecrets\//;
const ROLE_READ = /^\/v2\/organizations\/roles\//;
const ORG = /^\/v2\/currentOrg$/;
const RATE_LIMITED = { status: 429, headers: { 'retry-after': '5' }, body: '{"errors":[{"ID":0,"message":"rate limit exceeded"}]}', times: 1_000 };
/** The remedies of a step's other failures: none of them may answer a rate limit. */
const ROLE_REMEDIES = /has a role that may|Check the role|Give that token|Check that the role grants|org-role-read|role may call/i;

function expectRateLimitFailure(error: unknown): void {
  const message = String(error);
  expect(message).toContain(rateLimitRemedy('Astra'));
  expect(message).toMatch(/HTTP 429|rate limit/);
  expect(message).not.toMatch(ROLE_REMEDIES);
}

describe('GIVEN Astra answers 429 beyond the invocation\'s time, WHEN a step calls it, THEN the step fails for the rate limit, never for the role', () => {
  test('createSecret\'s token list: nothing is minted or written', async () => {
    const { arn } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    h.astra.fail({ method: 'GET', path: LIST, ...RATE_LIMITED });
    const error = await h.step('createSecret', arn, h.sm.startRotation(arn)).catch((e: Error) => e);
    expectRateLimitFailure(error);
    expect(String(error)).toContain(`createSecret of ${arn}`);
    expect(h.astra.count('POST')).toBe(0);
    expect(h.sm.count('PutSecretValue')).toBe(0);
  });

  test('the role read of a self-rotating secret: nothing is minted', async () => {
    const { arn } = h.selfSecret({ [ROLE_TAG]: ROTATOR_ROLE });
    h.astra.fail({ method: 'GET', path: ROLE_READ, ...RATE_LIMITED });
    const error = await h.step('createSecret', arn, h.sm.startRotation(arn)).catch((e: Error) => e);
    expectRateLimitFailure(error);
    expect(h.astra.count('POST')).toBe(0);
  });

  test('the mint: nothing is minted or written', async () => {
    const { arn } = h.adminSecret();
    h.astra.fail({ method: 'POST', path: LIST, ...RATE_LIMITED });
    const error = await h.step('createSecret', arn, h.sm.startRotation(arn)).catch((e: Error) => e);
    expectRateLimitFailure(error);
    expect(String(error)).toMatch(/no token was minted/);
    expect(h.astra.tokens.size).toBe(2);
    expect(h.sm.count('PutSecretValue')).toBe(0);
  });

  test('testSecret: the token is "not tested", not "does not work"', async () => {
    const { arn } = h.adminSecret();
    const token = h.sm.startRotation(arn);
    await h.step('createSecret', arn, token);
    await h.step('setSecret', arn, token);
    h.astra.fail({ method: 'GET', path: ORG, ...RATE_LIMITED });
    const error = await h.step('testSecret', arn, token).catch((e: Error) => e);
    expectRateLimitFailure(error);
    expect(String(error)).toMatch(/could not be tested/);
    expect(String(error)).not.toMatch(/does not work/);
  });

  test.each([
    ['token list', { method: 'GET', path: LIST }],
    ['revocation', { method: 'DELETE', path: REVOKE }],
  ])('finishSecret\'s %s: the new token is promoted, the old one stays live for the retry', async (_name, call) => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    h.astra.fail({ ...call, ...RATE_LIMITED });
    const error = await h.step('finishSecret', arn, token).catch((e: Error) => e);
    expectRateLimitFailure(error);
    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(token);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
  });
});

test('GIVEN rotation ended while createSecret minted, WHEN the revocation of the new token is rate-limited out, THEN the step still says to revoke it by hand', async () => {
  const { arn } = h.adminSecret();
  const version = h.sm.startRotation(arn);
  const sm = h.sm as unknown as { put: (input: unknown) => unknown };
  const put = sm.put.bind(sm);
  jest.spyOn(sm, 'put').mockImplementationOnce((input) => {
    const result = put(input);
    h.sm.secrets.get(arn)!.rotationEnabled = false;
    return result;
  });
  h.astra.fail({ method: 'DELETE', path: REVOKE, ...RATE_LIMITED });
  const error = String(await h.step('createSecret', arn, version).catch((e: Error) => e));
  const minted = h.astra.everIssued[h.astra.everIssued.length - 1];
  expect(h.astra.isLive(minted.clientId)).toBe(true);
  expect(error).toMatch(/could not be revoked.*Revoke it in the Astra Portal/);
  expect(error).not.toContain(rateLimitRemedy('Astra'));
});

describe('Secrets Manager throttling', () => {
  const THROTTLED = () => awsError('ThrottlingException', 'Rate exceeded', 'client', 400);

  test('GIVEN throttled calls, WHEN time is left, THEN they are retried with growing random waits until they pass', async () => {
    const arn = h.sm.create('throttled', '{"astraKey":"x"}');
    for (let i = 0; i < 6; i++) h.sm.failNext('GetSecretValue', THROTTLED());
    const waits: number[] = [];
    const budget = new SpendableBudget(60_000);
    const store = new SecretStore(new SecretsManagerClient({ region: 'us-east-1' }), budget, async (ms) => { waits.push(ms); budget.spend(ms); }, () => 0.999);
    await expect(store.valueOf(arn, { stage: 'AWSCURRENT' })).resolves.toBe('{"astraKey":"x"}');
    expect(waits).toEqual([499, 999, 1998, 3996, 4995, 4995]);
    expect(store.throttledOut).toBe(false);
  });

  test('GIVEN throttling outlasts the budget, THEN the call fails and the store says it was throttled out', async () => {
    const arn = h.sm.create('throttled', '{"astraKey":"x"}');
    for (let i = 0; i < 50; i++) h.sm.failNext('DescribeSecret', THROTTLED());
    const budget = new SpendableBudget(8_000);
    const store = new SecretStore(new SecretsManagerClient({ region: 'us-east-1' }), budget, async (ms) => { budget.spend(ms); }, () => 0.999);
    await expect(store.describe(arn)).rejects.toThrow(/DescribeSecret .* failed: ThrottlingException: Rate exceeded/);
    expect(store.throttledOut).toBe(true);
  });

  test('GIVEN a quota error (LimitExceededException), THEN it is not retried: no wait lifts it', async () => {
    const arn = h.sm.create('quota', '{"astraKey":"x"}');
    h.sm.failNext('DescribeSecret', awsError('LimitExceededException', 'too many versions', 'client', 400));
    const waits: number[] = [];
    const store = new SecretStore(new SecretsManagerClient({ region: 'us-east-1' }), new SpendableBudget(60_000), async (ms) => { waits.push(ms); });
    await expect(store.describe(arn)).rejects.toThrow(/LimitExceededException/);
    expect(waits).toEqual([]);
    expect(store.throttledOut).toBe(false);
  });

  test('GIVEN the put of the new token is throttled out, THEN createSecret fails naming Secrets Manager\'s rate, and the new token is revoked', async () => {
    const { arn } = h.adminSecret();
    for (let i = 0; i < 50; i++) h.sm.failNext('PutSecretValue', THROTTLED());
    const error = await h.step('createSecret', arn, h.sm.startRotation(arn)).catch((e: Error) => e);
    expect(String(error)).toContain(rateLimitRemedy('Secrets Manager'));
    expect(String(error)).not.toMatch(ROLE_REMEDIES);
    const minted = h.astra.requests.filter((r) => r.method === 'POST' && r.fault === undefined);
    expect(minted).toHaveLength(1);
    expect([...h.astra.tokens.values()].filter((t) => t.description?.startsWith('cdk-astra-token-secret'))).toEqual([]);
  });
});

describe('the pieces the rate-limit paths are made of', () => {
  test('isThrottling knows every name and sign of throttling, and nothing else', () => {
    for (const name of ['ThrottlingException', 'TooManyRequestsException', 'Throttling']) expect(isThrottling(awsError(name, 'slow down', 'client', 400))).toBe(true);
    expect(isThrottling(awsError('SomethingElse', 'x', 'client', 429))).toBe(true);
    expect(isThrottling(Object.assign(new Error('x'), { $retryable: { throttling: true } }))).toBe(true);
    expect(isThrottling(awsError('InternalServiceError', 'x'))).toBe(false);
    expect(isThrottling(undefined)).toBe(false);
  });

  test('reasonOf gives a failure\'s reason without its remedy, and any other error whole', () => {
    expect(reasonOf(new RotationFailure('the list failed.', 'Do this.'))).toBe('the list failed.');
    expect(reasonOf(new Error('plain'))).toBe('plain');
  });

  test('a budget says how much of it is left: 1 when made without time or without an end', () => {
    expect(new TimeBudget(Date.now() + 60_000).fractionLeft()).toBeGreaterThan(0.99);
    expect(new TimeBudget(Date.now() - 1_000).fractionLeft()).toBe(1);
    expect(new TimeBudget(Number.POSITIVE_INFINITY).fractionLeft()).toBe(1);
  });

  test('a mint never sent, or failed without an answer from Astra, says no token was minted and rotation will be retried', () => {
    const authority = { bearer: 'b', description: 'the admin token' };
    expect(mintFailure(new AstraApiError('token mint', undefined, 'not sent: the invocation\'s time is almost up', false), authority).remedy)
      .toBe('The token was not minted. Rotation will be retried.');
    expect(mintFailure(new Error('boom'), authority).message).toMatch(/^minting failed: boom\. Rotation will be retried\.$/);
  });
});
