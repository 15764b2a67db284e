import { randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { useE2EEnvironment } from './harness/e2e-environment';
import { markedFor } from './harness/invariants';
import { checkedRotation, expectNoViolations } from './harness/scenario';
import { RotatedSecret } from './harness/secrets-fixture';

/**
 * The teardown custom resource (one per rotation function): when a secret with a destroying removal policy leaves the
 * stack, or the stack goes, its tokens are revoked before the secret goes, and CloudFormation always hears SUCCESS.
 */
const e = useE2EEnvironment('e2e-teardown');
afterEach(() => expectNoViolations(e));

/** CloudFormation's side: the pre-signed ResponseURL, on loopback, recording what the function PUTs. */
class ResponseRecorder {
  public readonly answers: Array<Record<string, any>> = [];
  private server!: Server;

  public async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.answers.push({ method: req.method, path: req.url, ...JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  public url(requestId: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/cfn-response/${requestId}?X-Amz-Signature=test`;
  }

  public stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const cfn = new ResponseRecorder();
beforeAll(() => cfn.start());
afterAll(() => cfn.stop());

const STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/AstraTokens/0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7';
const entry = (secret: RotatedSecret, destroy = true) => ({ Arn: secret.arn, Destroy: String(destroy) });

async function teardown(requestType: 'Create' | 'Update' | 'Delete', secrets: unknown[], oldSecrets?: unknown[]) {
  const requestId = randomUUID();
  const from = e.logs.lines.length;
  const error = await e.driver.invoke({
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:e2e-rotation-driven-by-the-test',
    ResponseURL: cfn.url(requestId),
    StackId: STACK_ID,
    RequestId: requestId,
    LogicalResourceId: 'AstraTokenRotationTokenTeardown1A2B3C4D',
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'AstraTokenRotationTokenTeardown1A2B3C4D-astra-token-teardown' }),
    ResourceType: 'Custom::AstraTokenTeardown',
    ResourceProperties: { ServiceToken: 'ignored', Secrets: secrets },
    ...(oldSecrets ? { OldResourceProperties: { ServiceToken: 'ignored', Secrets: oldSecrets } } : {}),
  });
  expect(error).toBeUndefined();
  const answer = cfn.answers.find((a) => a.RequestId === requestId);
  const lines = e.logs.lines.slice(from).flatMap((l) => (l.startsWith('{') ? [JSON.parse(l)] : []));
  return { answer, lines, alerts: lines.filter((l) => l.alert === 'TokensLeftLiveOnDeletion') };
}

/** Every token ever made for the secret (seeded or marked), and whether it is live. */
async function tokensOf(secret: RotatedSecret) {
  return (await e.astra.tokens()).filter((t) => secret.seedClientIds.includes(t.clientId) || markedFor(t.description, secret));
}

async function liveTokensOf(secret: RotatedSecret): Promise<string[]> {
  return (await tokensOf(secret)).filter((t) => !t.revoked).map((t) => t.clientId);
}

/** Two rotations and an abandoned one: AWSCURRENT, AWSPREVIOUS (AT_NEXT_ROTATION) and a stray marked token are live. */
async function secretWithHistory(options: Parameters<typeof e.secrets.createRotatedSecret>[0]): Promise<RotatedSecret> {
  const secret = await e.secrets.createRotatedSecret(options);
  for (let i = 0; i < 2; i++) expect((await checkedRotation(e, secret)).completed).toBe(true);
  const abandoned = randomUUID();
  await e.driver.stagePendingVersion(secret.arn, abandoned);
  expect(await e.driver.invoke({ Step: 'createSecret', SecretId: secret.arn, ClientRequestToken: abandoned })).toBeUndefined();
  await e.driver.abandon(secret.arn, abandoned);
  return secret;
}

test('Create revokes nothing and answers SUCCESS with a physical id that later requests keep', async () => {
  const secret = await secretWithHistory({ mode: 'admin' });
  const live = await liveTokensOf(secret);
  const { answer } = await teardown('Create', [entry(secret)]);
  expect(answer).toMatchObject({ method: 'PUT', Status: 'SUCCESS', StackId: STACK_ID, LogicalResourceId: 'AstraTokenRotationTokenTeardown1A2B3C4D' });
  expect(answer!.PhysicalResourceId).toBe('AstraTokenRotationTokenTeardown1A2B3C4D-astra-token-teardown');
  expect(await liveTokensOf(secret)).toEqual(live);
});

test('a secret that leaves the stack (Update): all its tokens are revoked; retained and remaining secrets, and the admin token, are untouched', async () => {
  const admin = await e.secrets.createAdminSecret();
  const leaving = await secretWithHistory({ mode: 'admin', rootarn: admin.arn });
  const retained = await secretWithHistory({ mode: 'admin', rootarn: admin.arn });
  const staying = await secretWithHistory({ mode: 'self' });
  expect((await liveTokensOf(leaving)).length).toBe(3);
  const before = { retained: await liveTokensOf(retained), staying: await liveTokensOf(staying) };

  const { answer, alerts } = await teardown('Update', [entry(staying)], [entry(leaving), entry(retained, false), entry(staying)]);

  expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'AstraTokenRotationTokenTeardown1A2B3C4D-astra-token-teardown' });
  expect(answer!.Reason).toMatch(/1 of 1 secrets' tokens revoked/);
  expect(alerts).toEqual([]);
  expect(await liveTokensOf(leaving)).toEqual([]);
  expect(await liveTokensOf(retained)).toEqual(before.retained);
  expect(await liveTokensOf(staying)).toEqual(before.staying);
  expect(await e.astra.isLive(admin.token!)).toBe(true);
});

test('the stack is deleted (Delete): every destroyed secret\'s tokens go, admin-minted first, a self-rotating secret\'s last token revoking itself', async () => {
  const adminToken = await secretWithHistory({ mode: 'self', roleId: e.astra.roles.orgAdmin.id });
  const minted = await secretWithHistory({ mode: 'admin', rootarn: adminToken.arn });
  const immediate = await secretWithHistory({ mode: 'self', policyTag: 'IMMEDIATELY' });
  const retained = await secretWithHistory({ mode: 'self' });
  const lastOf = async (s: RotatedSecret) => JSON.parse((await e.secrets.readStage(s.arn, 'AWSCURRENT'))!.value!).clientID as string;
  for (const s of [adminToken, immediate]) e.invariants.allowedSelfRevocations.add(await lastOf(s));
  const retainedLive = await liveTokensOf(retained);

  // The admin secret is listed first: the order of revocation is the function's, not CloudFormation's.
  const { answer, alerts } = await teardown('Delete', [entry(adminToken), entry(minted), entry(immediate), entry(retained, false)]);

  expect(answer).toMatchObject({ Status: 'SUCCESS' });
  expect(alerts).toEqual([]);
  for (const s of [adminToken, minted, immediate]) expect([s.name, await liveTokensOf(s)]).toEqual([s.name, []]);
  expect(await liveTokensOf(retained)).toEqual(retainedLive);
  const selfRevoked = (await e.astra.records()).selfRevocations;
  expect(selfRevoked).toEqual(expect.arrayContaining([await lastOf(adminToken), await lastOf(immediate)]));
});

test('a secret another function rotates now (its settings moved it) is not torn down with the old function', async () => {
  const moved = await secretWithHistory({ mode: 'admin' });
  const live = await liveTokensOf(moved);
  await e.sm.send(new RotateSecretCommand({
    SecretId: moved.arn, RotationLambdaARN: 'arn:aws:lambda:us-east-1:123456789012:function:another-rotation-function', RotateImmediately: false,
  })).catch(() => undefined);
  const { answer, lines } = await teardown('Delete', [entry(moved)]);
  expect(answer).toMatchObject({ Status: 'SUCCESS' });
  expect(lines.find((l) => l.secretArn === moved.arn)?.outcome).toMatch(/another function rotates the secret now/);
  expect(await liveTokensOf(moved)).toEqual(live);
});

test('revocations that fail never block the deletion: SUCCESS, and an ERROR alert line names the tokens left live', async () => {
  const secret = await secretWithHistory({ mode: 'admin' });
  const live = await liveTokensOf(secret);
  await e.astra.injectFault({ method: 'DELETE', path: '/v2/clientIdSecrets/*', fault: { kind: 'status', status: 500 }, times: 1000 });
  try {
    const { answer, alerts } = await teardown('Delete', [entry(secret)]);
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(answer!.Reason).toMatch(/tokens left live for/);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ level: 'ERROR', secretArn: secret.arn });
    expect([...alerts[0].clientIds].sort()).toEqual([...live].sort());
    expect(alerts[0].message).toMatch(/Revoke them in the Astra Portal/);
  } finally {
    await e.astra.clearFaults();
  }
});
