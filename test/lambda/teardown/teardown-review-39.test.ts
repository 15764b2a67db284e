import { clockAhead, forbidden, forbiddenForUnknown, forgedKeyOf, outcomeOf, useTeardownHarness } from './teardown-harness';
import { POLICY_TAG } from '../support/harness';

/*
 * The thirty-ninth adversarial review's cases (of 4c42589): a retry counting every version the record names does not
 * stop rotation for good, nor get another secret's token revoked (what held); a call that finds its version promoted
 * before and pushed to AWSPREVIOUS by a put is judged as a retry (A). Its B (the teardown alert names tokens Astra had
 * revoked already, as claims) is a documented limit. `R39_DEBUG=1` prints the WARN/ERROR lines and the alerts.
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => jest.restoreAllMocks());

const debug = (label: string, extra: unknown = {}) => {
  if (!process.env.R39_DEBUG) return;
  process.stderr.write(`${label} ${JSON.stringify(extra)} ${JSON.stringify(h.lines().filter((l) => l.level !== 'INFO' || l.alert))}\n`);
};
describe('R39: a retry counting every named version (stagesBefore) does not stop rotation for good', () => {
  test('WHEN a carried genuine claim (R37-A) meets a steady 403 and the next rotation\'s promoting finishSecret fails (a list fault) THEN retries within the window fail, a retry after it completes, and the token is named', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    t.stack.adopt(arn, 'Secret');
    let steady403 = false;
    forbiddenForUnknown((b) => (steady403 && b === initial.token ? forbidden() : undefined));
    let offset = 0;
    clockAhead(() => offset);
    const first = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, first);
    steady403 = true;
    await outcomeOf(h.step('finishSecret', arn, first));
    offset = 25 * 60 * 1000;
    expect(await outcomeOf(h.step('finishSecret', arn, first))).toBe('completed');
    offset = 0;
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    h.astra.fail({ method: 'GET', path: /clientIdSecrets$/, times: 3 });
    const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
    h.astra.faults = [];
    offset = 5 * 60 * 1000;
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    offset = 30 * 60 * 1000;
    h.lines().length = 0;
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    debug('R39-held', { outcomes });
    expect(outcomes[0]).not.toBe('completed');
    expect(outcomes[1]).not.toBe('completed');
    expect(outcomes[2]).toBe('completed');
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(JSON.stringify(h.lines())).toContain(initial.clientId);
    // the claim is still carried to the next rotation
    expect(h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocations).toContain(initial.clientId);
  });

  test('WHEN a PutSecretValue writer puts over AWSCURRENT a value whose astraKey is a forged key of ANOTHER secret\'s live token, Astra answers 403 to unknown tokens THEN that token is never revoked, and a retry after the window completes', async () => {
    const other = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const { arn } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    t.stack.adopt(arn, 'Secret');
    forbiddenForUnknown();
    let offset = 0;
    clockAhead(() => offset);
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const victim = other.initial.clientId;
    t.put(arn, {
      engine: 'AstraDB',
      roleID: real.roleID,
      rootarn: real.rootarn,
      astraKey: forgedKeyOf(victim),
      pendingRevocations: [victim],
      pendingRevocationKeys: { [victim]: forgedKeyOf(victim) },
    });
    const outcomesByRotation: string[][] = [];
    for (let r = 0; r < 3; r++) {
      offset = r * 3 * 60 * 60 * 1000;
      const token = h.sm.startRotation(arn);
      const outcomes: string[] = [];
      for (const step of ['createSecret', 'setSecret', 'testSecret']) outcomes.push(await outcomeOf(h.step(step, arn, token)));
      outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
      offset += 25 * 60 * 1000;
      if (outcomes[3] !== 'completed') outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
      outcomesByRotation.push(outcomes);
    }
    debug('R39-other', { outcomesByRotation });
    expect(h.astra.isLive(victim)).toBe(true);
    for (const outcomes of outcomesByRotation) expect(outcomes[outcomes.length - 1]).toBe('completed');
    // and the teardown: the victim is never revoked, never named as the secret's own; the secret's own tokens are revoked
    const own = t.tokensOf(arn);
    const { answer } = await t.send('Delete', [arn]);
    debug('R39-other-teardown', { answer, victim, own, named: t.namedAtAll(arn).map((c) => [c, h.astra.isLive(c)]), issued: h.astra.everIssued.map((x) => [x.clientId, x.description, h.astra.isLive(x.clientId)]) });
    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(victim)).toBe(true);
    expect(t.namedAsOwn(arn)).not.toContain(victim);
    for (const c of own) expect(h.astra.isLive(c)).toBe(false);
  });
});

describe('R39-A: a put between the promoting finishSecret and its retry makes the retry a second "promotion" whose stages miss the owed version', () => {
  for (const policy of ['IMMEDIATELY', 'AT_NEXT_ROTATION'] as const) {
    test(`WHEN an ${policy} admin-minted secret's promoting finishSecret fails after the promotion (a token-list fault), then a PutSecretValue (an unchanged copy of AWSCURRENT's value) moves AWSCURRENT off the new version, and the retry, at once, meets a passing 403 triple on the owed bootstrap token THEN the retry does not complete while the owed token is live`, async () => {
      const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: policy });
      t.stack.adopt(arn, 'Secret');
      let passing403 = false;
      forbiddenForUnknown((b) => (passing403 && b === initial.token ? forbidden() : undefined));
      const steps: string[] = [];
      if (policy === 'AT_NEXT_ROTATION') {
        // The bootstrap token is owed only by the second promotion (AWSPREVIOUS's then).
        const first = h.sm.startRotation(arn);
        for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) steps.push(await outcomeOf(h.step(step, arn, first)));
      }
      const token = h.sm.startRotation(arn);
      for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
      const pending = JSON.parse(h.sm.valueOf(arn, token)!);
      h.astra.fail({ method: 'GET', path: /clientIdSecrets$/, times: 3 });
      const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
      h.astra.faults = [];
      expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(token);
      // Someone with PutSecretValue re-puts the secret's value as it is (e.g. a deploy script's idempotent write).
      t.put(arn, h.sm.valueAt(arn, 'AWSCURRENT'));
      passing403 = true;
      outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
      passing403 = false;
      debug('R39-A', {
        policy,
        steps,
        outcomes,
        owes: pending.pendingRevocations,
        initial: initial.clientId,
        live: h.astra.isLive(initial.clientId),
        current: h.sm.versionWith(arn, 'AWSCURRENT') === token,
      });
      expect(pending.pendingRevocations).toContain(initial.clientId);
      expect(outcomes[0]).not.toBe('completed');
      expect(outcomes[1] === 'completed' && h.astra.isLive(initial.clientId)).toBe(false);
    });
  }
});
