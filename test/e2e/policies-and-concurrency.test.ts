import { useE2EEnvironment } from './harness/e2e-environment';
import { checkedRotation, expectNoViolations } from './harness/scenario';
import { RotatedSecret, RotationMode } from './harness/secrets-fixture';

const e = useE2EEnvironment('e2e-policy');
afterEach(() => expectNoViolations(e));

describe.each<RotationMode>(['self', 'admin'])('%s rotation', (mode) => {
  test.each([undefined, 'AT_NEXT_ROTATION', 'IMMEDIATELY'])('revocation policy tag %s', async (policyTag) => {
    const secret = await e.secrets.createRotatedSecret({ mode, policyTag });
    for (let i = 0; i < 3; i++) expect((await checkedRotation(e, secret)).completed).toBe(true);
    const previous = JSON.parse((await e.secrets.readStage(secret.arn, 'AWSPREVIOUS'))!.value!);
    const live = (await e.astra.token(previous.clientID))!;
    expect(live.revoked).toBe(policyTag === 'IMMEDIATELY');
    await e.invariants.noStrayMintedTokens([secret], `policy ${policyTag}`);
  });

  test('two rotations of the same secret at once: AWSCURRENT always works, and the next rotation leaves nothing behind', async () => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    await checkedRotation(e, secret);
    for (let round = 0; round < 3; round++) {
      const outcomes = await Promise.allSettled([e.driver.rotate(secret.arn, { maxAttempts: 2 }), e.driver.rotate(secret.arn, { maxAttempts: 2 })]);
      // Either both ran interleaved (one loses AWSPENDING to the other) or one was refused as still in progress.
      expect(outcomes.some((o) => o.status === 'fulfilled' && o.value.completed)).toBe(true);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(String(o.reason)).toMatch(/still in progress/);
      }
      await e.invariants.afterStep(secret, `after concurrent round ${round}`);
      expect((await checkedRotation(e, secret)).completed).toBe(true);
      await e.invariants.noStrayMintedTokens([secret], `after concurrent round ${round}`);
    }
  });
});

test('a secret written by DataStax\'s Python rotator (engine Astra, rootarn) rotates and keeps its format', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'admin', overrides: { engine: 'Astra', application: undefined, owner: undefined } });
  expect(Object.keys(secret.initialValue).sort()).toEqual(['astraKey', 'clientID', 'clientSecret', 'engine', 'roleID', 'rootarn']);
  for (let i = 0; i < 2; i++) expect((await checkedRotation(e, secret)).completed).toBe(true);
  expect(JSON.parse((await e.secrets.readStage(secret.arn, 'AWSCURRENT'))!.value!).engine).toBe('Astra');
});

test('20 secrets rotated concurrently by one function (one loaded bundle)', async () => {
  const admin = await e.secrets.createAdminSecret(e.astra.roles.tokenManager.id);
  const secrets: RotatedSecret[] = [];
  for (let i = 0; i < 20; i++) {
    secrets.push(await e.secrets.createRotatedSecret({
      mode: i % 2 === 0 ? 'self' : 'admin',
      rootarn: admin.arn,
      roleId: i % 2 === 0 ? e.astra.roles.tokenManager.id : e.astra.roles.apiUser.id,
      policyTag: i % 3 === 0 ? 'IMMEDIATELY' : undefined,
    }));
  }
  for (let round = 0; round < 2; round++) {
    const results = await Promise.all(secrets.map((s) => checkedRotation(e, s)));
    expect(results.filter((r) => !r.completed)).toEqual([]);
  }
  await e.invariants.noStrayMintedTokens(secrets, 'after 20 concurrent secrets');
  expect(await e.astra.isLive(admin.token!)).toBe(true);
});
