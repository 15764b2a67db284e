import { useE2EEnvironment } from './harness/e2e-environment';
import { closedLoopbackPort } from './harness/free-port';
import { checkedRotation, expectNoViolations } from './harness/scenario';
import { RotatedSecret, RotationMode } from './harness/secrets-fixture';
import { FaultKind } from '../support/astra/fault-plan';

const e = useE2EEnvironment('e2e-faults');
afterEach(async () => {
  await e.astra.clearFaults();
  await expectNoViolations(e);
});

/** The Astra calls one clean rotation makes, as `METHOD /path` with ids replaced by `*` (the fault path pattern). */
async function astraCallsOfOneRotation(secret: RotatedSecret): Promise<string[]> {
  const from = (await e.astra.records()).requests.length;
  expect((await checkedRotation(e, secret)).completed).toBe(true);
  const calls = (await e.astra.records()).requests.slice(from).map((r) => {
    const path = r.path.split('?')[0].replace(/^(\/v2\/clientIdSecrets|\/v2\/organizations\/roles)\/.+$/, '$1/*');
    return `${r.method} ${path}`;
  });
  return [...new Set(calls)];
}

const FAULTS: Array<[string, FaultKind]> = [
  ['500', { kind: 'status', status: 500 }],
  ['429 with Retry-After', { kind: 'status', status: 429, retryAfterSeconds: 1 }],
  ['a timeout', { kind: 'delay', ms: 400 }],
  ['a dropped connection', { kind: 'drop' }],
  ['an answer lost after the call was processed', { kind: 'lose-answer', how: 'drop' }],
  ['an answer held past the client timeout after the call was processed', { kind: 'lose-answer', how: 'hold', ms: 1000 }],
];

describe.each<RotationMode>(['self', 'admin'])('%s rotation', (mode) => {
  test.each(FAULTS)('%s on each Astra call: the rotation completes (retried by the handler or by the driver)', async (_name, fault) => {
    // Two rotations first, so that the next one revokes a token (DELETE) as well as minting and testing.
    const secret = await e.secrets.createRotatedSecret({ mode });
    await checkedRotation(e, secret);
    const calls = await astraCallsOfOneRotation(secret);
    expect(calls).toEqual(expect.arrayContaining(['POST /v2/clientIdSecrets', 'GET /v2/currentOrg', 'DELETE /v2/clientIdSecrets/*']));
    for (const call of calls) {
      const [method, path] = call.split(' ');
      await e.astra.injectFault({ method, path, times: 1, fault });
      const result = await checkedRotation(e, secret, { maxAttempts: 3 });
      expect({ call, completed: result.completed }).toEqual({ call, completed: true });
      expect((await e.astra.faultState()).pending).toBe(0);
    }
    await e.invariants.noStrayMintedTokens([secret], `after ${_name}`);
  });

  test('a plain-text 403 on the mint fails that attempt with Astra\'s status and message; the retry completes', async () => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    await e.astra.injectFault({ method: 'POST', path: '/v2/clientIdSecrets', times: 1, fault: { kind: 'plain-text', status: 403, message: 'Forbidden by policy X' } });
    const result = await checkedRotation(e, secret);
    expect(result).toEqual(expect.objectContaining({ completed: true, attempts: 2 }));
    expect(result.errors[0].message).toMatch(/403/);
    expect(result.errors[0].message).toContain('Forbidden by policy X');
  });

  test('a plain-text 403 on the test call fails testSecret; the retry completes without a second mint', async () => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    const mintedBefore = (await e.astra.mintedTokens()).length;
    await e.astra.injectFault({ method: 'GET', path: '/v2/currentOrg', times: 1, fault: { kind: 'plain-text', status: 403, message: 'nope' } });
    const result = await checkedRotation(e, secret);
    expect(result).toEqual(expect.objectContaining({ completed: true, attempts: 2 }));
    expect(result.errors[0].message).toMatch(/testSecret/);
    expect((await e.astra.mintedTokens()).length).toBe(mintedBefore + 1);
  });

  // Pointing the handler at a closed port (rather than stopping moto) keeps moto's in-memory state; the driver's
  // retry then uses the real endpoint again.
  test.each(['setSecret', 'testSecret', 'finishSecret'] as const)('Secrets Manager unavailable at %s: the retry completes', async (step) => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    const closed = `http://127.0.0.1:${await closedLoopbackPort()}`;
    const result = await checkedRotation(e, secret, {
      environmentFor: (ctx) => (ctx.attempt === 1 && ctx.step === step ? { SECRETS_MANAGER_ENDPOINT: closed } : undefined),
    });
    expect(result).toEqual(expect.objectContaining({ completed: true, attempts: 2 }));
    await e.invariants.noStrayMintedTokens([secret], `after Secrets Manager was unavailable at ${step}`);
  });
});

test('Secrets Manager unavailable for a whole rotation: it is abandoned, nothing minted, the next rotation completes', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'admin' });
  const mintedBefore = (await e.astra.mintedTokens()).length;
  const closed = `http://127.0.0.1:${await closedLoopbackPort()}`;
  const failed = await checkedRotation(e, secret, { maxAttempts: 2, environmentFor: () => ({ SECRETS_MANAGER_ENDPOINT: closed }) });
  expect(failed.completed).toBe(false);
  expect((await e.astra.mintedTokens()).length).toBe(mintedBefore);
  expect((await checkedRotation(e, secret)).completed).toBe(true);
});

test('a revoked admin token: rotation fails with a 401, nothing minted, secret unchanged', async () => {
  const admin = await e.secrets.createAdminSecret();
  const secret = await e.secrets.createRotatedSecret({ mode: 'admin', rootarn: admin.arn });
  await e.astra.revokeOutOfBand(admin.clientId!);
  const before = await e.secrets.versionValues(secret.arn);
  const mintedBefore = (await e.astra.mintedTokens()).length;
  const result = await checkedRotation(e, secret, { maxAttempts: 2 });
  expect(result.completed).toBe(false);
  expect(result.errors[0].message).toMatch(/401/);
  expect((await e.astra.mintedTokens()).length).toBe(mintedBefore);
  const after = await e.secrets.versionValues(secret.arn);
  expect(Object.values(after).filter((v) => v !== undefined)).toEqual(Object.values(before).filter((v) => v !== undefined));
  expect((await e.secrets.stages(secret.arn))[result.token]).toEqual([]);
});
