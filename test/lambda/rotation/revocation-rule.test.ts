import { randomBytes } from 'node:crypto';
import { AstraClient, AstraClientEntry } from '../../../lambda/clients/astra-client';
import { readConfig } from '../../../lambda/clients/config';
import { TimeBudget } from '../../../lambda/clients/time-budget';
import { Redactor } from '../../../lambda/logging/redact';
import { ownershipMark } from '../../../lambda/rotation/ownership-mark';
import { judgeRevocations, TokenLookup } from '../../../lambda/rotation/revocation-rule';
import { ADMIN_ROLE, APP_ROLE } from '../support/fake-astra';
import { useHarness, POLICY_TAG, STEPS } from '../support/harness';

const h = useHarness();

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf';
const client = () => new AstraClient(readConfig(process.env), new Redactor(), TimeBudget.of(undefined, 0, 60_000));
const entry = (clientId: string, description = ''): AstraClientEntry => ({ clientId, roles: [APP_ROLE], description });
const lookup = (tokens: Record<string, string>): TokenLookup => ({
  tokensOf: async (clientId: string) => (tokens[clientId] ? [{ token: tokens[clientId], versionId: 'v-held' }] : []),
});
/** What a value writer puts in astraKey for a clientId it knows but whose secret it does not hold. */
const forgedKey = (clientId: string) => `AstraCS:${clientId}:${randomBytes(32).toString('hex')}`;
/** A version id in Secrets Manager's form that no version of the secret has. */
const NO_SUCH_VERSION = '6f1c1c52-0000-4000-8000-000000000000';

describe('judgeRevocations: the rule every revoking path obeys', () => {
  test('GIVEN a token Astra lists with this secret\'s mark WHEN judged THEN it is revocable without any call', async () => {
    const before = h.astra.requests.length;
    const verdict = await judgeRevocations(client(), ['c1'], { secretArn: ARN, listed: [entry('c1', ownershipMark(ARN, 'v1'))] });
    expect(verdict).toEqual({ revocable: ['c1'], refused: [], unchecked: [], revokedByItself: [] });
    expect(h.astra.requests.length).toBe(before);
  });

  test('GIVEN a token marked for another secret and no held token WHEN judged THEN it is refused', async () => {
    const other = ownershipMark(`${ARN}x`, 'v1');
    const verdict = await judgeRevocations(client(), ['c1'], { secretArn: ARN, listed: [entry('c1', other)] });
    expect(verdict.revocable).toEqual([]);
    expect(verdict.refused).toEqual([{ clientId: 'c1', why: expect.stringMatching(/does not list it with this secret's mark, and no version of the secret holds its full token/) }]);
  });

  test('GIVEN a candidate the list does not show WHEN judged THEN it is dropped: nothing to revoke', async () => {
    const verdict = await judgeRevocations(client(), ['gone'], { secretArn: ARN, listed: [] });
    expect(verdict).toEqual({ revocable: [], refused: [], unchecked: [], revokedByItself: [] });
  });

  test('GIVEN no list WHEN a token this invocation minted is judged THEN it is revocable (Astra answered its full token)', async () => {
    const verdict = await judgeRevocations(client(), ['minted'], { secretArn: ARN, proven: ['minted'] });
    expect(verdict.revocable).toEqual(['minted']);
  });

  test('GIVEN an unmarked live token whose full token a version holds WHEN it authenticates THEN it is revocable', async () => {
    const bootstrap = h.astra.issue([ADMIN_ROLE], 'bootstrap');
    const verdict = await judgeRevocations(client(), [bootstrap.clientId], {
      secretArn: ARN, listed: [entry(bootstrap.clientId)], held: lookup({ [bootstrap.clientId]: bootstrap.token }),
    });
    expect(verdict.revocable).toEqual([bootstrap.clientId]);
    expect(h.astra.requests.map((r) => `${r.method} ${r.path} ${r.bearerClientId}`)).toEqual([`GET /v2/currentOrg ${bootstrap.clientId}`]);
  });

  test('GIVEN an unmarked live token held only as a forgery WHEN it does not authenticate THEN it is refused, naming the version', async () => {
    const victim = h.astra.issue([APP_ROLE], 'another team');
    const verdict = await judgeRevocations(client(), [victim.clientId], {
      secretArn: ARN, listed: [entry(victim.clientId)], held: lookup({ [victim.clientId]: forgedKey(victim.clientId) }),
    });
    expect(verdict.revocable).toEqual([]);
    expect(verdict.refused).toEqual([{ clientId: victim.clientId, why: expect.stringMatching(/held in version v-held does not authenticate \(HTTP 401\)/) }]);
  });

  test('GIVEN Astra answers the possession check 403 WHEN the held token is genuine THEN it revokes itself: proven and revoked at once', async () => {
    const bootstrap = h.astra.issue([ADMIN_ROLE], 'bootstrap');
    h.astra.fail({ method: 'GET', path: /currentOrg/, status: 403, times: 1 });
    const verdict = await judgeRevocations(client(), [bootstrap.clientId], {
      secretArn: ARN, listed: [entry(bootstrap.clientId)], held: lookup({ [bootstrap.clientId]: bootstrap.token }),
    });
    expect(verdict).toEqual({ revocable: [], refused: [], unchecked: [], revokedByItself: [bootstrap.clientId] });
    expect(h.astra.isLive(bootstrap.clientId)).toBe(false);
    expect(h.astra.requests.map((r) => `${r.method} ${r.path.replace(bootstrap.clientId, '<c>')} ${r.bearerClientId === bootstrap.clientId}`))
      .toEqual(['GET /v2/currentOrg true', 'DELETE /v2/clientIdSecrets/<c> true']);
  });

  test('GIVEN Astra answers the possession check 403 once WHEN the held token is genuine but its role may not revoke tokens THEN the check asked again shows it', async () => {
    const app = h.astra.issue([APP_ROLE], 'an app token');
    h.astra.fail({ method: 'GET', path: /currentOrg/, status: 403, times: 1 });
    const verdict = await judgeRevocations(client(), [app.clientId], {
      secretArn: ARN, listed: [entry(app.clientId)], held: lookup({ [app.clientId]: app.token }),
    });
    expect(verdict).toEqual({ revocable: [app.clientId], refused: [], unchecked: [], revokedByItself: [] });
  });

  test.each([
    ['403 to its possession check (a passing fault, or an edge)', 1, 0, /held in version v-held does not authenticate \(HTTP 401\)/],
    ['403 to its check, twice, and to its own revocation (an edge that blocks that key)', 2, 1, /403, to its own revocation too, and again to the check; left live/],
    ['403 to its check and its own revocation, then a passing 401', 1, 1, /does not authenticate \(HTTP 401\)/],
  ])('GIVEN a forged key of another team\'s clientId answered %s WHEN judged THEN nothing is revoked', async (_what, checks, revocations, why) => {
    const victim = h.astra.issue([APP_ROLE], 'another team');
    h.astra.fail({ method: 'GET', path: /currentOrg/, status: 403, times: checks });
    if (revocations) h.astra.fail({ method: 'DELETE', path: /clientIdSecrets/, status: 403, times: revocations });
    const verdict = await judgeRevocations(client(), [victim.clientId], {
      secretArn: ARN, listed: [entry(victim.clientId)], held: lookup({ [victim.clientId]: forgedKey(victim.clientId) }),
    });
    expect(h.astra.isLive(victim.clientId)).toBe(true);
    expect(verdict).toMatchObject({
      revocable: [], unchecked: [], revokedByItself: [], refused: [{ clientId: victim.clientId, why: expect.stringMatching(why) }],
    });
    expect(verdict.refused[0].recheckIn).toBe(checks === 2 ? 'v-held' : undefined);
  });

  test('GIVEN the possession check answered 403 and the token\'s own revocation unanswered (503) WHEN judged THEN it is unchecked', async () => {
    const bootstrap = h.astra.issue([ADMIN_ROLE], 'bootstrap');
    h.astra.fail({ method: 'GET', path: /currentOrg/, status: 403, times: 1 });
    h.astra.fail({ method: 'DELETE', path: /clientIdSecrets/, status: 503, times: 10 });
    const verdict = await judgeRevocations(client(), [bootstrap.clientId], {
      secretArn: ARN, listed: [entry(bootstrap.clientId)], held: lookup({ [bootstrap.clientId]: bootstrap.token }),
    });
    expect(verdict).toMatchObject({ revocable: [], refused: [], unchecked: [{ clientId: bootstrap.clientId }], revokedByItself: [] });
  });

  test('GIVEN the version named as holding a token cannot be read WHEN judged THEN it is refused, carried with that version, and not a failure', async () => {
    const bootstrap = h.astra.issue([ADMIN_ROLE], 'bootstrap');
    const held: TokenLookup = {
      tokensOf: async () => [],
      lostVersionOf: () => ({ versionId: NO_SUCH_VERSION, why: `version ${NO_SUCH_VERSION}, named as holding its full token, could not be read (throttled)`, unread: true }),
    };
    const verdict = await judgeRevocations(client(), [bootstrap.clientId], { secretArn: ARN, listed: [entry(bootstrap.clientId)], held });
    expect(verdict).toMatchObject({ revocable: [], unchecked: [], refused: [{ clientId: bootstrap.clientId, recheckIn: NO_SUCH_VERSION, unread: true, why: expect.stringMatching(/could not be read \(throttled\); left live, and carried as a claim/) }] });
  });

  test('GIVEN possession cannot be checked (503) WHEN judged THEN the token is unchecked, neither revoked nor refused', async () => {
    const bootstrap = h.astra.issue([ADMIN_ROLE], 'bootstrap');
    h.astra.fail({ method: 'GET', path: /currentOrg/, status: 503, times: 10 });
    const verdict = await judgeRevocations(client(), [bootstrap.clientId], {
      secretArn: ARN, listed: [entry(bootstrap.clientId)], held: lookup({ [bootstrap.clientId]: bootstrap.token }),
    });
    expect(verdict.revocable).toEqual([]);
    expect(verdict.refused).toEqual([]);
    expect(verdict.unchecked).toEqual([{ clientId: bootstrap.clientId, why: expect.stringMatching(/possession could not be checked: .*HTTP 503/) }]);
  });
});

describe('a value writer cannot make the function revoke another team\'s token', () => {
  /** Replaces AWSCURRENT as anyone with PutSecretValue can: the old AWSCURRENT becomes AWSPREVIOUS. */
  function writeCurrent(arn: string, change: (value: Record<string, unknown>) => Record<string, unknown>): void {
    const current = h.sm.versionWith(arn, 'AWSCURRENT')!;
    const previous = h.sm.versionWith(arn, 'AWSPREVIOUS');
    const value = JSON.parse(h.sm.valueOf(arn, current)!);
    h.sm.addVersion(arn, JSON.stringify(change(value)), ['AWSCURRENT']);
    h.sm.secrets.get(arn)!.versions.get(current)!.stages.add('AWSPREVIOUS');
    if (previous && previous !== current) h.sm.secrets.get(arn)!.versions.get(previous)!.stages.delete('AWSPREVIOUS');
  }

  const refusedIn = (clientId: string) => h.lines().filter((l) => l.revocationsRefused?.some((r: { clientId: string }) => r.clientId === clientId));

  test.each(['IMMEDIATELY', 'AT_NEXT_ROTATION'])('GIVEN admin mode, %s, and a forged astraKey/clientID WHEN the secret rotates twice THEN the other team\'s token stays live and a WARN line says why', async (policy) => {
    const { arn } = h.adminSecret({}, { [POLICY_TAG]: policy });
    await h.rotate(arn);
    const victim = h.astra.issue([APP_ROLE], 'another team');
    writeCurrent(arn, (v) => ({ ...v, astraKey: forgedKey(victim.clientId), clientID: victim.clientId }));
    await h.rotate(arn);
    await h.rotate(arn);
    expect(h.astra.isLive(victim.clientId)).toBe(true);
    expect(h.astra.isLive(h.sm.valueAt(arn, 'AWSCURRENT').clientID)).toBe(true);
    const lines = refusedIn(victim.clientId);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({ level: 'WARN', secretArn: arn });
    expect(lines[0].revocationsRefused[0].why).toMatch(/does not authenticate \(HTTP 401\)/);
  });

  test.each(['IMMEDIATELY', 'AT_NEXT_ROTATION'])('GIVEN %s and the owed list extended with another team\'s clientId (its version hint pointing at a real version) WHEN the secret rotates THEN that token stays live', async (policy) => {
    const { arn } = h.adminSecret({}, { [POLICY_TAG]: policy });
    await h.rotate(arn);
    const victim = h.astra.issue([ADMIN_ROLE], 'another team\'s admin');
    const someVersion = h.sm.versionWith(arn, 'AWSCURRENT')!;
    writeCurrent(arn, (v) => ({
      ...v,
      pendingRevocations: [...v.pendingRevocations as string[], victim.clientId],
      pendingRevocationVersions: { [victim.clientId]: someVersion },
    }));
    const version = h.sm.startRotation(arn);
    for (const step of STEPS) await h.step(step, arn, version);
    expect(h.astra.isLive(victim.clientId)).toBe(true);
    expect(refusedIn(victim.clientId)[0]).toMatchObject({ level: 'WARN', step: 'createSecret' });
  });

  test('GIVEN a self-rotating secret and a forged astraKey WHEN it rotates THEN it fails before anything is minted or revoked', async () => {
    const { arn } = h.selfSecret();
    const victim = h.astra.issue([ADMIN_ROLE], 'another team');
    writeCurrent(arn, (v) => ({ ...v, astraKey: forgedKey(victim.clientId), clientID: victim.clientId }));
    const version = h.sm.startRotation(arn);
    await expect(h.step('createSecret', arn, version)).rejects.toThrow(/HTTP 401/);
    expect(h.astra.count('POST')).toBe(0);
    expect(h.astra.count('DELETE')).toBe(0);
    expect(h.astra.isLive(victim.clientId)).toBe(true);
  });
});

describe('tokens without a mark that the secret really held are still revoked', () => {
  test('GIVEN IMMEDIATELY and a bootstrap token WHEN the first rotation finishes THEN the bootstrap token is revoked after it proved itself', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    await h.rotate(arn);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    expect(h.astra.requests.some((r) => r.path === '/v2/currentOrg' && r.bearerClientId === initial.clientId)).toBe(true);
    expect(h.lastLine()).toMatchObject({ level: 'INFO', outcome: 'finished', clientIds: { revoked: [initial.clientId] } });
  });

  test('GIVEN AT_NEXT_ROTATION and a kill after the promotion that owes the bootstrap token WHEN finishSecret is retried THEN the token is found through the version the debt names', async () => {
    const { arn, initial } = h.selfSecret();
    await h.rotate(arn);
    const version = h.sm.startRotation(arn);
    for (const step of STEPS.slice(0, 3)) await h.step(step, arn, version);
    h.astra.fail({ method: 'DELETE', path: /clientIdSecrets\//, status: 503, times: 3 });
    await expect(h.step('finishSecret', arn, version)).rejects.toThrow(/HTTP 503/);
    // The bootstrap token's version has no label left: only the debt's version hint leads to its full token.
    expect(h.sm.versionWith(arn, 'AWSPREVIOUS')).not.toBeUndefined();
    expect(h.sm.valueAt(arn, 'AWSPREVIOUS').clientID).not.toBe(initial.clientId);
    await h.step('finishSecret', arn, version);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    expect(h.lastLine()).toMatchObject({ level: 'INFO', outcome: 'already-current, revocations settled' });
  });
});

describe('when the rule cannot be applied now, nothing is revoked and the step is retried', () => {
  test('GIVEN finishSecret cannot list the tokens THEN it fails after the promotion, and its retry revokes what is owed', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const version = h.sm.startRotation(arn);
    for (const step of STEPS.slice(0, 3)) await h.step(step, arn, version);
    h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 503, times: 10 });
    await expect(h.step('finishSecret', arn, version)).rejects.toThrow(/token list, which shows what is live and whose it is, could not be read/);
    expect(h.sm.versionWith(arn, 'AWSCURRENT')).toBe(version);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    h.astra.faults = [];
    await h.step('finishSecret', arn, version);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
  });

  test('GIVEN an unmarked owed token whose possession cannot be checked (503) THEN it stays live and finishSecret fails for a retry', async () => {
    const { arn, initial } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    const version = h.sm.startRotation(arn);
    for (const step of STEPS.slice(0, 3)) await h.step(step, arn, version);
    h.astra.fail({ method: 'GET', path: /currentOrg/, status: 503, times: 10 });
    await expect(h.step('finishSecret', arn, version)).rejects.toThrow(/possession could not be checked/);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(h.lastLine().clientIds.revocationFailed).toEqual([initial.clientId]);
  });

  /** A rotated IMMEDIATELY secret whose AWSCURRENT owes another team's token, held (it says) in version `hint`. */
  const owingAnotherTeamsToken = async (hint: string) => {
    const { arn } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
    await h.rotate(arn);
    const victim = h.astra.issue([APP_ROLE], 'another team');
    const current = h.sm.versionWith(arn, 'AWSCURRENT')!;
    const value = JSON.parse(h.sm.valueOf(arn, current)!);
    h.sm.secrets.get(arn)!.versions.get(current)!.value = JSON.stringify({
      ...value, pendingRevocations: [victim.clientId], pendingRevocationVersions: { [victim.clientId]: hint },
    });
    return { arn, victim };
  };

  test('GIVEN a debt whose named version is no version id (a writer\'s "x") THEN no read is sent, it is refused, and the rotation completes', async () => {
    const { arn, victim } = await owingAnotherTeamsToken('x');
    await h.rotate(arn);
    expect(h.sm.calls.filter((c) => c.operation === 'GetSecretValue' && c.input.VersionId === 'x')).toEqual([]);
    expect(h.astra.isLive(victim.clientId)).toBe(true);
  });

  test('GIVEN a debt whose named version cannot be read THEN the rotation completes and carries it with that version: nothing is revoked', async () => {
    const { arn, victim } = await owingAnotherTeamsToken(NO_SUCH_VERSION);
    h.sm.failNext('GetSecretValue', new Error('injected'), (i) => i.VersionId === NO_SUCH_VERSION);
    const version = h.sm.startRotation(arn);
    await h.rotate(arn, version);
    expect(h.astra.isLive(victim.clientId)).toBe(true);
    expect(h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocationVersions).toMatchObject({ [victim.clientId]: NO_SUCH_VERSION });
  });

  test('GIVEN a version holding another team\'s clientID beside a working key in another form (a trailing space) WHEN judged THEN it is refused: the key proves nothing about that clientId', async () => {
    const { arn, victim } = await owingAnotherTeamsToken(NO_SUCH_VERSION);
    const writers = h.astra.issue([APP_ROLE], 'the writer\'s own');
    const forged = h.sm.addVersion(arn, JSON.stringify({ engine: 'AstraDB', clientID: victim.clientId, astraKey: `${writers.token} ` }), []);
    const current = h.sm.versionWith(arn, 'AWSCURRENT')!;
    const value = JSON.parse(h.sm.valueOf(arn, current)!);
    h.sm.secrets.get(arn)!.versions.get(current)!.value = JSON.stringify({ ...value, pendingRevocationVersions: { [victim.clientId]: forged } });
    await h.rotate(arn);
    expect(h.astra.isLive(victim.clientId)).toBe(true);
  });
});
