import { handler } from '../../../lambda';
import { AstraClient } from '../../../lambda/clients/astra-client';
import { ownershipMark } from '../../../lambda/rotation/ownership-mark';
import { RECENT_MINT_MS } from '../../../lambda/rotation/token-expiry';
import { MAX_TOKEN_LIFETIME_TAG } from '../../../src/shared/secret-tags';
import { ADMIN_ROLE, APP_ROLE, READER_ROLE, ROTATOR_ROLE } from '../support/fake-astra';
import { awsError } from '../support/fake-secrets-manager';
import { useHarness, POLICY_TAG, ROLE_TAG, STEPS } from '../support/harness';

const h = useHarness();

const MINT = /^\/v2\/clientIdSecrets$/;
const DELETE = /^\/v2\/clientIdSecrets\//;
const ORG = /^\/v2\/currentOrg$/;
/** The mark of a token minted for the fake's secret `name` at `version` (the digest is checked in ownership-mark.test.ts). */
const markOf = (name: string, version: string) => new RegExp(`^cdk-astra-token-secret secret=[0-9a-f]{16} version=${version} mint=[0-9a-f]{8} 123456789012:us-east-1:${name}-\\w+$`);

describe('admin mode (rootarn)', () => {
  test('a rotation mints a token with the role, stores it, promotes it and keeps the old one live (default policy)', async () => {
    const { arn, initial } = h.adminSecret({ team: 'payments' });
    const version = await h.rotate(arn);

    const current = h.sm.valueAt(arn, 'AWSCURRENT');
    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(version);
    expect(current.clientID).not.toBe(initial.clientId);
    expect(h.astra.isLive(current.clientID)).toBe(true);
    expect(h.astra.tokens.get(current.clientID)!.token).toBe(current.astraKey);
    expect(current.clientSecret).toBe(h.astra.tokens.get(current.clientID)!.secret);
    expect(h.astra.tokens.get(current.clientID)!.roles).toEqual([APP_ROLE]);
    expect(h.astra.tokens.get(current.clientID)!.description).toMatch(markOf('app-token', version));
    expect(current).toMatchObject({ roleID: APP_ROLE, engine: 'AstraDB', team: 'payments', orgId: h.astra.orgId, generatedOn: h.astra.tokens.get(current.clientID)!.generatedOn });
    expect(current.rootarn).toMatch(/astra-admin/);
    expect(current.pendingRevocations).toEqual([]);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(h.astra.isLive(h.admin.clientId)).toBe(true);
    const mint = h.astra.requests.find((r) => r.method === 'POST')!;
    expect(mint.bearerClientId).toBe(h.admin.clientId);
    expect(mint.body).toEqual({ roles: [APP_ROLE], description: expect.stringMatching(markOf('app-token', version)) });
    // testSecret used the pending token itself.
    expect(h.astra.requests.find((r) => ORG.test(r.path))!.bearerClientId).toBe(current.clientID);
  });

  test('AT_NEXT_ROTATION: the second rotation revokes the token before AWSPREVIOUS', async () => {
    const { arn, initial } = h.adminSecret();
    await h.rotate(arn);
    const first = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    await h.rotate(arn);
    const second = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    expect(h.astra.isLive(first)).toBe(true);
    expect(h.astra.isLive(second)).toBe(true);
    expect(h.sm.valueAt(arn, 'AWSPREVIOUS').clientID).toBe(first);
    await h.rotate(arn);
    expect(h.astra.isLive(first)).toBe(false);
    expect(h.astra.isLive(second)).toBe(true);
    expect(h.astra.tokens.size).toBe(3); // admin, previous, current
    const deletes = h.astra.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.every((r) => r.bearerClientId === h.admin.clientId)).toBe(true);
  });

  test('IMMEDIATELY: only AWSCURRENT is live after each rotation', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    await h.rotate(arn);
    const first = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    expect(h.astra.isLive(first)).toBe(true);
    await h.rotate(arn);
    expect(h.astra.isLive(first)).toBe(false);
    expect(h.astra.tokens.size).toBe(2); // admin + current
    expect(h.lastLine()).toMatchObject({ step: 'finishSecret', outcome: 'finished', policy: 'IMMEDIATELY', mode: 'admin' });
    expect(h.lastLine().clientIds.revoked).toEqual([first]);
  });

  test('IMMEDIATELY, GIVEN Astra answering the unmarked initial token\'s possession check 403 once WHEN the rotation finishes THEN that token is revoked', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const version = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) await h.step(step, arn, version);
    // A passing 403 (an edge's throttle): the token's role may not revoke tokens, so its check is asked again.
    h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 403, times: 1 });
    await h.step('finishSecret', arn, version);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
  });

  test('IMMEDIATELY, GIVEN Astra answering 403 to the initial token\'s check (twice) and its own revocation WHEN finishSecret owes it THEN the step fails after the promotion, and its retry revokes it', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const version = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) await h.step(step, arn, version);
    h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 403, times: 2 });
    h.astra.fail({ method: 'DELETE', path: /^\/v2\/clientIdSecrets\//, status: 403, times: 1 });
    await expect(h.step('finishSecret', arn, version)).rejects.toThrow(/the new token is AWSCURRENT, but the revocation of .* failed/);
    expect(h.sm.valueAt(arn, 'AWSCURRENT').clientID).not.toBe(initial.clientId);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    await h.step('finishSecret', arn, version);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
  });

  test('GIVEN a claim carried from an earlier rotation (not a stage\'s token) WHEN Astra answers 403 to its check (twice) and its own revocation at each rotation THEN each completes, and the claim is carried with where it was held and its key, until Astra tells', async () => {
    const { arn } = h.adminSecret();
    // Twice: the unmarked first token is gone, both stages hold marked tokens.
    for (let i = 0; i < 2; i++) await h.rotate(arn);
    // A token of the secret's whose version no stage holds any more, named by AWSCURRENT as still owed.
    const old = h.astra.issue([APP_ROLE], 'an old token');
    const holding = h.sm.addVersion(arn, JSON.stringify({ ...h.sm.valueAt(arn, 'AWSCURRENT'), astraKey: old.token, clientID: old.clientId }), []);
    const current = h.sm.versionWith(arn, 'AWSCURRENT')!;
    const value = JSON.parse(h.sm.valueOf(arn, current)!);
    h.sm.secrets.get(arn)!.versions.get(current)!.value = JSON.stringify({
      ...value, pendingRevocations: [old.clientId], pendingRevocationVersions: { [old.clientId]: holding },
    });
    const forbidden = () => {
      h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 403, times: 2 });
      h.astra.fail({ method: 'DELETE', path: /^\/v2\/clientIdSecrets\//, status: 403, times: 1 });
    };
    for (let i = 0; i < 2; i++) {
      const version = h.sm.startRotation(arn);
      forbidden();
      await h.step('createSecret', arn, version);
      const pending = h.sm.valueAt(arn, 'AWSPENDING');
      expect(pending.pendingRevocations).toContain(old.clientId);
      // Named with the version its key was judged in: the holding one, judged before the copy the value carries.
      expect(pending.pendingRevocationVersions[old.clientId]).toBe(holding);
      for (const step of ['setSecret', 'testSecret'] as const) await h.step(step, arn, version);
      forbidden();
      await h.step('finishSecret', arn, version);
      expect(pending.pendingRevocationKeys[old.clientId] === old.token).toBe(true);
      expect(h.lastLine()).toMatchObject({ level: 'WARN', outcome: 'finished', revocationsRefused: [{ clientId: old.clientId, recheckIn: expect.any(String) }] });
      expect(h.astra.isLive(old.clientId)).toBe(true);
    }
    await h.rotate(arn);
    expect(h.astra.isLive(old.clientId)).toBe(false);
  });

  test('a placeholder secret without a token gets its first token', async () => {
    const rootarn = h.sm.create('astra-admin', JSON.stringify({ astraKey: h.admin.token }));
    const arn = h.sm.create('fresh', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE, rootarn) });
    await h.rotate(arn);
    const current = h.sm.valueAt(arn, 'AWSCURRENT');
    expect(h.astra.isLive(current.clientID)).toBe(true);
    expect(current.astraKey).toMatch(/^AstraCS:/);
    // The value keeps DataStax's schema for its readers: the binding is written into every new version.
    expect(current).toMatchObject({ roleID: APP_ROLE, rootarn, engine: 'AstraDB' });
    expect(h.astra.tokens.get(current.clientID)!.roles).toEqual([APP_ROLE]);
  });
});

describe('self-rotation', () => {
  test('the current token mints, the new token revokes its predecessor, never itself (IMMEDIATELY)', async () => {
    const { arn, initial } = h.selfSecret({ [POLICY_TAG]: 'IMMEDIATELY' });
    await h.rotate(arn);
    const first = h.sm.valueAt(arn, 'AWSCURRENT');
    expect(h.astra.requests.find((r) => r.method === 'POST')!.bearerClientId).toBe(initial.clientId);
    const revocation = h.astra.requests.find((r) => r.method === 'DELETE')!;
    expect(revocation.path).toBe(`/v2/clientIdSecrets/${initial.clientId}`);
    expect(revocation.bearerClientId).toBe(first.clientID);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    await h.rotate(arn);
    expect(h.astra.isLive(first.clientID)).toBe(false);
    for (const r of h.astra.requests.filter((q) => q.method === 'DELETE')) expect(r.path).not.toBe(`/v2/clientIdSecrets/${r.bearerClientId}`);
  });

  test('AT_NEXT_ROTATION keeps current and previous live', async () => {
    const { arn, initial } = h.selfSecret();
    await h.rotate(arn);
    const first = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    await h.rotate(arn);
    const second = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    expect([first, second].map((c) => h.astra.isLive(c))).toEqual([true, true]);
    expect(h.lastLine().mode).toBe('self-rotation');
  });

  test('a self-rotating secret with no token yet fails before minting', async () => {
    const arn = h.sm.create('empty', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE) });
    const version = h.sm.startRotation(arn);
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/no "astraKey" yet.*Put a working token/);
    expect(h.astra.count('POST')).toBe(0);
  });
});

describe('the legacy DataStax format', () => {
  test('"engine": "Astra" with rootarn and no roleID rotates with the bound role; the new version carries roleID', async () => {
    const rootarn = h.sm.create('root', JSON.stringify({ astraKey: h.admin.token, clientID: h.admin.clientId, clientSecret: h.admin.secret, engine: 'AstraDB' }));
    const initial = h.astra.issue([APP_ROLE]);
    const arn = h.sm.create('legacy', JSON.stringify({ astraKey: initial.token, clientID: initial.clientId, clientSecret: initial.secret, engine: 'Astra', rootarn }),
      { tags: h.binding(APP_ROLE, rootarn) });
    await h.rotate(arn);
    const current = h.sm.valueAt(arn, 'AWSCURRENT');
    expect(current).toMatchObject({ engine: 'Astra', roleID: APP_ROLE, rootarn });
    expect(h.astra.tokens.get(current.clientID)!.roles).toEqual([APP_ROLE]);
    expect(h.lines().every((l) => l.level === 'INFO')).toBe(true);
  });
});

describe('settings come from the binding (tags), never from the value', () => {
  test('a roleID written into the value is reported at WARN and not obeyed', async () => {
    const { arn } = h.adminSecret({ roleID: ADMIN_ROLE });
    await h.rotate(arn);
    const current = h.sm.valueAt(arn, 'AWSCURRENT');
    expect(h.astra.tokens.get(current.clientID)!.roles).toEqual([APP_ROLE]);
    expect(current.roleID).toBe(APP_ROLE);
    const create = h.lines().find((l) => l.step === 'createSecret')!;
    expect(create.level).toBe('WARN');
    expect(create.warnings).toEqual([expect.stringMatching(/AWSCURRENT's "roleID" is not the role the tag astra-token-secret:role-id binds/)]);
    expect(JSON.stringify(create)).not.toContain(ADMIN_ROLE);
  });

  test('a rootarn pointing at another secret is not obeyed: the bound admin secret mints', async () => {
    const { arn, rootarn } = h.adminSecret();
    const stronger = h.astra.issue([ADMIN_ROLE], 'someone else\'s admin');
    const other = h.sm.create('other-admin', JSON.stringify({ astraKey: stronger.token, engine: 'AstraDB' }));
    const version = h.sm.startRotation(arn);
    const value = { ...h.sm.valueAt(arn, 'AWSCURRENT'), rootarn: other };
    h.sm.addVersion(arn, JSON.stringify(value), ['AWSCURRENT']);
    await h.rotate(arn, version);
    expect(h.astra.requests.filter((r) => r.method === 'POST').map((r) => r.bearerClientId)).toEqual([h.admin.clientId]);
    expect(h.astra.requests.some((r) => r.bearerClientId === stronger.clientId)).toBe(false);
    expect(h.sm.valueAt(arn, 'AWSCURRENT').rootarn).toBe(rootarn);
    expect(h.lines().find((l) => l.step === 'createSecret')!.warnings).toEqual([expect.stringMatching(/"rootarn" is not the admin secret the tag .* binds/)]);
  });

  test('a self-rotating secret ignores a rootarn in its value and drops it from the new version', async () => {
    const { arn, initial } = h.selfSecret();
    const value = { ...h.sm.valueAt(arn, 'AWSCURRENT'), rootarn: h.sm.create('elsewhere', JSON.stringify({ astraKey: h.admin.token })) };
    h.sm.addVersion(arn, JSON.stringify(value), ['AWSCURRENT']);
    await h.rotate(arn);
    expect(h.astra.requests.find((r) => r.method === 'POST')!.bearerClientId).toBe(initial.clientId);
    expect(h.sm.valueAt(arn, 'AWSCURRENT').rootarn).toBeUndefined();
    expect(h.lastLine().mode).toBe('self-rotation');
  });

  test('a self-rotating secret bound to a role that cannot write tokens is refused before anything is minted or revoked', async () => {
    // The bootstrap token is an admin's; the role bound is an application's, so its token could never rotate itself.
    const { arn, initial } = h.selfSecret({ [ROLE_TAG]: APP_ROLE, [POLICY_TAG]: 'IMMEDIATELY' });
    const error = await h.step('createSecret', arn, h.sm.startRotation(arn)).catch((e: Error) => e);
    expect(String(error)).toMatch(new RegExp(`role ${APP_ROLE} does not allow org-token-read and org-token-write.*Nothing was minted.*adminSecret`));
    expect(h.astra.count('POST')).toBe(0);
    expect(h.astra.count('DELETE')).toBe(0);
    expect(h.sm.count('PutSecretValue')).toBe(0);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
  });

  test('a self-rotating secret moving to a role that may write tokens: its policy is read once, then the token proves it', async () => {
    const { arn, initial } = h.selfSecret({ [ROLE_TAG]: ROTATOR_ROLE });
    await h.rotate(arn);
    const first = h.sm.valueAt(arn, 'AWSCURRENT');
    expect(h.astra.tokens.get(first.clientID)!.roles).toEqual([ROTATOR_ROLE]);
    expect(h.astra.count('GET', /^\/v2\/organizations\/roles\//)).toBe(1);
    expect(h.astra.requests.find((r) => r.path.startsWith('/v2/organizations/roles/'))!.bearerClientId).toBe(initial.clientId);
    await h.rotate(arn);
    expect(h.astra.count('GET', /^\/v2\/organizations\/roles\//)).toBe(1);
    expect(h.sm.valueAt(arn, 'AWSCURRENT').roleID).toBe(ROTATOR_ROLE);
  });

  test('a role read that fails for another reason (5xx) says the rotation will be retried; nothing is minted', async () => {
    const { arn } = h.selfSecret({ [ROLE_TAG]: ROTATOR_ROLE });
    h.astra.fail({ method: 'GET', path: /^\/v2\/organizations\/roles\//, status: 500, times: 10 });
    await expect(h.step('createSecret', arn, h.sm.startRotation(arn))).rejects.toThrow(/policy of role .* could not be read .*HTTP 500.*Rotation will be retried/);
    expect(h.astra.count('POST')).toBe(0);
  });

  test('a role whose policy the minting token may not read is refused with what to do', async () => {
    const rotator = h.astra.issue([ROTATOR_ROLE]);
    const arn = h.sm.create('rotator', JSON.stringify({ astraKey: rotator.token, engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE) });
    await expect(h.step('createSecret', arn, h.sm.startRotation(arn))).rejects.toThrow(/policy of role .* could not be read .*HTTP 403.*org-role-read/);
    expect(h.astra.count('POST')).toBe(0);
  });
});

describe('idempotency', () => {
  test.each(STEPS.map((s) => [s]))('%s twice in a row does the work once', async (twice) => {
    const { arn } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    for (const step of STEPS) {
      await h.step(step, arn, version);
      if (step === twice) await h.step(step, arn, version);
    }
    expect(h.astra.count('POST')).toBe(1);
    expect(h.sm.count('PutSecretValue')).toBe(1);
    expect(h.sm.count('UpdateSecretVersionStage')).toBe(1);
    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(version);
    const outcomes = h.lines().map((l) => l.outcome);
    const expectedSecond = { createSecret: 'already-created', setSecret: 'nothing-to-do', testSecret: 'tested', finishSecret: 'already-current, revocations settled' }[twice];
    expect(outcomes.filter((o) => o === expectedSecond).length).toBeGreaterThanOrEqual(twice === 'setSecret' || twice === 'testSecret' ? 2 : 1);
  });

  test.each([[1], [2], [3]])('a crash after %i step(s), then a full retry, ends with one new live token', async (done) => {
    const { arn, initial } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    for (const step of STEPS.slice(0, done)) await h.step(step, arn, version);
    await h.rotate(arn, version);
    expect(h.astra.count('POST')).toBe(1);
    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(version);
    expect(h.astra.tokens.size).toBe(3);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
  });

  test('a retry after finishSecret changes nothing; finishSecret re-reads the token list and finds what the promotion owed revoked', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const version = await h.rotate(arn);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    const before = h.astra.requests.length;
    await h.rotate(arn, version);
    expect(h.astra.requests.slice(before).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['GET /v2/clientIdSecrets 200']);
    expect(h.sm.count('PutSecretValue')).toBe(1);
    expect(h.lines().slice(-4).map((l) => l.outcome)).toEqual(['already-current', 'already-current', 'already-current', 'already-current, revocations settled']);
    expect(h.lastLine().clientIds).toMatchObject({ revoked: [], alreadyRevoked: [], revocationFailed: [] });
  });

  test('finishSecret retried after the promotion but before the revocations: IMMEDIATELY is honoured', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const version = h.sm.startRotation(arn);
    for (const step of STEPS.slice(0, 3)) await h.step(step, arn, version);
    // The promotion commits; the function dies before it revokes (here: the admin secret cannot be read).
    h.sm.failNext('GetSecretValue', awsError('InternalServiceError', 'unavailable'), (input) => input.SecretId.includes('astra-admin'));
    await expect(h.step('finishSecret', arn, version)).rejects.toThrow(/the new token is AWSCURRENT, but the revocation of .* failed/);
    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(version);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    await h.rotate(arn, version);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    expect(h.sm.count('UpdateSecretVersionStage')).toBe(1);
  });
});

describe('failures that must not leak or kill a token', () => {
  test('mint succeeds but Secrets Manager refuses the put: read back, the new token is revoked, the retry succeeds', async () => {
    const { arn, initial } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    h.sm.failNext('PutSecretValue', awsError('KMSAccessDeniedException', 'KMS said no', 'client'));
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/storing the new token as AWSPENDING failed: .*KMSAccessDeniedException.*was revoked/);
    expect(h.sm.count('GetSecretValue')).toBeGreaterThanOrEqual(1);
    expect(h.astra.tokens.size).toBe(2); // admin + initial: the minted one is gone
    expect(h.sm.valueOf(arn, version)).toBeUndefined();
    expect(h.lastLine()).toMatchObject({ outcome: 'failed', level: 'ERROR', step: 'createSecret', version });
    await h.rotate(arn, version);
    expect(h.astra.isLive(h.sm.valueAt(arn, 'AWSCURRENT').clientID)).toBe(true);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
  });

  test('put refused and the revocation of the minted token fails too: the next attempt sweeps it by its mark', async () => {
    const { arn, initial } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    h.sm.failNext('PutSecretValue', awsError('ValidationException', 'too big', 'client'));
    h.astra.fail({ method: 'DELETE', path: DELETE, status: 500, times: 10 });
    const error = await h.step('createSecret', arn, version).catch((e: Error) => e);
    const minted = h.astra.everIssued[h.astra.everIssued.length - 1];
    expect(String(error)).toContain(`Revoking the new token ${minted.clientId} failed too`);
    expect(h.astra.isLive(minted.clientId)).toBe(true);
    h.astra.faults = [];
    await h.rotate(arn, version);
    expect(h.astra.isLive(minted.clientId)).toBe(false);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(h.astra.tokens.size).toBe(3);
  });

  test('a put that commits and reports a failure is read back and kept: no token revoked, no second mint', async () => {
    const { arn, initial } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    h.sm.failNextAfterCommit('PutSecretValue', awsError('InternalServiceError', 'reset after commit'));
    await h.rotate(arn, version);
    expect(h.astra.count('POST')).toBe(1);
    expect(h.astra.count('DELETE')).toBe(0);
    expect(h.lines()[0]).toMatchObject({ step: 'createSecret', outcome: 'created' });
    expect(h.lines()[0].notes.join(' ')).toMatch(/reported a failure but the version was stored/);
    expect(h.astra.isLive(h.sm.valueAt(arn, 'AWSCURRENT').clientID)).toBe(true);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
  });

  test('GIVEN two invocations of createSecret racing on one version WHEN the second put is refused (a version with another value exists) THEN its token is revoked, both succeed, the rotation completes with the first', async () => {
    const { arn, initial } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    const results = await Promise.allSettled([h.step('createSecret', arn, version), h.step('createSecret', arn, version)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(h.astra.count('POST')).toBe(2);
    const stored = h.sm.valueAt(arn, 'AWSPENDING').clientID;
    const loser = h.astra.everIssued.map((t) => t.clientId).find((c) => c !== stored && c !== initial.clientId && c !== h.admin.clientId)!;
    expect(h.astra.isLive(stored)).toBe(true);
    expect(h.astra.isLive(loser)).toBe(false);
    expect(h.lines().map((l) => l.notes ?? []).flat()).toContainEqual(expect.stringMatching(/another invocation of this step stored the version first/));
    for (const step of ['setSecret', 'testSecret', 'finishSecret'] as const) await h.step(step, arn, version);
    expect(h.sm.valueAt(arn, 'AWSCURRENT').clientID).toBe(stored);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
  });

  test('GIVEN two invocations of createSecret on one version WHEN the second lists the org after the first minted, and the first stores first THEN the stored token stays live and the rotation completes', async () => {
    const { arn, initial } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    let storeFirst!: () => void;
    const firstMayStore = new Promise<void>((resolve) => {
      storeFirst = resolve;
    });
    let first!: Promise<unknown>;
    let second!: Promise<unknown>;
    // The first waits at its put; meanwhile the second lists (the first's token, marked with the version, is in the list)
    // and sweeps; the first stores when the second mints.
    const sm = h.sm as unknown as { put: (input: unknown) => unknown };
    const put = sm.put.bind(sm);
    jest.spyOn(sm, 'put').mockImplementationOnce(async (input) => {
      second = h.step('createSecret', arn, version);
      await firstMayStore;
      return put(input);
    });
    const mint = AstraClient.prototype.mint;
    let mints = 0;
    jest.spyOn(AstraClient.prototype, 'mint').mockImplementation(async function (this: AstraClient, ...args: Parameters<AstraClient['mint']>) {
      if (++mints === 2) {
        storeFirst();
        await first;
      }
      return mint.apply(this, args);
    });
    first = h.step('createSecret', arn, version);
    await first;
    await second;

    const stored = h.sm.valueAt(arn, 'AWSPENDING').clientID;
    expect(h.astra.isLive(stored)).toBe(true);
    expect(h.lines().map((l) => l.notes ?? []).flat()).toContainEqual(expect.stringMatching(/another invocation of this step stored the version first/));
    for (const step of ['setSecret', 'testSecret', 'finishSecret'] as const) await h.step(step, arn, version);
    expect(h.sm.valueAt(arn, 'AWSCURRENT').clientID).toBe(stored);
    expect(h.astra.isLive(stored)).toBe(true);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    // The second's own token is revoked: only the admin, the initial and the stored token are live.
    expect(h.astra.tokens.size).toBe(3);
  });

  test('GIVEN a token minted for the version by an invocation killed before its put, after the stored one listed WHEN the rotation finishes THEN that token is revoked, and the stored one stays live', async () => {
    const { arn, initial } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    await h.step('createSecret', arn, version);
    const killed = h.astra.issue([APP_ROLE], ownershipMark(arn, version, 'deadbeef'));
    for (const step of ['setSecret', 'testSecret', 'finishSecret'] as const) await h.step(step, arn, version);
    expect(h.astra.isLive(killed.clientId)).toBe(false);
    expect(h.astra.isLive(h.sm.valueAt(arn, 'AWSCURRENT').clientID)).toBe(true);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(h.lastLine()).toMatchObject({ step: 'finishSecret', outcome: 'finished', clientIds: { revoked: [killed.clientId] } });
  });

  test('GIVEN another invocation\'s version stored under a put that reports a server error WHEN createSecret reads it back THEN its own token is revoked and it succeeds', async () => {
    const { arn, initial } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    const sm = h.sm as unknown as { put: (input: { SecretString: string }) => unknown };
    const put = sm.put.bind(sm);
    const other = h.astra.issue([APP_ROLE], 'the racing invocation\'s token');
    jest.spyOn(sm, 'put').mockImplementationOnce((input) => {
      put({ ...input, SecretString: JSON.stringify({ ...JSON.parse(input.SecretString), clientID: other.clientId, astraKey: other.token }) });
      throw awsError('InternalServiceError', 'reset');
    });
    await h.step('createSecret', arn, version);
    const minted = h.astra.requests.filter((r) => r.method === 'POST');
    expect(minted).toHaveLength(1);
    const own = h.astra.everIssued.map((t) => t.clientId).filter((c) => ![h.admin.clientId, initial.clientId, other.clientId].includes(c));
    expect(own).toHaveLength(1);
    expect(h.astra.isLive(own[0])).toBe(false);
    expect(h.astra.isLive(other.clientId)).toBe(true);
    expect(h.lastLine()).toMatchObject({ outcome: 'already-created', clientIds: { pending: other.clientId } });
  });

  test('a put whose outcome stays unknown revokes nothing; the retry sweeps the unstored token and mints again', async () => {
    const { arn } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    h.sm.failNext('PutSecretValue', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/The version does not hold the new token yet.*revokes the new token by its mark/);
    const first = h.astra.everIssued[h.astra.everIssued.length - 1];
    expect(h.astra.isLive(first.clientId)).toBe(true);
    await h.rotate(arn, version);
    expect(h.astra.isLive(first.clientId)).toBe(false);
    expect(h.astra.count('POST')).toBe(2);
    expect(h.astra.tokens.size).toBe(3); // admin, initial (AWSPREVIOUS), the new AWSCURRENT
  });

  test('mint answers without a usable token: each is swept by its mark before the next try; none is left', async () => {
    const { arn } = h.adminSecret();
    h.astra.malformedMint = true;
    await expect(h.step('createSecret', arn, h.sm.startRotation(arn))).rejects.toThrow(/has no clientId, secret and token \(mint attempt 3\).*Rotation will be retried/);
    expect(h.astra.count('POST')).toBe(3);
    expect(h.astra.tokens.size).toBe(2); // admin + initial
    expect(h.sm.count('PutSecretValue')).toBe(0);
  });

  test('promotion succeeds but a revocation fails: the step fails after promoting, and its retry revokes', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const version = h.sm.startRotation(arn);
    for (const step of STEPS.slice(0, 3)) await h.step(step, arn, version);
    h.astra.fail({ method: 'DELETE', path: DELETE, status: 503, times: 3 });
    await expect(h.step('finishSecret', arn, version)).rejects.toThrow(/the new token is AWSCURRENT, but the revocation of .* failed: .*HTTP 503.*Secrets Manager retries finishSecret/);
    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(version);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(h.lastLine()).toMatchObject({ level: 'ERROR', outcome: 'failed' });
    expect(h.lastLine().clientIds.revocationFailed).toEqual([initial.clientId]);
    await h.step('finishSecret', arn, version);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    expect(h.lastLine()).toMatchObject({ level: 'INFO', outcome: 'already-current, revocations settled' });
  });

  test('a debt the retries could not pay is paid by the next rotation\'s sweep, before it mints', async () => {
    const { arn, initial } = h.adminSecret();
    await h.rotate(arn);
    const version = h.sm.startRotation(arn);
    for (const step of STEPS.slice(0, 3)) await h.step(step, arn, version);
    h.astra.fail({ method: 'DELETE', path: DELETE, hang: true, times: 3 });
    await expect(h.step('finishSecret', arn, version)).rejects.toThrow(/no answer within 300 ms/);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    h.sm.removeStage(arn, 'AWSPENDING'); // Secrets Manager gave up on the rotation
    const before = h.astra.requests.length;
    await h.rotate(arn);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    // The unmarked bootstrap token is owed by a value: its own token, in the version the debt names, must authenticate.
    expect(h.astra.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v2/clientIdSecrets', 'GET /v2/currentOrg', `DELETE /v2/clientIdSecrets/${initial.clientId}`, 'POST /v2/clientIdSecrets',
      'GET /v2/currentOrg', 'GET /v2/clientIdSecrets', expect.stringMatching(/^DELETE /),
    ]);
    expect(h.astra.requests[before + 1].bearerClientId).toBe(initial.clientId);
    expect(h.astra.tokens.size).toBe(3);
  });

  test('an abandoned rotation\'s token is revoked by the next rotation\'s sweep; a copy of AWSCURRENT is not', async () => {
    const { arn, initial } = h.adminSecret();
    const abandoned = h.sm.startRotation(arn);
    await h.step('createSecret', arn, abandoned);
    const leaked = h.sm.valueAt(arn, 'AWSPENDING').clientID;
    h.sm.removeStage(arn, 'AWSPENDING'); // the operator's fix for a stuck rotation
    h.sm.addVersion(arn, h.sm.valueOf(arn, h.sm.versionWith(arn, 'AWSCURRENT')!)); // configuration-test copy
    await h.rotate(arn);
    expect(h.astra.isLive(leaked)).toBe(false);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(h.lines().filter((l) => l.step === 'createSecret' && l.outcome === 'created')[1].clientIds.revoked).toEqual([leaked]);
  });

  test('tokens marked for another secret, and unmarked tokens owed nothing, are never touched by the sweep', async () => {
    const { arn, initial } = h.adminSecret();
    const rootarn = h.sm.valueAt(arn, 'AWSCURRENT').rootarn;
    const other = h.sm.create('other-token', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE, rootarn) });
    const othersVersion = h.sm.startRotation(other);
    await h.step('createSecret', other, othersVersion);
    const othersToken = h.sm.valueAt(other, 'AWSPENDING').clientID;
    const stranger = h.astra.issue([APP_ROLE], 'cdk-astra-token-secret app-token 0d6f'); // the old, name-only description
    await h.rotate(arn);
    await h.rotate(arn);
    expect(h.astra.isLive(othersToken)).toBe(true);
    expect(h.astra.isLive(stranger.clientId)).toBe(true);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
  });
});

describe('the paths around the mint', () => {
  const LIST = /^\/v2\/clientIdSecrets$/;
  // The org's newest token is older than RECENT_MINT_MS: the list no longer shows whether the org sets an expiry.
  const OLDER_THAN_RECENT_MINT = RECENT_MINT_MS + 60_000;

  test('the org\'s newest token, minted within the hour with no expiry, shows the org sets none: no list after the mint', async () => {
    const { arn } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    await h.step('createSecret', arn, version);
    expect(h.astra.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2/clientIdSecrets', 'POST /v2/clientIdSecrets']);
    expect(h.lastLine().token).toMatchObject({ expiry: null });
    expect(JSON.parse(h.sm.valueOf(arn, version)!).tokenExpiry).toBeUndefined();
  });

  test('an org maximum set within that hour is missed by the next mint and caught by the rotation after it', async () => {
    const { arn } = h.adminSecret();
    h.astra.orgTokenLifetimeMs = 86_400_000;
    await h.rotate(arn);
    expect(h.lines().filter((l) => l.alert === 'TokenExpiresBeforeReplacement')).toEqual([]);
    // The current token now shows an expiry, minted after every token without one: the list after the mint runs.
    const version = h.sm.startRotation(arn);
    await h.step('createSecret', arn, version);
    // The first rotation's sweep and its finish's list (for tokens of the version no invocation stored), then this one's
    // sweep and the list after its mint.
    expect(h.astra.count('GET', LIST)).toBe(2 + 2);
    expect(h.lastLine()).toMatchObject({ alert: 'TokenExpiresBeforeReplacement', version });
  });

  test('a secret whose mint asks for an expiry (maxTokenLifetime) always reads it back: the org may shorten it', async () => {
    const { arn } = h.adminSecret({}, { [MAX_TOKEN_LIFETIME_TAG]: String(400 * 86_400) });
    await h.step('createSecret', arn, h.sm.startRotation(arn));
    expect(h.astra.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2/clientIdSecrets', 'POST /v2/clientIdSecrets', 'GET /v2/clientIdSecrets']);
  });

  test('an unreadable AWSPREVIOUS is noted and ignored: it only says which token to keep', async () => {
    const { arn } = h.adminSecret();
    await h.rotate(arn);
    h.sm.failNext('GetSecretValue', awsError('InternalServiceError', 'flaky'), (input) => input.VersionStage === 'AWSPREVIOUS');
    await h.rotate(arn);
    expect(h.lines().find((l) => l.step === 'createSecret' && l.notes)?.notes).toEqual([expect.stringMatching(/AWSPREVIOUS ignored: .*flaky/)]);
  });

  test('the list after the mint fails: the rotation completes, the expiry is noted as unknown', async () => {
    const { arn } = h.adminSecret();
    h.astra.backdate(OLDER_THAN_RECENT_MINT);
    h.astra.fail({ method: 'GET', path: LIST, status: 500, times: 3, after: 1 });
    await h.rotate(arn);
    const create = h.lines().find((l) => l.step === 'createSecret')!;
    expect(create.outcome).toBe('created');
    expect(create.token).toEqual({ nextRotation: expect.any(String), neededUntil: expect.any(String) });
    expect(create.notes).toEqual([expect.stringMatching(/the new token's expiry is unknown: Astra token list .* HTTP 500/)]);
    expect(h.sm.valueAt(arn, 'AWSCURRENT').tokenExpiry).toBeUndefined();
  });

  test('an org that caps tokens at a day: the rotation completes, and an ERROR alert line follows the step line', async () => {
    const { arn } = h.adminSecret();
    h.astra.backdate(OLDER_THAN_RECENT_MINT);
    h.astra.orgTokenLifetimeMs = 86_400_000;
    const version = h.sm.startRotation(arn);
    await h.step('createSecret', arn, version);
    const [stepLine, alert] = h.lines().slice(-2);
    expect(stepLine).toMatchObject({ level: 'INFO', outcome: 'created', token: { expiry: expect.any(String) } });
    expect(alert).toMatchObject({ level: 'ERROR', alert: 'TokenExpiresBeforeReplacement', secretArn: arn, version, tokenExpiry: stepLine.token.expiry });
    expect(h.sm.valueOf(arn, version)).toContain(`"tokenExpiry":"${stepLine.token.expiry}"`);
  });

  test('a list that does not show the new token yet: its expiry is unknown, the rotation goes on', async () => {
    const { arn } = h.adminSecret();
    h.astra.backdate(OLDER_THAN_RECENT_MINT);
    h.astra.listLagsFrom = Date.now();
    await h.rotate(arn);
    expect(h.lines().find((l) => l.step === 'createSecret')!.notes).toEqual([expect.stringMatching(/does not show it yet/)]);
  });

  test('the sweep cannot list: nothing is minted', async () => {
    const { arn } = h.adminSecret();
    h.astra.fail({ method: 'GET', path: LIST, status: 403, body: 'no', contentType: 'text/plain', times: 1 });
    await expect(h.step('createSecret', arn, h.sm.startRotation(arn))).rejects.toThrow(/token list could not be read, so nothing was minted.*org-token-read/);
    expect(h.astra.count('POST')).toBe(0);
  });

  test('the sweep cannot revoke a leftover: nothing is minted, and the leftover is named', async () => {
    const { arn } = h.adminSecret();
    const abandoned = h.sm.startRotation(arn);
    await h.step('createSecret', arn, abandoned);
    const leftover = h.sm.valueAt(arn, 'AWSPENDING').clientID;
    h.sm.removeStage(arn, 'AWSPENDING');
    h.astra.fail({ method: 'DELETE', path: /^\/v2\/clientIdSecrets\//, status: 403, times: 5 });
    await expect(h.step('createSecret', arn, h.sm.startRotation(arn))).rejects.toThrow(new RegExp(`revoking ${leftover} .* failed, so nothing was minted`));
    expect(h.astra.count('POST')).toBe(1);
  });

  test('a mint with no answer whose sweep cannot list: the step fails, and the next attempt sweeps first', async () => {
    const { arn } = h.adminSecret();
    h.astra.fail({ method: 'POST', path: /^\/v2\/clientIdSecrets$/, status: 502, times: 1 });
    h.astra.fail({ method: 'GET', path: LIST, status: 500, times: 3, after: 1 });
    const version = h.sm.startRotation(arn);
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/HTTP 502.*the token list could not be read to revoke what that mint may have created/);
    await h.step('createSecret', arn, version);
    expect(h.sm.valueAt(arn, 'AWSPENDING').astraKey).toMatch(/^AstraCS:/);
  });

  test('a failed put whose read-back fails too: nothing is revoked, the retry settles it', async () => {
    const { arn } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    h.sm.failNext('PutSecretValue', awsError('InternalServiceError', 'timeout'));
    h.sm.failNext('GetSecretValue', awsError('InternalServiceError', 'read timeout'), (input) => input.VersionId === version && h.sm.count('PutSecretValue') > 0);
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/Reading the version back failed too .*whether it was stored is unknown/);
    expect(h.astra.count('DELETE')).toBe(0);
    await h.rotate(arn, version);
    expect(h.astra.tokens.size).toBe(3); // admin, initial (AT_NEXT_ROTATION keeps it), the new one; the lost mint was swept
  });

  test('maxTokenLifetime: the mint asks for that expiry; an organization that refuses it is named in the error', async () => {
    // 61 days: the floor under rate(30 days) with a day of window and AT_NEXT_ROTATION, which is accepted.
    const { arn } = h.adminSecret({}, { [MAX_TOKEN_LIFETIME_TAG]: '5270400' });
    h.astra.fail({ method: 'POST', path: /^\/v2\/clientIdSecrets$/, status: 400, body: 'tokenExpiry too far', contentType: 'text/plain', times: 1 });
    await expect(h.step('createSecret', arn, h.sm.startRotation(arn))).rejects.toThrow(/HTTP 400: tokenExpiry too far: the mint asked for an expiry 5270400 s from now .*lower maxTokenLifetime/);
    const asked = Date.parse(h.astra.requests.find((r) => r.method === 'POST')!.body.tokenExpiry);
    expect(Math.abs(asked - Date.now() - 5_270_400_000)).toBeLessThan(60_000);
  });

  test('testSecret: a token of another organization than recorded fails, naming both', async () => {
    const { arn } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    await h.step('createSecret', arn, version);
    const pending = h.sm.secrets.get(arn)!.versions.get(version)!;
    pending.value = JSON.stringify({ ...JSON.parse(pending.value!), orgId: '00000000-0000-4000-8000-000000000000' });
    await expect(h.step('testSecret', arn, version)).rejects.toThrow(/belongs to organization .*, not 00000000-0000-4000-8000-000000000000 as recorded/);
  });
});

describe('Astra faults on each call', () => {
  const startCreate = () => {
    const { arn } = h.adminSecret();
    return { arn, version: h.sm.startRotation(arn) };
  };

  test.each([[401], [403]])('mint answered %i: a clear error about token-write, secret unchanged, nothing retried', async (status) => {
    const { arn, version } = startCreate();
    h.astra.fail({ method: 'POST', path: MINT, status, body: 'token lacks permission', contentType: 'text/plain' });
    const error = await h.step('createSecret', arn, version).catch((e: Error) => e);
    expect(String(error)).toMatch(new RegExp(`createSecret of ${arn.replace(/[$()*+.?[\\\]^{|}]/g, '\\$&')} \\(version ${version}\\) failed: the admin token in .* may not mint tokens: .*HTTP ${status}: token lacks permission.*token-write`));
    expect(h.astra.count('POST')).toBe(1);
    expect(h.sm.count('PutSecretValue')).toBe(0);
  });

  test('an admin token whose role cannot write tokens (Astra 403 text/plain)', async () => {
    const weak = h.astra.issue([READER_ROLE]);
    const rootarn = h.sm.create('weak-admin', JSON.stringify({ astraKey: weak.token }));
    const arn = h.sm.create('app', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE, rootarn) });
    await expect(h.step('createSecret', arn, h.sm.startRotation(arn))).rejects.toThrow(/may not mint tokens: .* HTTP 403: You do not have permission to generate tokens .*Give that token a role with the token-write/);
    expect(h.astra.tokens.size).toBe(2);
  });

  test('mint answered 404 is not retried, and the error points at the roleID', async () => {
    const { arn, version } = startCreate();
    h.astra.fail({ method: 'POST', path: MINT, status: 404, body: 'role not found', contentType: 'text/plain' });
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/HTTP 404: role not found.*Check the role the tag astra-token-secret:role-id binds/);
    expect(h.astra.count('POST')).toBe(1);
  });

  test('mint answered 429 is retried after Retry-After; when it persists the error says rate limit, not roleID', async () => {
    const { arn, version } = startCreate();
    h.astra.fail({ method: 'POST', path: MINT, status: 429, headers: { 'retry-after': '0' } });
    await h.step('createSecret', arn, version);
    expect(h.astra.count('POST')).toBe(2);
    const second = startCreate();
    // Two seconds of the invocation left: the 429s are retried until their waits no longer fit.
    process.env.ROTATION_TIME_MARGIN_MS = String(180_000 - 2_000);
    h.astra.fail({ method: 'POST', path: MINT, status: 429, body: '', contentType: 'text/plain', headers: { 'retry-after': '0' }, times: 50 });
    const error = String(await h.step('createSecret', second.arn, second.version).catch((e: Error) => e));
    expect(error).toMatch(/HTTP 429: \(empty text\/plain body\) \(Astra's rate limit: \d+ attempts?, and no time left .*\); no token was minted. Astra is limiting the rate of calls/);
    expect(error).not.toMatch(/roleID/);
  });

  test.each([
    ['a 500', { status: 500, body: '{"errors":[{"ID":1,"message":"internal"}]}' }],
    ['no answer', { hang: true }],
  ])('a mint met with %s: this invocation\'s marks of the version are swept, then it mints again; one token results', async (_, fault) => {
    const { arn, version } = startCreate();
    h.astra.fail({ method: 'POST', path: MINT, ...fault });
    await h.rotate(arn, version);
    expect(h.astra.count('POST')).toBe(2);
    expect(h.astra.tokens.size).toBe(3);
    expect(h.lines()[0].notes.join(' ')).toMatch(/mint attempt 1: .*sweeping this invocation's tokens of the version before trying again/);
  });

  test('mint failures that persist end in an error that says the rotation will be retried', async () => {
    const { arn, version } = startCreate();
    h.astra.fail({ method: 'POST', path: MINT, status: 503, times: 5 });
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/HTTP 503: .*\(mint attempt 3\).*Rotation will be retried/);
    expect(h.astra.count('POST')).toBe(3);
  });

  test('testSecret retries 401 while the new token warms up', async () => {
    const { arn } = h.adminSecret();
    h.astra.warmUpFailures = 2;
    await h.rotate(arn);
    expect(h.astra.count('GET', ORG)).toBe(3);
  });

  test('testSecret fails with Astra\'s status and message when 401 persists', async () => {
    const { arn, version } = startCreate();
    await h.step('createSecret', arn, version);
    h.astra.fail({ method: 'GET', path: ORG, status: 401, body: '{"errors":[{"ID":340018,"message":"token revoked"}]}', times: 5 });
    await expect(h.step('testSecret', arn, version)).rejects.toThrow(/does not work: Astra token test .* answered HTTP 401: token revoked \(ID 340018\).*after 3 attempts/);
    expect(h.astra.count('GET', ORG)).toBe(3);
  });

  test.each([
    [{ status: 404, body: 'not here', contentType: 'text/plain' }, /HTTP 404: not here/, 1],
    [{ status: 500, times: 5 }, /HTTP 500/, 3],
    [{ hang: true, times: 5 }, /no answer within 300 ms \(after 3 attempts\)/, 3],
  ])('testSecret fails on %j', async (fault, message, calls) => {
    const { arn, version } = startCreate();
    await h.step('createSecret', arn, version);
    h.astra.fail({ method: 'GET', path: ORG, ...fault });
    await expect(h.step('testSecret', arn, version)).rejects.toThrow(message);
    expect(h.astra.count('GET', ORG)).toBe(calls);
  });

  test.each([
    [{ status: 429, headers: { 'retry-after': '0' } }],
    [{ status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' }],
    [{ hang: true }],
  ])('testSecret survives one %j', async (fault) => {
    const { arn, version } = startCreate();
    await h.step('createSecret', arn, version);
    h.astra.fail({ method: 'GET', path: ORG, ...fault });
    await h.step('testSecret', arn, version);
    expect(h.lastLine().outcome).toBe('tested');
  });

  test.each([[200], [204]])('DELETE answering %i is a revocation', async (status) => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    h.astra.deleteStatus = status;
    await h.rotate(arn);
    expect(h.lastLine().clientIds.revoked).toEqual([initial.clientId]);
  });

  test('DELETE answering 404 means already revoked', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const version = h.sm.startRotation(arn);
    for (const step of STEPS.slice(0, 3)) await h.step(step, arn, version);
    h.astra.fail({ method: 'DELETE', path: DELETE, status: 404 }); // revoked by someone else after finishSecret listed it
    await h.step('finishSecret', arn, version);
    expect(h.lastLine().clientIds.alreadyRevoked).toEqual([initial.clientId]);
    expect(h.lastLine().level).toBe('INFO');
  });

  test('DELETE on 429 and 500 is retried', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    h.astra.fail({ method: 'DELETE', path: DELETE, status: 429, headers: { 'retry-after': '0' } });
    h.astra.fail({ method: 'DELETE', path: DELETE, status: 500 });
    await h.rotate(arn);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    expect(h.astra.count('DELETE')).toBe(3);
  });

  test('DELETE answered 401/403 is a failed revocation, logged, not retried within the call', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    h.astra.fail({ method: 'DELETE', path: DELETE, status: 403, body: 'forbidden', contentType: 'text/plain' });
    await expect(h.rotate(arn)).rejects.toThrow(/HTTP 403: forbidden/);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(h.astra.count('DELETE')).toBe(1);
    expect(h.lastLine().revocationFailures[0].reason).toMatch(/HTTP 403: forbidden/);
  });

  test('an Astra error body that echoes the token is redacted', async () => {
    const { arn, version } = startCreate();
    await h.step('createSecret', arn, version);
    const pending = h.sm.valueAt(arn, 'AWSPENDING');
    h.astra.fail({ method: 'GET', path: ORG, status: 400, body: `bad token ${pending.astraKey} secret=${pending.clientSecret}`, contentType: 'text/plain' });
    const error = await h.step('testSecret', arn, version).catch((e: Error) => e);
    expect(String(error)).toMatch(/HTTP 400: bad token \[REDACTED\]/);
    expect(String(error)).not.toContain(pending.astraKey);
    expect(String(error)).not.toContain(pending.clientSecret);
  });
});

describe('bad input fails before minting, naming the secret, version and step', () => {
  const rootarn = () => h.sm.create('root', JSON.stringify({ astraKey: h.admin.token }));
  const refused = async (value: string | undefined, message: RegExp, options: { tags?: Record<string, string> } = {}) => {
    const arn = h.sm.create('bad', value, { tags: options.tags ?? h.binding(APP_ROLE, rootarn()) });
    const version = h.sm.startRotation(arn);
    const error = await h.step('createSecret', arn, version).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`createSecret of ${arn} (version ${version}) failed: `);
    expect((error as Error).message).toMatch(message);
    expect(h.astra.count('POST')).toBe(0);
    expect(h.astra.count('DELETE')).toBe(0);
    expect(h.sm.count('PutSecretValue')).toBe(0);
    expect(h.sm.valueOf(arn, version)).toBeUndefined();
    expect(h.lastLine()).toMatchObject({ outcome: 'failed', secretArn: arn, version, step: 'createSecret' });
    return (error as Error).message;
  };
  const token = h.astra.issue.bind(h.astra);

  test('malformed JSON (and the parser does not quote it)', async () => {
    await refused('{"astraKey": "AstraCS:abc:def", oops', /AWSCURRENT is not valid JSON/);
    expect(h.errors.join()).not.toContain('AstraCS:abc');
  });
  test('a JSON array', () => refused('[1]', /not a JSON object/));
  test('no AWSCURRENT value', () => refused(undefined, /the secret has no AWSCURRENT value/));
  test('missing engine', () => refused(JSON.stringify({ roleID: APP_ROLE }), /no "engine"/));
  test('wrong engine, not echoed', async () => {
    expect(await refused(JSON.stringify({ engine: 'mysql-x' }), /"engine" is not one this function rotates \(AstraDB or Astra\).*Set "engine" to "AstraDB"/)).not.toContain('mysql-x');
  });
  test('a roleID that is not a UUID, not echoed', async () => {
    expect(await refused(JSON.stringify({ roleID: 'admin-role-x', engine: 'AstraDB' }), /"roleID" is not a role UUID \(8-4-4-4-12/)).not.toContain('admin-role-x');
  });
  test('a malformed rootarn, not echoed', async () => {
    expect(await refused(JSON.stringify({ engine: 'AstraDB', rootarn: 'my-admin-x' }), /"rootarn" is not a Secrets Manager secret ARN/)).not.toContain('my-admin-x');
  });
  test('an astraKey that is not an Astra token', () => refused(JSON.stringify({ engine: 'AstraDB', astraKey: 'not-a-token' }), /"astraKey" is not an Astra token \(AstraCS, a colon, the clientId/,
    { tags: h.binding(ADMIN_ROLE) }));
  test('a clientID that is not the one inside astraKey (IMMEDIATELY would revoke an unrelated token)', async () => {
    const own = token([ADMIN_ROLE], 'the real one');
    const unrelated = token([APP_ROLE], 'someone else\'s');
    const message = await refused(JSON.stringify({ engine: 'AstraDB', astraKey: own.token, clientID: unrelated.clientId }),
      /"clientID" is not the clientId inside its "astraKey"/, { tags: { ...h.binding(ADMIN_ROLE), [POLICY_TAG]: 'IMMEDIATELY' } });
    expect(message).not.toContain(unrelated.clientId);
    expect(h.astra.isLive(unrelated.clientId)).toBe(true);
    expect(h.astra.requests).toHaveLength(0);
  });
  test('no role tag: refused before any call to Astra, saying how to tag', async () => {
    await refused(JSON.stringify({ engine: 'AstraDB', roleID: APP_ROLE }), /no tag astra-token-secret:role-id.*aws secretsmanager tag-resource/, { tags: {} });
    expect(h.astra.requests).toHaveLength(0);
  });
  test('a role tag that is not a UUID', () => refused(JSON.stringify({ engine: 'AstraDB' }), /tag astra-token-secret:role-id is not a role UUID/, { tags: h.binding('Admin') }));
  test('an admin tag that is not an ARN', () => refused(JSON.stringify({ engine: 'AstraDB' }), /tag astra-token-secret:admin-secret-arn is not a Secrets Manager secret ARN/,
    { tags: h.binding(APP_ROLE, 'my-admin') }));
  test('an unreadable admin secret', () => refused(JSON.stringify({ engine: 'AstraDB' }), /admin secret .* has no AWSCURRENT value|could not be read/,
    { tags: h.binding(APP_ROLE, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-xyz') }));
  test('an admin secret whose value is malformed', () => refused(JSON.stringify({ engine: 'AstraDB' }), /admin secret .* is not valid JSON/,
    { tags: h.binding(APP_ROLE, h.sm.create('broken-root', 'not json')) }));
  test('an admin secret without astraKey', () => refused(JSON.stringify({ engine: 'AstraDB' }), /has no "astraKey"/,
    { tags: h.binding(APP_ROLE, h.sm.create('empty-root', '{"clientID":"x"}')) }));
  test('an admin tag naming the secret itself', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bad-AbCdEf';
    await refused(JSON.stringify({ engine: 'AstraDB' }), /tag astra-token-secret:admin-secret-arn names this secret itself/, { tags: h.binding(APP_ROLE, arn) });
  });
  test('a lifetime tag that is not whole seconds', () => refused(JSON.stringify({ engine: 'AstraDB' }), /max-token-lifetime-seconds is not a whole number of seconds/,
    { tags: { ...h.binding(APP_ROLE, rootarn()), 'astra-token-secret:max-token-lifetime-seconds': '30d' } }));
  test.each([
    ['1', 'AT_NEXT_ROTATION'],
    ['5270399', 'AT_NEXT_ROTATION'],
    ['2678399', 'IMMEDIATELY'],
  ])('a lifetime tag of %s s, below the floor synth enforces (%s), before any call to Astra', async (seconds, policy) => {
    const message = await refused(JSON.stringify({ engine: 'AstraDB' }), /the tag astra-token-secret:max-token-lifetime-seconds is \d+ s, below the floor of \d+ s/,
      { tags: { ...h.binding(APP_ROLE, rootarn()), 'astra-token-secret:max-token-lifetime-seconds': seconds, [POLICY_TAG]: policy } });
    const floor = policy === 'IMMEDIATELY' ? '2678400 s (744 hours)' : '5270400 s (1464 hours)';
    expect(message).toContain(`is ${seconds} s, below the floor of ${floor}`);
    expect(message).toMatch(/Nothing was minted or written\. Set maxTokenLifetime to at least Duration\.days\((61|31)\).*untag-resource --secret-id arn:/);
    expect(h.astra.requests).toHaveLength(0);
  });
  test('an unknown revocation policy', () => refused(JSON.stringify({ engine: 'AstraDB' }), /tag astra-token-secret:previous-token-revocation is "SOMETIMES"/,
    { tags: { ...h.binding(APP_ROLE, rootarn()), [POLICY_TAG]: 'SOMETIMES' } }));
  test('a pending version that already holds a value without a token', async () => {
    const { arn } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    h.sm.secrets.get(arn)!.versions.get(version)!.value = '{"engine":"AstraDB"}';
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/already holds a value without a token.*update-secret-version-stage/);
    expect(h.astra.count('POST')).toBe(0);
  });

  test.each([
    [{}, /no valid "Step"/],
    [null, /no valid "Step"/],
    [{ Step: 'createSecret', SecretId: 'x' }, /no valid "ClientRequestToken"/],
    [{ Step: 'deleteSecret', SecretId: 'arn:x', ClientRequestToken: 'v1' }, /deleteSecret of arn:x \(version v1\) failed: "deleteSecret" is not a rotation step/],
  ])('a bad event %j', async (event, message) => {
    await expect(handler(event)).rejects.toThrow(message);
    expect(h.sm.calls).toHaveLength(0);
    expect(h.lastLine().outcome).toBe('failed');
  });

  test('rotation disabled', async () => {
    const arn = h.sm.create('off', '{}', { rotationEnabled: false });
    await expect(h.step('createSecret', arn, h.sm.startRotation(arn))).rejects.toThrow(/rotation is not enabled/);
  });

  test('a token that is not a version', async () => {
    const { arn } = h.adminSecret();
    await expect(h.step('testSecret', arn, 'no-such-version')).rejects.toThrow(/testSecret of .*no-such-version.*not a version of the secret/);
  });

  test('a version that is not AWSPENDING', async () => {
    const { arn } = h.adminSecret();
    await h.rotate(arn);
    const previous = h.sm.versionWith(arn, 'AWSPREVIOUS')!;
    await expect(h.step('finishSecret', arn, previous)).rejects.toThrow(/not AWSPENDING \(its stages: AWSPREVIOUS\)/);
  });

  test('ASTRA_API_URL over plain http to a remote host', async () => {
    const { arn } = h.adminSecret();
    process.env.ASTRA_API_URL = 'http://api.astra.datastax.com';
    await expect(h.step('createSecret', arn, h.sm.startRotation(arn))).rejects.toThrow(/must use https:\/\//);
    expect(h.sm.calls).toHaveLength(0);
  });

  test.each(['http://secretsmanager.us-east-1.amazonaws.com', 'http://10.0.0.12', 'not a url'])('SECRETS_MANAGER_ENDPOINT %p, which would carry every new token in clear, is refused', async (endpoint) => {
    const { arn } = h.adminSecret();
    process.env.SECRETS_MANAGER_ENDPOINT = endpoint;
    await expect(h.step('createSecret', arn, h.sm.startRotation(arn))).rejects.toThrow(/SECRETS_MANAGER_ENDPOINT .*(must use https:\/\/|is not a URL)/);
    expect(h.sm.calls).toHaveLength(0);
    expect(h.astra.requests).toHaveLength(0);
  });

  test.each(['https://vpce-0abc.secretsmanager.us-east-1.vpce.amazonaws.com', 'http://127.0.0.1:4566'])('SECRETS_MANAGER_ENDPOINT %p is accepted', async (endpoint) => {
    const { arn } = h.adminSecret();
    process.env.SECRETS_MANAGER_ENDPOINT = endpoint;
    // The fake intercepts the SDK client whatever its endpoint, so the rotation runs.
    await h.rotate(arn);
    expect(h.lastLine().outcome).toBe('finished');
  });

  test('a Secrets Manager error is reported with the operation, redacted', async () => {
    const { arn } = h.adminSecret();
    h.sm.failNext('DescribeSecret', Object.assign(new Error(`denied for ${h.admin.token}`), { name: 'AccessDeniedException' }));
    await expect(h.step('createSecret', arn, h.sm.startRotation(arn))).rejects.toThrow(/DescribeSecret on .* failed: AccessDeniedException: denied for AstraCS:\[REDACTED\]/);
  });
});

describe('setSecret, testSecret and the log', () => {
  test('setSecret says there is nothing to do', async () => {
    const { arn } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    await h.step('createSecret', arn, version);
    await h.step('setSecret', arn, version);
    expect(h.lastLine()).toMatchObject({ step: 'setSecret', outcome: 'nothing-to-do' });
    expect(h.lastLine().notes[0]).toMatch(/nothing to do for Astra/);
    // The sweep's list and the mint (the list shows the org sets no expiry); setSecret itself calls nothing.
    expect(h.astra.requests.map((r) => r.method)).toEqual(['GET', 'POST']);
  });

  test('testSecret on Secrets Manager\'s configuration-test copy of a placeholder succeeds without a call', async () => {
    const value = JSON.stringify({ roleID: APP_ROLE, engine: 'AstraDB', rootarn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:a-b' });
    const arn = h.sm.create('placeholder', value);
    const version = h.sm.addVersion(arn, value, ['AWSPENDING']);
    await h.step('testSecret', arn, version);
    expect(h.lastLine().outcome).toBe('nothing-to-test');
    expect(h.astra.requests).toHaveLength(0);
  });

  test('testSecret on a pending value without a token that is not such a copy fails', async () => {
    const arn = h.sm.create('placeholder', JSON.stringify({ engine: 'AstraDB' }));
    const version = h.sm.addVersion(arn, JSON.stringify({ engine: 'AstraDB', other: 1 }), ['AWSPENDING']);
    await expect(h.step('testSecret', arn, version)).rejects.toThrow(/holds no "astraKey"/);
  });

  test('testSecret and finishSecret before createSecret fail clearly', async () => {
    const { arn } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    await expect(h.step('testSecret', arn, version)).rejects.toThrow(/createSecret has not stored a token/);
    await expect(h.step('finishSecret', arn, version)).rejects.toThrow(/createSecret has not stored a token/);
    expect(h.sm.count('UpdateSecretVersionStage')).toBe(0);
  });

  test('one JSON line per step outcome with step, ARN, version, clientIds, duration and outcome', async () => {
    const { arn, initial } = h.adminSecret();
    const version = await h.rotate(arn);
    const lines = h.lines();
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => [l.step, l.outcome])).toEqual([
      ['createSecret', 'created'], ['setSecret', 'nothing-to-do'], ['testSecret', 'tested'], ['finishSecret', 'finished'],
    ]);
    const newClientId = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    for (const line of lines) {
      expect(line).toMatchObject({ secretArn: arn, version, level: 'INFO' });
      expect(typeof line.durationMs).toBe('number');
    }
    expect(lines[0].clientIds).toMatchObject({ current: initial.clientId, pending: newClientId });
    expect(lines[0].mode).toBe('admin');
    expect(lines[0].policy).toBe('AT_NEXT_ROTATION');
  });

  test('every Secrets Manager read names a stage or a version', async () => {
    const { arn } = h.adminSecret();
    await h.rotate(arn);
    await h.rotate(arn);
    const reads = h.sm.calls.filter((c) => c.operation === 'GetSecretValue');
    expect(reads.length).toBeGreaterThan(5);
    for (const read of reads) expect(read.input.VersionStage ?? read.input.VersionId).toBeDefined();
    for (const read of reads.filter((r) => r.input.SecretId === arn)) expect(read.input.VersionId).toBeDefined();
  });
});

describe('a rotation that CloudFormation ends while it runs (its schedule deleted before the teardown lists the tokens)', () => {
  /** Makes `change` happen right after the next PutSecretValue commits, as a deletion racing the step would. */
  function afterNextPut(change: () => void): void {
    const sm = h.sm as unknown as { put: (input: unknown) => unknown };
    const put = sm.put.bind(sm);
    jest.spyOn(sm, 'put').mockImplementationOnce((input) => {
      const result = put(input);
      change();
      return result;
    });
  }

  test.each([
    ['rotation turned off (the schedule deleted)', (arn: string) => { h.sm.secrets.get(arn)!.rotationEnabled = false; }, /rotation is off/],
    ['the secret deleted', (arn: string) => { h.sm.secrets.delete(arn); }, /the secret is gone/],
  ])('GIVEN %s after the put WHEN createSecret finishes THEN the token it minted is revoked and the step fails', async (_what, end, why) => {
    const { arn, initial } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    afterNextPut(() => end(arn));
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(why);
    const minted = h.astra.requests.find((r) => r.method === 'POST')!;
    expect(minted).toBeDefined();
    expect([...h.astra.tokens.keys()].sort()).toEqual([h.admin.clientId, initial.clientId].sort());
    expect(h.lastLine().clientIds.revoked).toHaveLength(1);
  });

  test('GIVEN rotation turned off after a put that commits and reports a failure WHEN createSecret reads the version back THEN the token it minted is revoked and the step fails', async () => {
    const { arn, initial } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    afterNextPut(() => { h.sm.secrets.get(arn)!.rotationEnabled = false; });
    h.sm.failNextAfterCommit('PutSecretValue', awsError('InternalServiceError', 'reset after commit'));
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/rotation is off/);
    expect([...h.astra.tokens.keys()].sort()).toEqual([h.admin.clientId, initial.clientId].sort());
  });

  test('GIVEN rotation still on after the put THEN nothing is revoked (the teardown, if any, has not listed yet)', async () => {
    const { arn } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    await h.step('createSecret', arn, version);
    expect(h.lastLine()).toMatchObject({ outcome: 'created', clientIds: { revoked: [] } });
  });
});

describe('a rotation whose secret the teardown deletes while it mints, storing after the deletion (its put refused, no retry to come)', () => {
  type Teardown = 'marked for deletion' | 'gone, its grant removed with it' | 'gone, its grant removed with it, the read-back denied too';
  const denied = (action: string) =>
    awsError('AccessDeniedException', `not authorized to perform secretsmanager:${action} on this resource`, 'client');

  /**
   * Runs the teardown right before the next PutSecretValue reaches Secrets Manager: it revokes the secret's token (the
   * minting authority of a self-rotating secret), turns rotation off and deletes the secret. Secrets Manager's forced
   * deletion is under way a while (the secret is marked for deletion, and the fake refuses its value); after an update's
   * cleanup the role's grant on the ARN is gone, and IAM answers AccessDenied before the secret is looked up.
   */
  function teardownBeforeNextPut(arn: string, how: Teardown, resent = false): void {
    const sm = h.sm as unknown as { put: (input: unknown) => unknown };
    const put = sm.put.bind(sm);
    jest.spyOn(sm, 'put').mockImplementationOnce((input) => {
      h.astra.tokens.delete(h.sm.valueAt(arn, 'AWSCURRENT').clientID);
      h.sm.secrets.get(arn)!.rotationEnabled = false;
      if (how === 'marked for deletion') {
        h.sm.secrets.get(arn)!.deletedDate = new Date();
        try {
          return put(input);
        } catch (error) {
          // The SDK counts its requests on the error: a request before the refused one may have stored the version.
          if (resent) Object.assign((error as { $metadata: object }).$metadata, { attempts: 3 });
          throw error;
        }
      }
      h.sm.secrets.delete(arn);
      h.sm.failNext('DescribeSecret', denied('DescribeSecret'));
      if (how !== 'gone, its grant removed with it') h.sm.failNext('GetSecretValue', denied('GetSecretValue'));
      throw denied('PutSecretValue');
    });
  }

  /** Rotates the self-rotating secret once (so the step has an AWSPREVIOUS), then starts the rotation the teardown cuts short. */
  async function cutShort(how: Teardown, resent = false): Promise<{ arn: string; version: string; error: string; minted: string }> {
    const { arn } = h.selfSecret();
    await h.rotate(arn);
    const before = new Set(h.astra.everIssued.map((t) => t.clientId));
    const version = h.sm.startRotation(arn);
    teardownBeforeNextPut(arn, how, resent);
    const error = await h.step('createSecret', arn, version).then(() => 'none', (e: Error) => e.message);
    const minted = h.astra.everIssued.filter((t) => !before.has(t.clientId)).map((t) => t.clientId);
    expect(minted).toHaveLength(1);
    return { arn, version, error, minted: minted[0] };
  }

  const alerts = () => h.lines().filter((l) => l.alert === 'TokensLeftLiveOnDeletion');

  test('GIVEN a Deny on DescribeSecret added after the put and lifted before Secrets Manager retries WHEN the rotation goes on THEN it completes with a live AWSCURRENT', async () => {
    const { arn } = h.selfSecret();
    await h.rotate(arn);
    const version = h.sm.startRotation(arn);
    const puts = h.sm.count('PutSecretValue');
    h.sm.failNext('DescribeSecret', denied('DescribeSecret'), () => h.sm.count('PutSecretValue') > puts);
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/was left live: the secret's version may hold it/);
    // Secrets Manager's retry of the failed rotation, with the same ClientRequestToken, once the Deny is gone.
    await h.rotate(arn, version);
    expect(h.astra.isLive(h.sm.valueAt(arn, 'AWSCURRENT').clientID)).toBe(true);
    expect(alerts()).toEqual([expect.objectContaining({ secretArn: arn, message: expect.stringContaining('unless the secret still exists or is restored') })]);
  });

  test('GIVEN the secret gone (not found) and DescribeSecret failing after the refused put WHEN createSecret stores THEN the new token, which no version holds, revokes itself', async () => {
    const { arn } = h.selfSecret();
    await h.rotate(arn);
    const before = new Set(h.astra.everIssued.map((t) => t.clientId));
    const version = h.sm.startRotation(arn);
    const sm = h.sm as unknown as { put: (input: unknown) => unknown };
    const put = sm.put.bind(sm);
    jest.spyOn(sm, 'put').mockImplementationOnce((input) => {
      h.astra.tokens.delete(h.sm.valueAt(arn, 'AWSCURRENT').clientID);
      h.sm.secrets.delete(arn);
      h.sm.failNext('DescribeSecret');
      return put(input);
    });
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/The new token \S+ was revoked/);
    const minted = h.astra.everIssued.filter((t) => !before.has(t.clientId)).map((t) => t.clientId);
    expect(minted.map((c) => h.astra.isLive(c))).toEqual([false]);
  });

  test.each<Teardown>(['marked for deletion', 'gone, its grant removed with it', 'gone, its grant removed with it, the read-back denied too'])(
    'GIVEN the secret %s WHEN createSecret stores THEN the new token, whose minting token the teardown revoked, revokes itself, and the log says revoked only',
    async (how) => {
      const { arn, version, error, minted } = await cutShort(how);
      expect(h.astra.isLive(minted)).toBe(false);
      expect(h.astra.requests.filter((r) => r.method === 'DELETE').map((r) => `${r.path} by ${r.bearerClientId}`).slice(-1))
        .toEqual([`/v2/clientIdSecrets/${minted} by ${minted}`]);
      expect(error).toMatch(new RegExp(`^createSecret of ${arn} .*storing the new token as AWSPENDING failed: .*The rotation of the secret ended while this step minted `
        + `\\((the secret is marked for deletion|the role may no longer describe the secret: .*)\\): the new token ${minted} was revoked\\. Nothing to do`));
      expect(error).not.toMatch(/Rotation will be retried|the next rotation revokes|Check that the secret exists/);
      expect(alerts()).toEqual([]);
      // The minting token's 401 was made good by the new token's own DELETE: a note, not a failure beside the revocation.
      const line = h.lastLine();
      expect(line).toMatchObject({ level: 'ERROR', step: 'createSecret', version, outcome: 'failed' });
      expect(line.clientIds).toMatchObject({ revoked: [minted], revocationFailed: [] });
      expect(line.revocationFailures).toBeUndefined();
      expect(line.notes.join(' ')).toMatch(/the new token revoked itself after the current token of the secret could not: .*HTTP 401/);
    });

  test.each<Teardown>(['marked for deletion', 'gone, its grant removed with it, the read-back denied too'])(
    'GIVEN the secret %s and Astra failing every revocation WHEN createSecret stores THEN a TokensLeftLiveOnDeletion alert names the secret and the new token',
    async (how) => {
      h.astra.fail({ method: 'DELETE', path: DELETE, status: 503, times: 20 });
      const { arn, error, minted } = await cutShort(how);
      expect(h.astra.isLive(minted)).toBe(true);
      expect(alerts()).toEqual([expect.objectContaining({
        level: 'ERROR',
        step: 'createSecret',
        secretArn: arn,
        clientIds: [minted],
        message: expect.stringMatching(new RegExp(`^The rotation of the secret ${arn} ended while it minted the token ${minted} .*could not be revoked\\. Revoke the clientIds`)),
      })]);
      expect(error).toMatch(new RegExp(`the new token ${minted} could not be revoked\\. Revoke it in the Astra Portal`));
    });

  test('GIVEN the secret marked for deletion and the refused put resent by the SDK WHEN createSecret stores THEN the token the version may hold stays live, named in the alert', async () => {
    const { arn, error, minted } = await cutShort('marked for deletion', true);
    expect(h.astra.isLive(minted)).toBe(true);
    expect(h.astra.requests.filter((r) => r.method === 'DELETE' && r.path.endsWith(minted))).toEqual([]);
    expect(alerts()).toEqual([expect.objectContaining({
      secretArn: arn,
      clientIds: [minted],
      message: expect.stringMatching(/was left live: the secret's version may hold it.*unless the secret still exists or is restored\.$/),
    })]);
    expect(error).toMatch(/the new token \S+ was left live: the secret's version may hold it.* Revoke it in the Astra Portal .*unless the secret still exists or is restored\./);
  });
});
