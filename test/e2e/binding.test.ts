import { randomUUID } from 'node:crypto';
import { TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { useE2EEnvironment } from './harness/e2e-environment';
import { markedFor } from './harness/invariants';
import { STEPS } from './harness/rotation-driver';
import { checkedRotation, expectNoViolations } from './harness/scenario';
import { ROLE_TAG, RotatedSecret } from './harness/secrets-fixture';

/** The settings that decide what a token may do come from the secret's tags (the deploy), never from its value. */
const e = useE2EEnvironment('e2e-binding');
afterEach(() => expectNoViolations(e));

const ROLE_READ = /^\/v2\/organizations\/roles\//;

async function currentValue(secret: RotatedSecret): Promise<Record<string, any>> {
  return JSON.parse((await e.secrets.readStage(secret.arn, 'AWSCURRENT'))!.value!);
}

async function rolesOf(clientId: string): Promise<readonly string[]> {
  return (await e.astra.token(clientId))!.roles;
}

function stepLinesOf(secret: RotatedSecret, from: number) {
  return e.logs.stepLines(from).filter((l) => l.secretArn === secret.arn);
}

test('a value whose roleID and rootarn were rewritten is not obeyed: the bound role and admin secret mint, and the step warns', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'admin' });
  // Someone with PutSecretValue asks for an org-admin token, minted by a stronger admin secret they point at.
  const stronger = await e.secrets.createAdminSecret(e.astra.roles.orgAdmin.id);
  const tampered = { ...(await currentValue(secret)), roleID: e.astra.roles.orgAdmin.id, rootarn: stronger.arn };
  await e.secrets.putCurrent(secret.arn, JSON.stringify(tampered));
  const tamperedSecret = { ...secret, initialValue: tampered };
  const from = e.logs.lines.length;
  const calls = (await e.astra.records()).requests.length;

  expect((await checkedRotation(e, tamperedSecret)).completed).toBe(true);

  const current = await currentValue(secret);
  expect(await rolesOf(current.clientID)).toEqual([e.astra.roles.apiUser.id]);
  expect(current).toMatchObject({ roleID: e.astra.roles.apiUser.id, rootarn: secret.binding.adminSecretArn });
  const callers = (await e.astra.records()).requests.slice(calls).map((r) => r.bearerClientId);
  expect(callers).not.toContain(stronger.clientId);
  const create = stepLinesOf(secret, from).find((l) => l.step === 'createSecret')!;
  expect(create.level).toBe('WARN');
  expect(create.warnings).toEqual([
    expect.stringMatching(/"roleID" is not the role the tag astra-token-secret:role-id binds/),
    expect.stringMatching(/"rootarn" is not the admin secret the tag astra-token-secret:admin-secret-arn binds/),
  ]);
});

test('bootstrapped with an admin\'s token and bound to a role that may write tokens: the role\'s policy is read once, then its own tokens prove it', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'self', roleId: e.astra.roles.tokenManager.id, seedRoleId: e.astra.roles.orgAdmin.id });
  const calls = (await e.astra.records()).requests.length;
  for (let i = 0; i < 3; i++) expect((await checkedRotation(e, secret)).completed).toBe(true);
  const roleReads = (await e.astra.records()).requests.slice(calls).filter((r) => ROLE_READ.test(r.path));
  expect(roleReads.map((r) => [r.status, r.bearerClientId])).toEqual([[200, secret.seedClientIds[0]]]);
  // The admin bootstrap token is gone: AT_NEXT_ROTATION kept it one rotation, the next revoked it.
  expect(await e.astra.isLive((await e.astra.token(secret.seedClientIds[0]))!.token)).toBe(false);
});

test('a changed role tag applies from the next rotation, and the value written before it is kept until then', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'admin' });
  expect((await checkedRotation(e, secret)).completed).toBe(true);
  const before = await currentValue(secret);
  // What a deploy with a new roleId does: the tag changes, the value does not.
  await e.sm.send(new TagResourceCommand({ SecretId: secret.arn, Tags: [{ Key: ROLE_TAG, Value: e.astra.roles.readOnly.id }] }));
  expect(await currentValue(secret)).toEqual(before);
  // The invariant checker holds each secret to one binding; this rotation is checked by hand instead.
  expect((await e.driver.rotate(secret.arn)).completed).toBe(true);
  const after = await currentValue(secret);
  expect(await e.astra.isLive(after.astraKey)).toBe(true);
  expect(await rolesOf(after.clientID)).toEqual([e.astra.roles.readOnly.id]);
  expect(after.roleID).toBe(e.astra.roles.readOnly.id);
});

describe('an admin secret that is itself a self-rotating AstraTokenSecret', () => {
  // Orders of the eight steps of two rotations; each keeps its own secret's steps in order.
  const interleavings: Array<[string, Array<'admin' | 'app'>]> = [
    ['admin first', ['admin', 'admin', 'admin', 'admin', 'app', 'app', 'app', 'app']],
    ['app created with the old admin token, finished with the new one', ['app', 'admin', 'admin', 'admin', 'admin', 'app', 'app', 'app']],
    ['alternating', ['admin', 'app', 'admin', 'app', 'admin', 'app', 'admin', 'app']],
    ['admin promoted between the app\'s test and finish', ['app', 'app', 'app', 'admin', 'admin', 'admin', 'admin', 'app']],
  ];

  test.each(['AT_NEXT_ROTATION', 'IMMEDIATELY'])('both rotate in interleaved orders (admin policy %s); every token is accounted for', async (adminPolicy) => {
    const admin = await e.secrets.createRotatedSecret({ mode: 'self', roleId: e.astra.roles.orgAdmin.id, policyTag: adminPolicy });
    const app = await e.secrets.createRotatedSecret({ mode: 'admin', rootarn: admin.arn, policyTag: 'IMMEDIATELY' });
    for (const [order, sequence] of interleavings) {
      const tokens = { admin: randomUUID(), app: randomUUID() };
      const next = { admin: 0, app: 0 };
      const secrets = { admin, app };
      for (const who of ['admin', 'app'] as const) await e.driver.stagePendingVersion(secrets[who].arn, tokens[who]);
      for (const who of sequence) {
        const step = STEPS[next[who]++];
        const error = await e.driver.invoke({ Step: step, SecretId: secrets[who].arn, ClientRequestToken: tokens[who] });
        expect([order, who, step, error?.message]).toEqual([order, who, step, undefined]);
        await e.invariants.afterStep(secrets[who], `${order}: ${who} ${step}`);
      }
      for (const who of ['admin', 'app'] as const) await e.invariants.afterCompletedRotation(secrets[who], `${order}: ${who}`);
      await e.invariants.noStrayMintedTokens([admin, app], order);
    }
    // The app's tokens were minted by the admin secret's token of the moment, and carry the app's bound role only.
    const appTokens = (await e.astra.tokens()).filter((t) => markedFor(t.description, app));
    expect(appTokens).toHaveLength(interleavings.length);
    expect(new Set(appTokens.map((t) => t.roles.join()))).toEqual(new Set([e.astra.roles.apiUser.id]));
  });
});
