import { forbiddenFor, forbiddenForUnknown, outcomeOf, useTeardownHarness } from './teardown-harness';
import { RECHECK_WINDOW_MS } from '../../../lambda/rotation/steps/finish-secret';
import { APP_ROLE } from '../support/fake-astra';
import { POLICY_TAG } from '../support/harness';

/*
 * The thirty-fourth adversarial review's cases (of c4eb03e..95da87c): a held key that does not name its own clientId
 * proves nothing about the `clientID` beside it (A); a deferred stage token fails the promoting finishSecret once, not
 * each retry (B); a hinted version that can never be read is a carried claim, not a failure at every rotation (C).
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => jest.restoreAllMocks());

const realNow = Date.now.bind(Date);
let ahead = 0;
afterEach(() => {
  ahead = 0;
});
/** Moves the function's clock `ms` further ahead (restored after each test): Secrets Manager's retry comes that much later. */
const laterBy = (ms: number) => {
  ahead += ms;
  jest.spyOn(Date, 'now').mockImplementation(() => realNow() + ahead);
};

/** A version the writer puts with a ClientRequestToken of its choosing (PutSecretValue, no stage moved but the ones given). */
const putVersion = (arn: string, value: Record<string, unknown>, stages: string[] = []) => h.sm.addVersion(arn, JSON.stringify(value), stages);

describe('R34-A: a held key that is not in Astra\'s token form is taken as the token of the clientID field', () => {
  test('WHEN a PutSecretValue writer puts a version holding clientID = another team\'s live token and astraKey = a working token of its own with a trailing space, and names it as a pending revocation THEN that team\'s token is not revoked', async () => {
    const arn = await t.rotatedAdminSecret();
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    // Any working token the writer has (its own app token, or this secret's own if it may read it).
    const own = h.astra.issue([APP_ROLE], 'the writer\'s own token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    // fetch strips a header value's trailing whitespace (and so would any HTTP server): the key authenticates as `own`.
    const y = putVersion(arn, { engine: 'AstraDB', clientID: victim.clientId, astraKey: `${own.token} ` });
    t.put(arn, { ...real, pendingRevocations: [victim.clientId], pendingRevocationVersions: { [victim.clientId]: y } });

    await outcomeOf(h.rotate(arn));

    expect(h.astra.isLive(victim.clientId)).toBe(true);
  });

  test('WHEN the same forged version is named in the value over an admin-minted secret and the stack is deleted THEN that team\'s token is not revoked by the teardown', async () => {
    const arn = t.stack.adopt(await t.rotatedAdminSecret(), 'Secret');
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const own = h.astra.issue([APP_ROLE], 'the writer\'s own token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const y = putVersion(arn, { engine: 'AstraDB', clientID: victim.clientId, astraKey: `${own.token}\n` });
    t.put(arn, { ...real, pendingRevocations: [victim.clientId], pendingRevocationVersions: { [victim.clientId]: y } });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(victim.clientId)).toBe(true);
  });
});

describe('R34-B: under IMMEDIATELY, a deferred stage token fails every retry of finishSecret', () => {
  test('WHEN an IMMEDIATELY admin-minted secret\'s bootstrap (unmarked) token is answered 403 to everything and the first rotation\'s finishSecret fails on it THEN a retry of that finishSecret after the recheck window completes, the token named as a deferred claim', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    forbiddenFor(() => [initial.token]);
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
    // Secrets Manager's retries of the rotation (the version is AWSCURRENT now): two soon, one past the recheck window.
    for (let i = 0; i < 2; i++) outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    laterBy(RECHECK_WINDOW_MS + 1000);
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));

    expect(h.sm.valueAt(arn, 'AWSCURRENT').clientID).not.toBe(initial.clientId);
    // The promoting call and the retries within the window fail (the alarm); the one after it carries the claim.
    expect(outcomes.map((o) => o === 'completed')).toEqual([false, false, false, true]);
    expect(h.lastLine()).toMatchObject({ level: 'WARN', revocationsRefused: [{ clientId: initial.clientId, recheckIn: expect.any(String) }] });
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    // The promoted version records it: the next rotation's sweep judges it again.
    expect(h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocations).toContain(initial.clientId);
  });

  test('WHEN a PutSecretValue writer puts AWSCURRENT holding a forged minted-form key for another team\'s live clientId over an IMMEDIATELY secret, with Astra answering 403 to unknown tokens THEN the rotation that follows completes on a retry, and that team\'s token stays live', async () => {
    const arn = await t.rotatedAdminSecret();
    h.sm.secrets.get(arn)!.tags.push({ Key: POLICY_TAG, Value: 'IMMEDIATELY' });
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const forged = `AstraCS:${victim.clientId}:${'ab'.repeat(32)}`;
    t.put(arn, { ...real, astraKey: forged, clientID: victim.clientId, clientSecret: 'x', pendingRevocations: [], pendingRevocationVersions: {} });
    forbiddenForUnknown();
    const token = h.sm.startRotation(arn);
    const outcomes: string[] = [];
    for (const step of ['createSecret', 'setSecret', 'testSecret']) outcomes.push(await outcomeOf(h.step(step, arn, token)));
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    laterBy(RECHECK_WINDOW_MS + 1000);
    for (let i = 0; i < 3; i++) outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));

    // The next rotation (RotateSecret accepts AWSPENDING on the AWSCURRENT version), retried as Secrets Manager does.
    const next = h.sm.startRotation(arn);
    const after: string[] = [];
    for (const step of ['createSecret', 'setSecret', 'testSecret']) after.push(await outcomeOf(h.step(step, arn, next)));
    for (let i = 0; i < 2; i++) after.push(await outcomeOf(h.step('finishSecret', arn, next)));
    laterBy(RECHECK_WINDOW_MS + 1000);
    after.push(await outcomeOf(h.step('finishSecret', arn, next)));

    expect(h.astra.isLive(victim.clientId)).toBe(true);
    expect(outcomes.map((o) => o === 'completed')).toEqual([true, true, true, false, true, true, true]);
    // The next promotion moves on from the writer's value (AWSPREVIOUS then): its key, held there, is judged before the
    // copy the function carries, so that rotation too fails within the window and completes after it.
    expect(after.map((o) => o === 'completed')).toEqual([true, true, true, false, false, true]);
  });
});

describe('R34-C: a well-formed hint to a version that can never be read stops rotation', () => {
  test('WHEN the secret\'s KMS key was changed (its unlabelled versions undecryptable) and a PutSecretValue writer names any live clientId as a pending revocation with a hint to such a version THEN a later rotation still completes', async () => {
    const arn = await t.rotatedAdminSecret();
    await h.rotate(arn);
    const labelled = new Set([h.sm.versionWith(arn, 'AWSCURRENT'), h.sm.versionWith(arn, 'AWSPREVIOUS')]);
    const old = [...h.sm.secrets.get(arn)!.versions.keys()].filter((v) => !labelled.has(v));
    t.undecryptable(() => old);
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, pendingRevocations: [victim.clientId], pendingRevocationVersions: { [victim.clientId]: old[0] } });

    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await outcomeOf(h.rotate(arn)));

    expect(h.astra.isLive(victim.clientId)).toBe(true);
    expect(outcomes).toContain('completed');
  });

  test('WHEN an admin-minted secret\'s bootstrap token is deferred (403 to everything) and carried with a hint to its version, and that version later becomes undecryptable (KMS key changed) THEN a later rotation still completes', async () => {
    const { arn, initial } = h.adminSecret();
    const v0 = h.sm.versionWith(arn, 'AWSCURRENT')!;
    forbiddenFor(() => [initial.token]);
    const outcomes: string[] = [];
    // Two rotations: the second defers the bootstrap token (its finishSecret fails once on it, and the retry completes).
    for (let i = 0; i < 2; i++) {
      const token = h.sm.startRotation(arn);
      for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
      for (let k = 0; k < 2 && (await outcomeOf(h.step('finishSecret', arn, token))) !== 'completed'; k++);
    }
    await h.rotate(arn);
    expect(h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocationVersions).toMatchObject({ [initial.clientId]: v0 });
    t.undecryptable(() => [v0]);

    for (let i = 0; i < 3; i++) outcomes.push(await outcomeOf(h.rotate(arn)));

    expect(outcomes).toContain('completed');
  });
});

describe('held: the teardown with a hint to an undecryptable version', () => {
  test('WHEN the KMS key was changed and a writer names any live clientId with a hint to an undecryptable version, and the stack is deleted THEN every live token of the secret is revoked or named, and the claim is named', async () => {
    const arn = t.stack.adopt(await t.rotatedAdminSecret(), 'Secret');
    await h.rotate(arn);
    const labelled = new Set([h.sm.versionWith(arn, 'AWSCURRENT'), h.sm.versionWith(arn, 'AWSPREVIOUS')]);
    const old = [...h.sm.secrets.get(arn)!.versions.keys()].filter((v) => !labelled.has(v));
    t.undecryptable(() => old);
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const own = [real.clientID as string, h.sm.valueAt(arn, 'AWSPREVIOUS').clientID as string];
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, pendingRevocations: [victim.clientId], pendingRevocationVersions: { [victim.clientId]: old[0] } });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(victim.clientId)).toBe(true);
    expect(t.namedAtAll(arn)).toContain(victim.clientId);
    const liveOwn = own.filter((c) => h.astra.isLive(c));
    expect(liveOwn.filter((c) => !t.namedAtAll(arn).includes(c))).toEqual([]);
  });
});
