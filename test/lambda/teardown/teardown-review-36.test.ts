import { randomBytes } from 'node:crypto';
import { forbidden, forbiddenForUnknown, forgedKeyOf, outcomeOf, useTeardownHarness } from './teardown-harness';
import { APP_ROLE } from '../support/fake-astra';
import { POLICY_TAG } from '../support/harness';

/*
 * The thirty-sixth adversarial review's cases (of 136e7c6): a claim carried without its key names the version its
 * judgement used, where its key is found again (A); a retry of finishSecret within RECHECK_WINDOW_MS of the mint judges
 * the promotion's debts as the promoting call does (B); only credential-shaped strings are masked by value (C).
 * `R36_DEBUG=1` prints the WARN/ERROR lines and the alerts.
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => jest.restoreAllMocks());

const debug = (label: string, extra: unknown = {}) => {
  if (!process.env.R36_DEBUG) return;
  process.stderr.write(`${label} ${JSON.stringify(extra)} ${JSON.stringify(h.lines().filter((l) => l.level !== 'INFO' || l.alert))}\n`);
};

const bogusVersion = () => randomBytes(16).toString('hex');
const stateOf = (arn: string) => {
  const c = h.sm.valueAt(arn, 'AWSCURRENT');
  return { pending: c.pendingRevocations, keys: Object.keys(c.pendingRevocationKeys ?? {}), versions: c.pendingRevocationVersions };
};

describe('R36-A: a writer fills the five key slots ahead of a genuine deferred claim and names it with a made-up version', () => {
  test('WHEN an admin-minted secret\'s bootstrap token is deferred (403 to everything) and carried with its key, Astra answers 403 to unknown tokens, and a PutSecretValue writer twice puts a value naming five other teams\' tokens with forged keys and the bootstrap token with a version that never existed THEN after later rotations the bootstrap token is still carried or named by the teardown', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    forbiddenForUnknown((bearer) => (bearer === initial.token ? forbidden() : undefined));
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await t.rotateWithRetries(arn));
    const before = stateOf(arn);
    expect(before.pending).toContain(initial.clientId);
    expect(before.keys).toContain(initial.clientId);
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const states: unknown[] = [before];
    for (let round = 0; round < 2; round++) {
      const victims = Array.from({ length: 5 }, (_, i) => h.astra.issue([APP_ROLE], `another team's token ${round}.${i}`));
      // No read access needed: engine, role and rootarn are the construct's, the clientIds are on the org's token list.
      t.put(arn, {
        engine: 'AstraDB',
        roleID: real.roleID,
        rootarn: real.rootarn,
        pendingRevocations: victims.map((v) => v.clientId),
        pendingRevocationKeys: Object.fromEntries(victims.map((v) => [v.clientId, forgedKeyOf(v.clientId)])),
        pendingRevocationVersions: { [initial.clientId]: bogusVersion() },
      });
      outcomes.push(await t.rotateWithRetries(arn));
      states.push(stateOf(arn));
    }
    for (let i = 0; i < 3; i++) {
      outcomes.push(await t.rotateWithRetries(arn));
      states.push(stateOf(arn));
    }
    const { answer } = await t.send('Delete', [arn]);
    debug('R36-A', { outcomes, states });

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(t.namedAtAll(arn)).toContain(initial.clientId);
  });
});

/** Astra answering 403 to this bearer's checks and revocations while `on()` (passing: an edge's throttle or WAF). */
const forbiddenWhile = (on: () => boolean, bearer: string) => {
  forbiddenForUnknown((b) => (on() && b === bearer ? forbidden() : undefined));
};

describe('R36-B: after a promoting finishSecret that ended before its revocations, a passing 403 pair on the retry completes the rotation with the owed token live', () => {
  test.each(['IMMEDIATELY', 'AT_NEXT_ROTATION'])('WHEN a %s admin-minted secret\'s promoting finishSecret fails after the promotion (a passing token-list fault: as a kill there), and on its retry Astra answers 403 to the owed working token\'s check, its revocation and the check again THEN that retry does not complete while the owed token is live', async (policy) => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: policy });
    // AT_NEXT_ROTATION owes AWSPREVIOUS's token: the bootstrap token is AWSPREVIOUS after one rotation.
    if (policy === 'AT_NEXT_ROTATION') await h.rotate(arn);
    let passing403 = false;
    forbiddenWhile(() => passing403, initial.token);
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    h.astra.fail({ method: 'GET', path: /clientIdSecrets$/, times: 3 });
    const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
    h.astra.faults = [];
    passing403 = true;
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    passing403 = false;
    debug(`R36-B ${policy}`, { outcomes, current: h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocations });

    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(token);
    expect(outcomes[0]).not.toBe('completed');
    // The promotion owes it now (the policy); no call judged it before this retry, and a 403 pair proves nothing steady.
    expect(outcomes[1] === 'completed' && h.astra.isLive(initial.clientId)).toBe(false);
  });
});

describe('R36-C: a writer\'s pendingRevocationKeys values are registered for redaction whatever they are, and mask the alert', () => {
  test('WHEN the bootstrap token is deferred (403 to everything) and carried, and a PutSecretValue writer puts a value over AWSCURRENT whose pendingRevocationKeys values are the secret\'s ARN and that clientId, and the stack is deleted THEN the teardown\'s alert still names the secret and the clientId', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    forbiddenForUnknown((bearer) => (bearer === initial.token ? forbidden() : undefined));
    for (let i = 0; i < 3; i++) await t.rotateWithRetries(arn);
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    expect(real.pendingRevocations).toContain(initial.clientId);
    // No read access needed: the ARN and the clientId are what the alert is to name.
    t.put(arn, {
      engine: 'AstraDB',
      roleID: real.roleID,
      rootarn: real.rootarn,
      pendingRevocationKeys: { a: arn, b: initial.clientId, c: 'secretArn', d: 'clientIds' },
    });
    const { answer, alerts } = await t.send('Delete', [arn]);
    debug('R36-C', { alerts });

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(t.namedAtAll(arn)).toContain(initial.clientId);
  });
});

describe('R36-C (the older path): astraKey and clientSecret values that are not credentials are not masked', () => {
  test('WHEN the writer instead puts astraKey = the secret\'s ARN and clientSecret = that clientId THEN the teardown\'s alert still names the secret and the clientId', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    forbiddenForUnknown((bearer) => (bearer === initial.token ? forbidden() : undefined));
    for (let i = 0; i < 3; i++) await t.rotateWithRetries(arn);
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, astraKey: arn, clientSecret: initial.clientId });
    const { answer, alerts } = await t.send('Delete', [arn]);
    debug('R36-C2', { alerts });

    expect(answer.Status).toBe('SUCCESS');
    expect(t.namedAtAll(arn)).toContain(initial.clientId);
  });
});
