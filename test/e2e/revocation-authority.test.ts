import { randomBytes } from 'node:crypto';
import { useE2EEnvironment } from './harness/e2e-environment';
import { checkedRotation, expectNoViolations } from './harness/scenario';
import { RevocationPolicy, RotatedSecret, RotationMode } from './harness/secrets-fixture';

/**
 * Only the secret's own tokens are ever revoked (docs/rotation-design.md, "The revocation rule"), on the shipped bundle:
 * whoever may write the secret's value, but holds no Astra token with token-write, cannot make the function revoke
 * another team's token, neither by forging the token fields nor by extending what the value says is owed.
 */
const e = useE2EEnvironment('e2e-revocation-authority');
afterEach(() => expectNoViolations(e));

const MODES: RotationMode[] = ['admin', 'self'];
const POLICIES: RevocationPolicy[] = ['AT_NEXT_ROTATION', 'IMMEDIATELY'];

async function currentValue(secret: RotatedSecret): Promise<Record<string, any>> {
  return JSON.parse((await e.secrets.readStage(secret.arn, 'AWSCURRENT'))!.value!);
}

/** Another team's live token, of a role that may write tokens: what the forger wants dead. */
async function bystander() {
  return e.astra.seedToken(e.astra.roles.orgAdmin.id, 'another team (e2e bystander)');
}

async function isLive(clientId: string): Promise<boolean> {
  const token = await e.astra.token(clientId);
  return !!token && e.astra.isLive(token.token);
}

async function rotatedTwice(mode: RotationMode, policy: RevocationPolicy): Promise<RotatedSecret> {
  const secret = await e.secrets.createRotatedSecret({ mode, policyTag: policy });
  for (let i = 0; i < 2; i++) expect((await checkedRotation(e, secret)).completed).toBe(true);
  return secret;
}

function refusals(from: number, secret: RotatedSecret, clientId: string) {
  return e.logs.stepLines(from).filter((l) => l.secretArn === secret.arn
    && (l.revocationsRefused as Array<{ clientId: string }> | undefined)?.some((r) => r.clientId === clientId));
}

describe.each(MODES)('%s mode', (mode) => {
  describe.each(POLICIES)('%s', (policy) => {
    test('a forged astraKey/clientID naming another team\'s token: that token stays live, the secret keeps a live AWSCURRENT', async () => {
      const secret = await rotatedTwice(mode, policy);
      const victim = await bystander();
      const real = await currentValue(secret);
      const forged = { ...real, astraKey: `AstraCS:${victim.clientId}:${randomBytes(32).toString('hex')}`, clientID: victim.clientId };
      await e.secrets.putCurrent(secret.arn, JSON.stringify(forged));
      const from = e.logs.lines.length;
      const mintedBefore = (await e.astra.mintedTokens()).length;

      const results = [await e.driver.rotate(secret.arn, { maxAttempts: 2 }), await e.driver.rotate(secret.arn, { maxAttempts: 2 })];

      expect(await isLive(victim.clientId)).toBe(true);
      await e.invariants.redaction(results.flatMap((r) => r.errors), 'forged rotations');
      if (mode === 'admin') {
        // The admin mints, so the rotations complete: the forged token is refused, never revoked, and the step says so.
        expect(results.map((r) => r.completed)).toEqual([true, true]);
        const current = await currentValue(secret);
        expect(await e.astra.isLive(current.astraKey)).toBe(true);
        const refused = refusals(from, secret, victim.clientId);
        expect(refused.length).toBeGreaterThan(0);
        expect(refused[0]).toMatchObject({ level: 'WARN' });
        expect(JSON.stringify(refused[0].revocationsRefused)).toMatch(/does not authenticate \(HTTP 401\)/);
      } else {
        // The forged token is the minting authority: it cannot list, so nothing is minted, written or revoked.
        expect(results.map((r) => r.completed)).toEqual([false, false]);
        expect(results[0].errors[0].message).toMatch(new RegExp(`createSecret of ${secret.arn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*HTTP 401`));
        expect((await e.astra.mintedTokens()).length).toBe(mintedBefore);
        expect(await currentValue(secret)).toEqual(forged);
        // The real token the writer displaced is still live, in AWSPREVIOUS.
        expect(await e.astra.isLive(real.astraKey)).toBe(true);
      }
    }, 60_000);

    test('the owed list extended with another team\'s clientId (and a version hint pointing at a real version): that token stays live', async () => {
      const secret = await rotatedTwice(mode, policy);
      const victim = await bystander();
      const real = await currentValue(secret);
      const stages = await e.secrets.stages(secret.arn);
      const aVersion = Object.keys(stages).find((v) => stages[v].includes('AWSPREVIOUS'))!;
      const extended = {
        ...real,
        pendingRevocations: [...real.pendingRevocations ?? [], victim.clientId],
        pendingRevocationVersions: { ...real.pendingRevocationVersions, [victim.clientId]: aVersion },
      };
      await e.secrets.putCurrent(secret.arn, JSON.stringify(extended));
      const from = e.logs.lines.length;

      for (let i = 0; i < 2; i++) expect((await checkedRotation(e, { ...secret, initialValue: extended })).completed).toBe(true);

      expect(await isLive(victim.clientId)).toBe(true);
      expect(await e.astra.isLive((await currentValue(secret)).astraKey)).toBe(true);
      const refused = refusals(from, secret, victim.clientId);
      expect(refused[0]).toMatchObject({ level: 'WARN', step: 'createSecret' });
      // The hinted version holds this secret's own token, not the one named: a hint is only a place to look.
      expect(JSON.stringify(refused[0].revocationsRefused)).toMatch(/no version of the secret holds its full token/);
    }, 60_000);
  });
});

test('the bootstrap token of a self-rotating secret and a DataStax-format secret\'s token are still revoked: their own use proves them', async () => {
  for (const [mode, overrides] of [['self', {}], ['admin', { engine: 'Astra' }]] as const) {
    const secret = await e.secrets.createRotatedSecret({ mode, policyTag: 'IMMEDIATELY', overrides });
    const seed = (await e.astra.token(secret.seedClientIds[0]))!;
    expect((await checkedRotation(e, secret)).completed).toBe(true);
    expect(await e.astra.isLive(seed.token)).toBe(false);
  }
}, 60_000);

