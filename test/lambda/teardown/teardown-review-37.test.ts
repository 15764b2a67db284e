import { clockAhead, forbidden, forbiddenForUnknown, forgedKeyOf, outcomeOf, useTeardownHarness } from './teardown-harness';
import { AstraClient } from '../../../lambda/clients/astra-client';
import { APP_ROLE } from '../support/fake-astra';
import { POLICY_TAG } from '../support/harness';

/*
 * The thirty-seventh adversarial review's cases (of 3988909): the recheck window reads Astra's ZonedDateTime form (A;
 * a promotion more than 20 minutes after the mint is a documented limit); a version's own key is judged before a
 * carried copy, so a writer's carried key does not move a stage deferral off the stage (B); an unreadable version
 * fails retries only within the window (C). `R37_DEBUG=1` prints the WARN/ERROR lines and the alerts.
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => jest.restoreAllMocks());

const debug = (label: string, extra: unknown = {}) => {
  if (!process.env.R37_DEBUG) return;
  process.stderr.write(`${label} ${JSON.stringify(extra)} ${JSON.stringify(h.lines().filter((l) => l.level !== 'INFO' || l.alert))}\n`);
};


describe('R37-A: a mint time in Java\'s ZonedDateTime form still opens the recheck window', () => {
  test('WHEN Astra\'s mint answer names generatedOn in a form Date.parse cannot read (Java\'s ZonedDateTime form, 2026-12-04T19:06:44.957+00:00[UTC]) and the R36-B scenario follows at once THEN the retry does not complete while the owed token is live', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    let passing403 = false;
    forbiddenForUnknown((b) => (passing403 && b === initial.token ? forbidden() : undefined));
    const mint = AstraClient.prototype.mint;
    jest.spyOn(AstraClient.prototype, 'mint').mockImplementation(async function (this: AstraClient, ...args: Parameters<AstraClient['mint']>) {
      const minted = await mint.apply(this, args);
      return { ...minted, generatedOn: new Date().toISOString().replace('Z', '+00:00[UTC]') };
    });
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    h.astra.fail({ method: 'GET', path: /clientIdSecrets$/, times: 3 });
    const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
    h.astra.faults = [];
    passing403 = true;
    outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    passing403 = false;
    debug('R37-A2', { outcomes, generatedOn: h.sm.valueAt(arn, 'AWSCURRENT').generatedOn });

    expect(outcomes[0]).not.toBe('completed');
    expect(outcomes[1] === 'completed' && h.astra.isLive(initial.clientId)).toBe(false);
  });
});

describe('R37-B: a writer\'s forged key for a stage token, judged first, moves its deferral off the stage', () => {
  test('WHEN an IMMEDIATELY admin-minted secret\'s bootstrap token is pushed to AWSPREVIOUS by a PutSecretValue writer whose value carries a forged key for it (pendingRevocationKeys), Astra answers 403 to unknown tokens, and at the promoting finishSecret Astra answers 403 to the bootstrap token\'s check, revocation and check (a passing 403 pair) THEN the promoting call does not complete while that stage token is live', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    t.stack.adopt(arn, 'Secret');
    let passing403 = false;
    forbiddenForUnknown((b) => (passing403 && b === initial.token ? forbidden() : undefined));
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    // No read access needed: the clientId is on the org's token list, the rest is the construct's.
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, pendingRevocationKeys: { [initial.clientId]: forgedKeyOf(initial.clientId) } });
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    const pending = h.sm.valueOf(arn, token)!;
    passing403 = true;
    const outcome = await outcomeOf(h.step('finishSecret', arn, token));
    passing403 = false;
    const liveAfterFinish = h.astra.isLive(initial.clientId);
    const carried = h.sm.valueAt(arn, 'AWSCURRENT');
    debug('R37-B', { outcome, liveAfterFinish, pending: JSON.parse(pending).pendingRevocationKeys, carried: carried.pendingRevocations });

    // The bootstrap token was AWSPREVIOUS before the promotion, which under IMMEDIATELY owes it now (the stage rule).
    expect(outcome === 'completed' && liveAfterFinish).toBe(false);
  });
});

describe('R37-C: a retry counts an unkeyed claim\'s version as a stage, and an unread one fails every retry', () => {
  test('WHEN the secret\'s KMS key was changed (its unlabelled versions undecryptable), a PutSecretValue writer names a live clientId with a hint to such a version, and the next rotation\'s promoting finishSecret fails after the promotion (a passing token-list fault: as a kill there) THEN a retry of finishSecret still completes (within the recheck window, or after it)', async () => {
    const arn = await t.rotatedAdminSecret();
    await h.rotate(arn);
    const labelled = new Set([h.sm.versionWith(arn, 'AWSCURRENT'), h.sm.versionWith(arn, 'AWSPREVIOUS')]);
    const old = [...h.sm.secrets.get(arn)!.versions.keys()].filter((v) => !labelled.has(v));
    t.undecryptable(() => old);
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, pendingRevocations: [victim.clientId], pendingRevocationVersions: { [victim.clientId]: old[0] } });

    let offset = 0;
    clockAhead(() => offset);
    const token = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, token);
    h.astra.fail({ method: 'GET', path: /clientIdSecrets$/, times: 3 });
    const outcomes = [await outcomeOf(h.step('finishSecret', arn, token))];
    h.astra.faults = [];
    for (let i = 0; i < 3; i++) outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    // Secrets Manager reattempts the rotation later (hours, days): the same version's finishSecret.
    offset = 24 * 60 * 60 * 1000;
    for (let i = 0; i < 3; i++) outcomes.push(await outcomeOf(h.step('finishSecret', arn, token)));
    const carried = h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocationVersions;
    // (Only where Secrets Manager starts a new version instead of reattempting this one: printed, not asserted.)
    const fresh = process.env.R37_DEBUG ? await outcomeOf(h.rotate(arn)) : 'not tried';
    debug('R37-C', { outcomes, carried, fresh });

    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(token);
    expect(h.astra.isLive(victim.clientId)).toBe(true);
    expect(outcomes.slice(1)).toContain('completed');
  });
});
