import { randomUUID } from 'node:crypto';
import { forbidden, forbiddenFor, outcomeOf, useTeardownHarness } from './teardown-harness';
import { AstraClient } from '../../../lambda/clients/astra-client';
import { markedAsSecrets } from '../../../lambda/rotation/revocation-rule';
import { INVOCATION_SPAN_MS } from '../../../lambda/rotation/sweep';
import { APP_ROLE } from '../support/fake-astra';
import { awsError } from '../support/fake-secrets-manager';

/*
 * The thirty-third adversarial review's cases (of d45c105..3396708): a value writer's malformed version hint (A: rotation,
 * B: teardown) names no version; a writer's hints do not keep the teardown from the version holding the secret's own
 * token (C: the cap, C2: a hint for the same clientId); a claim whose version Secrets Manager removed is still carried
 * (D); a token of the version minted by an invocation that is over is swept (E); a 404 to a held token's own DELETE
 * proves nothing (F).
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => {
  if (process.env.R33_DEBUG) {
    for (const l of h.lines().filter((x) => x.level !== 'INFO' || x.step === 'teardown')) process.stdout.write(`${JSON.stringify(l).slice(0, 900)}\n`);
  }
  jest.restoreAllMocks();
});


/**
 * Secrets Manager's own check of GetSecretValue's VersionId (32 to 64 of [A-Za-z0-9-]): any other id is refused with a
 * ValidationException (HTTP 400), not ResourceNotFoundException, every time. The fake does not check it; this does.
 */
const versionIdsValidated = () => {
  const sm = h.sm as any;
  const call = sm.call.bind(sm);
  sm.call = async (operation: string, input: any, run: () => unknown) => {
    if (operation === 'GetSecretValue' && input.VersionId !== undefined && !/^[A-Za-z0-9-]{32,64}$/.test(input.VersionId)) {
      sm.calls.push({ operation, input });
      throw awsError('ValidationException', `1 validation error detected: Value '${input.VersionId}' at 'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32`, 'client', 400);
    }
    return call(operation, input, run);
  };
};

describe('R33-A: a value writer\'s malformed version hint names no version: rotation goes on', () => {
  test('WHEN a PutSecretValue writer puts AWSCURRENT naming a live token of another team as a pending revocation, with a version hint Secrets Manager refuses as malformed THEN a later rotation still completes', async () => {
    const arn = await t.rotatedAdminSecret();
    versionIdsValidated();
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    t.put(arn, { ...real, pendingRevocations: [victim.clientId], pendingRevocationVersions: { [victim.clientId]: 'x' } });

    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await outcomeOf(h.rotate(arn)));

    expect(h.astra.isLive(victim.clientId)).toBe(true);
    expect(outcomes).toContain('completed');
  });
});

describe('R33-B: a value writer\'s malformed version hint does not stop the teardown from revoking or naming the secret\'s tokens', () => {
  test('WHEN a PutSecretValue writer (no read access) puts a value over an admin-minted secret naming any clientId with a malformed version hint, and the stack is deleted THEN every live token of the secret is revoked or named in the alert', async () => {
    const arn = t.stack.adopt(await t.rotatedAdminSecret(), 'Secret');
    versionIdsValidated();
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const own = [real.clientID as string, h.sm.valueAt(arn, 'AWSPREVIOUS').clientID as string];
    // Without the key: the writer cannot read the secret.
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, pendingRevocations: ['anything'], pendingRevocationVersions: { anything: 'x' } });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    const liveOwn = own.filter((c) => h.astra.isLive(c));
    expect({ liveOwn, named: liveOwn.filter((c) => t.namedAtAll(arn).includes(c)) }).toEqual({ liveOwn, named: liveOwn });
  });
});

/** An admin-minted secret whose finishSecret could not revoke its first (unmarked) token: AWSCURRENT still owes it. */
async function owingItsFirstToken() {
  const { arn, initial } = h.adminSecret();
  t.stack.adopt(arn, 'Secret');
  await h.rotate(arn);
  const version = h.sm.startRotation(arn);
  for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, version);
  // An Astra outage through finishSecret: promoted, the revocation it owes left for later.
  h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 503, times: 1_000 });
  await expect(h.step('finishSecret', arn, version)).rejects.toThrow();
  h.astra.faults = [];
  const real = h.sm.valueAt(arn, 'AWSCURRENT');
  expect(real.pendingRevocations).toContain(initial.clientId);
  return { arn, initial, real };
}

describe('R33-C: a value writer\'s hints do not use up the teardown\'s reads before the function\'s own', () => {
  test('WHEN AWSCURRENT owes the secret\'s first (unmarked) token, and a writer then puts a value naming 20 clientIds with hints to (well-formed, absent) versions THEN the teardown revokes that token', async () => {
    const { arn, initial, real } = await owingItsFirstToken();
    const bogus = Array.from({ length: 20 }, (_, i) => `bogus${String(i).padStart(19, '0')}`);
    const hints = Object.fromEntries(bogus.map((c) => [c, randomUUID()]));
    // Without read access: the writer's value moves the function's to AWSPREVIOUS.
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, pendingRevocations: bogus, pendingRevocationVersions: hints });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    expect(t.namedAsOwn(arn)).not.toContain(initial.clientId);
  });
});

describe('R33-C2: a value writer\'s hint for the secret\'s own pending revocation does not hide the function\'s', () => {
  test('WHEN AWSCURRENT owes the secret\'s first (unmarked) token, and a writer then puts a value naming another (well-formed, absent) version as holding it THEN the teardown revokes that token', async () => {
    const { arn, initial, real } = await owingItsFirstToken();
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, pendingRevocations: [initial.clientId], pendingRevocationVersions: { [initial.clientId]: randomUUID() } });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(initial.clientId)).toBe(false);
  });

  test('WHEN AWSCURRENT owes the secret\'s first (unmarked) token, and a writer puts a value over it THEN the next rotation still revokes that token (AWSPREVIOUS\'s debts are swept too)', async () => {
    const { arn, initial, real } = await owingItsFirstToken();
    t.put(arn, { ...real, pendingRevocations: [], pendingRevocationVersions: {} });

    await h.rotate(arn);

    expect(h.astra.isLive(initial.clientId)).toBe(false);
  });
});

describe('R33-D: a deferred claim stays carried and named once Secrets Manager removes the version that held its key', () => {
  test('WHEN an admin-minted secret\'s first (unmarked) token is answered 403 to everything, its claim is carried by rotations, and the version holding it is removed under Secrets Manager\'s version quota THEN later rotations carry it and the teardown names it', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    const first = h.sm.versionWith(arn, 'AWSCURRENT')!;
    forbiddenFor(() => [initial.token]);
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await outcomeOf(h.rotate(arn)));
    h.sm.secrets.get(arn)!.versions.delete(first);
    for (let i = 0; i < 2; i++) outcomes.push(await outcomeOf(h.rotate(arn)));
    const carried = h.sm.valueAt(arn, 'AWSCURRENT');

    const { answer } = await t.send('Delete', [arn]);

    // The rotation whose promotion owes it (AWSPREVIOUS's token) fails after the promotion: an alarm, not a stop.
    expect(outcomes.map((o) => o === 'completed')).toEqual([true, false, true, true, true]);
    expect(carried.pendingRevocations).toContain(initial.clientId);
    // Carried with its key: no removed version is needed to find it (compared, never printed).
    expect(carried.pendingRevocationKeys?.[initial.clientId] === initial.token).toBe(true);
    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(t.namedAtAll(arn)).toContain(initial.clientId);
  });
});

describe('R33-E: a token of the version being created, minted by an invocation that is over, is swept before the next mint', () => {
  const liveOfVersion = (arn: string, version: string) => h.astra.everIssued.filter((tok) => h.astra.isLive(tok.clientId)
    && markedAsSecrets({ clientId: tok.clientId, description: tok.description ?? '', roles: [], tokenExpiry: null }, arn)
    && (tok.description ?? '').includes(`version=${version}`));

  test('WHEN PutSecretValue answers 500 (nothing stored) to three attempts of createSecret on one version, each after Lambda\'s longest invocation THEN at most one token marked with that version is live', async () => {
    const { arn } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    for (let i = 0; i < 3; i++) {
      h.astra.backdate(INVOCATION_SPAN_MS + 1000);
      h.sm.failNext('PutSecretValue', awsError('InternalServiceError', 'injected failure'), (input: any) => input.SecretId === arn);
      await expect(h.step('createSecret', arn, version)).rejects.toThrow();
    }

    expect(liveOfVersion(arn, version)).toHaveLength(1);
  });

  test('WHEN the earlier attempt on the version is more recent than Lambda\'s longest invocation THEN its token is left to a later sweep (it may still be storing it)', async () => {
    const { arn } = h.adminSecret();
    const version = h.sm.startRotation(arn);
    for (let i = 0; i < 2; i++) {
      h.sm.failNext('PutSecretValue', awsError('InternalServiceError', 'injected failure'), (input: any) => input.SecretId === arn);
      await expect(h.step('createSecret', arn, version)).rejects.toThrow();
    }

    expect(liveOfVersion(arn, version)).toHaveLength(2);
    await h.step('createSecret', arn, version);
    expect(liveOfVersion(arn, version)).toHaveLength(1);
  });
});

describe('R33-F: a 404 to the held key\'s own DELETE proves nothing', () => {
  test('WHEN an admin-minted secret\'s first (unmarked) token is answered 403 to everything, and the teardown\'s DELETE with that token as bearer meets one passing 404 THEN that token is revoked or named in the alert', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    let passing404 = 0;
    const originalOrg = AstraClient.prototype.currentOrg;
    jest.spyOn(AstraClient.prototype, 'currentOrg').mockImplementation(async function (this: AstraClient, bearer: string) {
      if (bearer === initial.token) throw forbidden();
      return originalOrg.call(this, bearer);
    });
    const originalRevoke = AstraClient.prototype.revoke;
    jest.spyOn(AstraClient.prototype, 'revoke').mockImplementation(async function (this: AstraClient, bearer: string, clientId: string) {
      if (bearer === initial.token) {
        // An edge's 404 (a route it does not know for that key, a stale cache): Astra revoked nothing.
        if (passing404++ === 0) return 'already-revoked';
        throw forbidden();
      }
      return originalRevoke.call(this, bearer, clientId);
    });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(passing404).toBeGreaterThan(0);
    expect({ live: h.astra.isLive(initial.clientId), named: t.namedAtAll(arn).includes(initial.clientId) })
      .not.toEqual({ live: true, named: false });
  });
});
