import { clockAhead, forbidden, forbiddenForUnknown, forgedKeyOf, outcomeOf, useTeardownHarness } from './teardown-harness';
import { POLICY_TAG } from '../support/harness';

/*
 * The thirty-eighth adversarial review's cases (of c5fafb2): a retry within the recheck window counts every version the
 * record names as a stage before the promotion, so a key carried for a debt (a writer's, or the function's own after a
 * deferral) does not take the debt off the list (A). Its B (a writer's forged stage token named among the step's own
 * failed revocations within the window) is a documented limit. `R38_DEBUG=1` prints the WARN/ERROR lines and alerts.
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => jest.restoreAllMocks());

const debug = (label: string, extra: unknown = {}) => {
  if (!process.env.R38_DEBUG) return;
  process.stderr.write(`${label} ${JSON.stringify(extra)} ${JSON.stringify(h.lines().filter((l) => l.level !== 'INFO' || l.alert))}\n`);
};


describe('R38-A: a writer\'s forged carried key for a stage token takes it out of the retry\'s stages (R36-B again)', () => {
  test('WHEN a PutSecretValue writer puts over an IMMEDIATELY admin-minted secret a value carrying a forged key for its bootstrap token (pendingRevocationKeys), Astra answers 403 to unknown tokens, the promoting finishSecret fails after the promotion (a token-list fault: as a kill there), and its retry, at once, meets a passing 403 triple on the bootstrap token THEN the retry does not complete while the owed token is live', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    t.stack.adopt(arn, 'Secret');
    let passing403 = false;
    forbiddenForUnknown((b) => (passing403 && b === initial.token ? forbidden() : undefined));
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, pendingRevocationKeys: { [initial.clientId]: forgedKeyOf(initial.clientId) } });
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    const pending = JSON.parse(h.sm.valueOf(arn, token)!);
    h.astra.fail({ method: 'GET', path: /clientIdSecrets$/, times: 3 });
    const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
    h.astra.faults = [];
    passing403 = true;
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    passing403 = false;
    const carriedKey = pending.pendingRevocationKeys?.[initial.clientId];
    debug('R38-A', { outcomes, carriedIsReal: carriedKey === initial.token, carried: h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocations });

    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(token);
    expect(outcomes[0]).not.toBe('completed');
    expect(outcomes[1] === 'completed' && h.astra.isLive(initial.clientId)).toBe(false);
  });

  test('WHEN a PutSecretValue writer puts over an AT_NEXT_ROTATION admin-minted secret a value carrying a forged key for its bootstrap token (pendingRevocationKeys), Astra answers 403 to unknown tokens, the promoting finishSecret fails after the promotion (a token-list fault: as a kill there), and its retry, at once, meets a passing 403 triple on the bootstrap token THEN the retry does not complete while the owed token is live', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'AT_NEXT_ROTATION' });
    t.stack.adopt(arn, 'Secret');
    let passing403 = false;
    forbiddenForUnknown((b) => (passing403 && b === initial.token ? forbidden() : undefined));
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, pendingRevocationKeys: { [initial.clientId]: forgedKeyOf(initial.clientId) } });
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    const pending = JSON.parse(h.sm.valueOf(arn, token)!);
    h.astra.fail({ method: 'GET', path: /clientIdSecrets$/, times: 3 });
    const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
    h.astra.faults = [];
    passing403 = true;
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    passing403 = false;
    const carriedKey = pending.pendingRevocationKeys?.[initial.clientId];
    debug('R38-A-atnext', { outcomes, carriedIsReal: carriedKey === initial.token, carried: h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocations });

    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(token);
    expect(outcomes[0]).not.toBe('completed');
    expect(outcomes[1] === 'completed' && h.astra.isLive(initial.clientId)).toBe(false);
  });

  test('(control) WHEN the same without the writer\'s put THEN the retry does not complete while the owed token is live', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    t.stack.adopt(arn, 'Secret');
    let passing403 = false;
    forbiddenForUnknown((b) => (passing403 && b === initial.token ? forbidden() : undefined));
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    h.astra.fail({ method: 'GET', path: /clientIdSecrets$/, times: 3 });
    const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
    h.astra.faults = [];
    passing403 = true;
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    passing403 = false;
    debug('R38-A-control', { outcomes });
    expect(outcomes[0]).not.toBe('completed');
    expect(outcomes[1] === 'completed' && h.astra.isLive(initial.clientId)).toBe(false);
  });
});

describe('R38-A without a writer: a stage token deferred in createSecret\'s own sweep is carried with its key, and a retry does not count its version', () => {
  test('WHEN an IMMEDIATELY admin-minted secret\'s bootstrap token was carried by R37-A\'s documented limit (a retry after the window), the next rotation\'s createSecret meets a passing 403 triple on it (now AWSPREVIOUS, owed by this promotion), the promoting finishSecret fails after the promotion (a token-list fault) and its retry, at once, meets a passing 403 triple THEN the retry does not complete while the owed token is live', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    t.stack.adopt(arn, 'Secret');
    let passing403 = false;
    forbiddenForUnknown((b) => (passing403 && b === initial.token ? forbidden() : undefined));
    let offset = 0;
    clockAhead(() => offset);
    const first = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, first);
    passing403 = true;
    const firstOutcomes = [await outcomeOf(h.step('finishSecret', arn, first))];
    offset = 25 * 60 * 1000;
    firstOutcomes.push(await outcomeOf(h.step('finishSecret', arn, first)));
    passing403 = false;
    offset = 0;
    expect(firstOutcomes[1]).toBe('completed');
    expect(h.astra.isLive(initial.clientId)).toBe(true);

    const token = h.sm.startRotation(arn);
    passing403 = true;
    await h.step('createSecret', arn, token);
    passing403 = false;
    for (const step of ['setSecret', 'testSecret']) await h.step(step, arn, token);
    const pending = JSON.parse(h.sm.valueOf(arn, token)!);
    h.astra.fail({ method: 'GET', path: /clientIdSecrets$/, times: 3 });
    const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
    h.astra.faults = [];
    passing403 = true;
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    passing403 = false;
    debug('R38-A-nowriter', { firstOutcomes, outcomes, keyed: pending.pendingRevocationKeys?.[initial.clientId] === initial.token });

    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(token);
    expect(outcomes[0]).not.toBe('completed');
    expect(outcomes[1] === 'completed' && h.astra.isLive(initial.clientId)).toBe(false);
  });
});
