import { randomBytes } from 'node:crypto';
import { forbiddenFor, forgedKeyOf, outcomeOf, useTeardownHarness } from './teardown-harness';
import { APP_ROLE } from '../support/fake-astra';
import { awsError } from '../support/fake-secrets-manager';
import { POLICY_TAG } from '../support/harness';

/*
 * The thirty-fifth adversarial review's cases (of 55c3cb4..26ada64): every key held for a clientId is judged, and a
 * claim Astra could not judge is carried with its key (A); a stage's version that could not be read fails every call of
 * finishSecret (B); a claim whose named version never existed is not carried (C); claims are read in turns from both
 * stages' values (D). `R35_DEBUG=1` prints the WARN/ERROR lines and the teardown's lines.
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => jest.restoreAllMocks());

const debug = (label: string) => {
  if (!process.env.R35_DEBUG) return;
  process.stderr.write(`${label} ${JSON.stringify(h.lines().filter((l) => l.level !== 'INFO' || l.alert))}\n`);
};

/** A version the writer puts with a ClientRequestToken of its choosing, no stage moved (PutSecretValue VersionStages: []). */
const putVersion = (arn: string, value: Record<string, unknown>, stages: string[] = []) => h.sm.addVersion(arn, JSON.stringify(value), stages);

/** GetSecretValue of these versions answers InternalServiceError (500) while `on()` (a fault that passes). */
const failingWhile = (on: () => boolean, versionIds: () => string[]) => {
  const sm = h.sm as any;
  const call = sm.call.bind(sm);
  let count = 0;
  sm.call = async (operation: string, input: any, run: () => unknown) => {
    if (operation === 'GetSecretValue' && on() && versionIds().includes(input.VersionId)) {
      count++;
      sm.calls.push({ operation, input });
      throw awsError('InternalServiceError', 'injected passing failure');
    }
    return call(operation, input, run);
  };
  return () => count;
};

describe('R35-A: a forged key registered first for a carried genuine claim drops it from the carry', () => {
  test('WHEN an admin-minted secret\'s bootstrap (unmarked) token is deferred (403 to everything) and carried, and a PutSecretValue writer puts AWSCURRENT holding a forged minted-form key for that clientId THEN after later rotations the teardown still names it', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    forbiddenFor(() => [initial.token]);
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await t.rotateWithRetries(arn));
    expect(h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocations).toContain(initial.clientId);
    // One put: the key names the bootstrap token's clientId (its exact minted form), 64 random hex.
    t.forgeMinted(arn, initial.clientId);
    for (let i = 0; i < 4; i++) outcomes.push(await t.rotateWithRetries(arn));

    const { answer } = await t.send('Delete', [arn]);
    debug('R35-A');

    // The rotation whose promotion first owes it fails its calls within the recheck window (an alarm); all others complete.
    expect(outcomes.map((o) => o === 'completed')).toEqual([true, false, true, true, true, true, true]);
    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(t.namedAtAll(arn)).toContain(initial.clientId);
  });

  test('WHEN the writer instead puts a version (no stage) holding a forged key for that clientId and names it in a value over AWSCURRENT THEN after later rotations the teardown still names it', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    forbiddenFor(() => [initial.token]);
    for (let i = 0; i < 3; i++) await t.rotateWithRetries(arn);
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    expect(real.pendingRevocations).toContain(initial.clientId);
    const y = putVersion(arn, { engine: 'AstraDB', clientID: initial.clientId, astraKey: forgedKeyOf(initial.clientId) });
    t.put(arn, { ...real, pendingRevocationVersions: { ...real.pendingRevocationVersions, [initial.clientId]: y } });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await t.rotateWithRetries(arn));

    const { answer } = await t.send('Delete', [arn]);
    debug('R35-A2');

    expect(outcomes.every((o) => o === 'completed')).toBe(true);
    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(t.namedAtAll(arn)).toContain(initial.clientId);
  });
});

describe('R35-B: a passing read failure on finishSecret\'s retry completes the rotation with an IMMEDIATELY-owed token live', () => {
  test('WHEN an IMMEDIATELY admin-minted secret\'s bootstrap (unmarked, working) token is owed, and GetSecretValue of its version fails (500, passing) during the promoting finishSecret and its first retry THEN that retry does not complete while the token is live', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const v0 = h.sm.versionWith(arn, 'AWSCURRENT')!;
    let throttling = false;
    failingWhile(() => throttling, () => [v0]);
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    throttling = true;
    const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    throttling = false;
    debug('R35-B');

    expect(outcomes[0]).not.toBe('completed');
    // A throttle is not a steady 403: the retry should fail (Secrets Manager retries) rather than complete with the token live.
    expect(outcomes[1] === 'completed' && h.astra.isLive(initial.clientId)).toBe(false);
  });
});

describe('R35-B (variant): one passing fault on the retry after a promoting call that failed for another cause', () => {
  test('WHEN an IMMEDIATELY secret\'s promoting finishSecret fails after the promotion on a passing token-list fault, and its retry meets one passing GetSecretValue fault on the old AWSCURRENT version THEN that retry does not complete while the old token is live', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const v0 = h.sm.versionWith(arn, 'AWSCURRENT')!;
    let failing = false;
    failingWhile(() => failing, () => [v0]);
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    // finishSecret's token list (after the promotion) answers 500 once (and its SDK retries).
    h.astra.fail({ method: 'GET', path: /clientIdSecrets$/, times: 3 });
    const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
    h.astra.faults = [];
    failing = true;
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    failing = false;
    debug('R35-B2');

    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(token);
    expect(outcomes[0]).not.toBe('completed');
    expect(outcomes[1] === 'completed' && h.astra.isLive(initial.clientId)).toBe(false);
  });
});

describe('R35-C: a writer\'s claims with well-formed hints to versions that never existed are carried by the function for good, each read at every rotation', () => {
  test('WHEN a PutSecretValue writer names 60 live tokens of other teams, each with a hint to a version id that never existed, and four rotations follow THEN the function\'s own value no longer carries them, and a rotation reads a bounded number of versions', async () => {
    const arn = await t.rotatedAdminSecret();
    const victims = Array.from({ length: 60 }, (_, i) => h.astra.issue([APP_ROLE], `another team's token ${i}`));
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const hints = Object.fromEntries(victims.map((v) => [v.clientId, randomBytes(16).toString('hex')]));
    t.put(arn, { ...real, pendingRevocations: victims.map((v) => v.clientId), pendingRevocationVersions: hints });
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await t.rotateWithRetries(arn));
    const before = h.sm.calls.length;
    outcomes.push(await t.rotateWithRetries(arn));
    const reads = h.sm.calls.slice(before).filter((c) => c.operation === 'GetSecretValue' && Object.values(hints).includes(c.input.VersionId)).length;
    const carried = (h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocations as string[]).filter((c) => hints[c]);
    if (process.env.R35_DEBUG) process.stderr.write(`R35-C ${JSON.stringify({ outcomes, reads, carried: carried.length })}\n`);

    expect(outcomes.every((o) => o === 'completed')).toBe(true);
    for (const v of victims) expect(h.astra.isLive(v.clientId)).toBe(true);
    // Four rotations after the put, AWSCURRENT and AWSPREVIOUS are both the function's: it still owes the writer's claims.
    expect(carried).toEqual([]);
    expect(reads).toBeLessThanOrEqual(20);
  });
});

describe('R35-D: the function\'s own owed token, in AWSCURRENT\'s pending revocations, is read after AWSPREVIOUS\'s claims and the cap', () => {
  test('WHEN a PutSecretValue writer puts a value naming 30 live tokens of other teams with hints to versions that never existed, the first rotation\'s finishSecret cannot list (so AWSCURRENT owes the bootstrap token, held only in an unlabelled version), and the stack is deleted THEN the teardown revokes the bootstrap token or names it as the secret\'s own', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    const victims = Array.from({ length: 30 }, (_, i) => h.astra.issue([APP_ROLE], `another team's token ${i}`));
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const hints = Object.fromEntries(victims.map((v) => [v.clientId, randomBytes(16).toString('hex')]));
    // No key, no read access needed: the writer's value over AWSCURRENT moves the bootstrap value to AWSPREVIOUS.
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, pendingRevocations: victims.map((v) => v.clientId), pendingRevocationVersions: hints });
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    // finishSecret's token list fails on the promoting call and its retries (an Astra outage): the promotion owes the bootstrap token.
    h.astra.fail({ method: 'GET', path: /clientIdSecrets$/, times: 100 });
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    h.astra.faults = [];
    const current = h.sm.valueAt(arn, 'AWSCURRENT');
    expect(current.pendingRevocations).toContain(initial.clientId);
    expect(h.astra.isLive(initial.clientId)).toBe(true);

    const { answer } = await t.send('Delete', [arn]);
    debug('R35-D');

    expect(answer.Status).toBe('SUCCESS');
    // Its version holds its key, which works: the secret's own, provably.
    expect(!h.astra.isLive(initial.clientId) || t.namedAsOwn(arn).includes(initial.clientId)).toBe(true);
  });
});
