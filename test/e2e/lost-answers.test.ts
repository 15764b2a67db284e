import { useE2EEnvironment } from './harness/e2e-environment';
import { markedFor } from './harness/invariants';
import { checkedRotation, expectNoViolations } from './harness/scenario';
import { RotationMode } from './harness/secrets-fixture';

const e = useE2EEnvironment('e2e-lost');
afterEach(async () => {
  await e.astra.clearFaults();
  e.killSwitch.clearRules();
  await expectNoViolations(e);
});

describe.each<RotationMode>(['self', 'admin'])('%s rotation', (mode) => {
  test.each([
    ['dropped', { kind: 'lose-answer', how: 'drop' } as const],
    ['held past the client timeout', { kind: 'lose-answer', how: 'hold', ms: 1500 } as const],
  ])('a mint Astra performed whose answer was %s: swept by its mark, minted again, in the same invocation', async (_, fault) => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    await e.astra.injectFault({ method: 'POST', path: '/v2/clientIdSecrets', times: 1, fault });
    const result = await checkedRotation(e, secret);
    expect(result).toEqual(expect.objectContaining({ completed: true, attempts: 1, errors: [] }));
    const mine = (await e.astra.mintedTokens()).filter((t) => markedFor(t.description, secret, result.token));
    expect(mine).toHaveLength(2);
    expect(mine.filter((t) => !t.revoked)).toHaveLength(1);
    await e.invariants.noStrayMintedTokens([secret], 'after a lost mint answer');
  });

  test('a PutSecretValue that committed but whose answers were lost is read back: no revocation, no second mint', async () => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    // The SDK retries a lost answer twice more (maxAttempts 3): all three commit-or-repeat and all three answers are lost.
    e.killSwitch.addRule({ upstream: 'secrets-manager', matching: 'PutSecretValue', action: 'lose-answer', times: 3 });
    const mintedBefore = (await e.astra.mintedTokens()).length;
    const from = e.logs.lines.length;
    const result = await checkedRotation(e, secret);
    expect(result).toEqual(expect.objectContaining({ completed: true, attempts: 1, errors: [] }));
    expect((await e.astra.mintedTokens()).length).toBe(mintedBefore + 1);
    const create = e.logs.stepLines(from).find((l) => l.step === 'createSecret')!;
    expect(create.outcome).toBe('created');
    expect(JSON.stringify(create.notes)).toMatch(/reported a failure but the version was stored/);
  });

  test('a stalled PutSecretValue meets the client\'s timeout, not the function\'s: the step fails, the retry completes', async () => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    e.killSwitch.addRule({ upstream: 'secrets-manager', matching: 'PutSecretValue', action: 'stall', ms: 20_000, times: 3 });
    const startsBefore = e.lambda.starts;
    const began = Date.now();
    const result = await checkedRotation(e, secret, {
      environmentFor: (ctx) => (ctx.attempt === 1 ? { SECRETS_MANAGER_TIMEOUT_MS: '300' } : undefined),
    });
    expect(result).toEqual(expect.objectContaining({ completed: true, attempts: 2 }));
    expect(result.errors[0].message).toMatch(/createSecret of .* failed: storing the new token as AWSPENDING failed: .*The version does not hold the new token yet.*revokes the new token by its mark/);
    // The function was never killed by its own timeout (30 s here): its Secrets Manager client gave up first.
    expect(e.lambda.starts).toBe(startsBefore);
    expect(Date.now() - began).toBeLessThan(15_000);
    await e.invariants.noStrayMintedTokens([secret], 'after a stalled put');
  });

  test('a mint answered 429 waits for Retry-After and succeeds within the invocation', async () => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    await e.astra.injectFault({ method: 'POST', path: '/v2/clientIdSecrets', times: 2, fault: { kind: 'status', status: 429, retryAfterSeconds: 1 } });
    const began = Date.now();
    const result = await checkedRotation(e, secret);
    expect(result).toEqual(expect.objectContaining({ completed: true, attempts: 1, errors: [] }));
    expect(Date.now() - began).toBeGreaterThanOrEqual(2000);
  });
});
