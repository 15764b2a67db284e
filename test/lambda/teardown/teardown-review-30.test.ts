import { useTeardownHarness } from './teardown-harness';
import { AstraClient } from '../../../lambda/clients/astra-client';
import { AstraApiError } from '../../../lambda/logging/errors';
import { APP_ROLE } from '../support/fake-astra';

/*
 * The thirtieth adversarial review's cases: a 403 to the possession check from a key a control cannot copy (A), a list
 * read again after the deletion that fails (B) and forged pushed-out pairs (C). Its E (earlier versions' keys too long
 * for a request) is one case of teardown-review-29's F4.
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => jest.restoreAllMocks());

/** Every clientId any TokensLeftLiveOnDeletion alert names so far. */
const namedInAlerts = () => h.lines().filter((l) => l.alert === 'TokensLeftLiveOnDeletion')
  .flatMap((l) => [...l.clientIds ?? [], ...l.notProvenClientIds ?? []]);

/** A well-formed token as Astra issues it: AstraCS, the clientId, and a 64-hex secret. */
const WELL_FORMED = /^AstraCS:[A-Za-z0-9]+:[0-9a-f]{64}$/;

/**
 * An edge in front of Astra that checks a bearer's shape before Astra checks the token: 403 to a bearer that is not a
 * well-formed AstraCS token (as an API gateway answers 403 to a malformed Authorization), Astra's own answer otherwise
 * (the emulator: 401 to a well-formed token it does not know). DataStax documents 403 on these paths, and a proxy may
 * answer 403 to anything.
 */
const shapeCheckingEdge = () => {
  const original = AstraClient.prototype.currentOrg;
  jest.spyOn(AstraClient.prototype, 'currentOrg').mockImplementation(async function (this: AstraClient, bearer: string) {
    if (!WELL_FORMED.test(bearer)) throw new AstraApiError('token test (GET /v2/currentOrg)', 403, 'HTTP 403: forbidden');
    return original.call(this, bearer);
  });
};

describe('A: the control probe mimics one token shape; a forged key of another shape gets a different answer', () => {
  test.each([
    ['AstraCS:<victim>:<short non-hex secret>', (victim: string) => ({ astraKey: `AstraCS:${victim}:Zz`, clientID: victim })],
    ['a key in no Astra form, with the victim in clientID', (victim: string) => ({ astraKey: 'not-a-token', clientID: victim })],
  ])('WHEN a writer puts %s in an admin-minted secret and the edge answers 403 to malformed bearers THEN that team\'s token stays live', async (_what, forged) => {
    const arn = t.stack.adopt(await t.rotatedAdminSecret(), 'Secret');
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    t.put(arn, { ...real, ...forged(victim.clientId), clientSecret: 'x' });
    shapeCheckingEdge();

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(victim.clientId)).toBe(true);
  });

  test('control: the same forged value where the edge answers every bearer as Astra does leaves that team\'s token live', async () => {
    const arn = t.stack.adopt(await t.rotatedAdminSecret(), 'Secret');
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    t.put(arn, { ...real, astraKey: `AstraCS:${victim.clientId}:Zz`, clientID: victim.clientId, clientSecret: 'x' });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(victim.clientId)).toBe(true);
  });
});

describe('B: a re-read after the deletion that fails drops what the list in hand showed', () => {
  test('WHEN a rotation\'s AWSPENDING token is listed before the deletion and every re-read answers 5xx THEN that token is revoked, or named in an alert', async () => {
    const [arn] = await t.rotatedTwice(1);
    // A rotation under way: its createSecret stored a marked token as AWSPENDING, which no stage the teardown reads holds.
    const version = h.sm.startRotation(arn);
    await h.step('createSecret', arn, version);
    const pending = h.sm.valueOf(arn, version) as string;
    const pendingId = JSON.parse(pending).clientID as string;
    expect(t.liveMarked(arn)).toContain(pendingId);
    // The first list (prime, before the deletion) answers; every list after it fails (an outage that began then).
    h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 503, after: 1, times: 1_000 });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect({ live: h.astra.isLive(pendingId), named: namedInAlerts().includes(pendingId) }).not.toEqual({ live: true, named: false });
  });

  test('control: with no fault the AWSPENDING token is revoked', async () => {
    const [arn] = await t.rotatedTwice(1);
    const version = h.sm.startRotation(arn);
    await h.step('createSecret', arn, version);
    const pendingId = JSON.parse(h.sm.valueOf(arn, version) as string).clientID as string;

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(pendingId)).toBe(false);
  });
});

describe('held C1: forged pushed-out pairs of a secret with a sibling of its org (the sibling\'s re-read comes first)', () => {
  /**
   * The writer (PutSecretValue only) puts AstraCS:<the secret's own clientId>:<garbage> for each of the secret's live
   * tokens, then two dead tokens over both stages: the forged pairs are the newest earlier versions, so they are the
   * ones escrowed for those clientIds (readPushedOut keeps the first of each clientId).
   */
  const forgeOver = (arn: string, own: string[]) => {
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    for (const clientId of own) t.put(arn, { ...real, astraKey: `AstraCS:${clientId}:${'0'.repeat(64)}`, clientID: clientId, clientSecret: 'x', pendingRevocations: [] });
    for (let i = 0; i < 2; i++) t.put(arn, { ...t.withToken(real, t.deadToken()), pendingRevocations: [] });
  };

  test.each([['1'], ['4']])('WHEN the turns run %s at once THEN every live token marked as the deleted secret\'s is revoked or named in an alert', async (turns) => {
    process.env.TEARDOWN_TURNS_AT_ONCE = turns;
    const [leaving, sibling] = await t.rotatedTwice(2);
    const own = t.liveMarked(leaving);
    expect(own.length).toBeGreaterThanOrEqual(2);
    forgeOver(leaving, own);

    const { answer, alerts } = await t.send('Delete', [leaving, sibling]);
    if (process.env.REVIEW30_DEBUG) process.stdout.write(`${JSON.stringify({ own, live: own.map((c) => h.astra.isLive(c)) })}\n${h.lines().filter((l) => l.step === 'teardown').map((l) => JSON.stringify(l)).join('\n')}\n`);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.sm.secrets.has(leaving)).toBe(false);
    expect({ liveAndUnnamed: t.unreported([leaving], own, alerts), reason: answer.Reason })
      .toEqual({ liveAndUnnamed: [], reason: expect.any(String) });
  });
});

describe('held C2: the same forged pairs over a self-rotating admin, deleted in its own turn after its minted secrets\' re-reads', () => {
  test('WHEN root (self-rotating, rotated twice) mints for mid and leaf, and a writer forges pairs for root\'s own tokens and puts two dead values over it THEN root\'s live tokens are revoked or named', async () => {
    const { root, mid, leaf } = await t.chainOf();
    await h.rotate(root);
    await h.rotate(root);
    const own = t.liveMarked(root);
    expect(own.length).toBeGreaterThanOrEqual(2);
    const real = h.sm.valueAt(root, 'AWSCURRENT');
    for (const clientId of own) t.put(root, { ...real, astraKey: `AstraCS:${clientId}:${'0'.repeat(64)}`, clientID: clientId, clientSecret: 'x', pendingRevocations: [] });
    for (let i = 0; i < 2; i++) t.put(root, { ...t.withToken(real, t.deadToken()), pendingRevocations: [] });

    const n = h.astra.requests.length;
    const { answer, alerts } = await t.send('Delete', [root, mid, leaf]);
    if (process.env.REVIEW30_DEBUG) process.stdout.write(`${h.astra.requests.slice(n).map((r) => `${r.method} ${r.path} ${r.status} ${r.bearerClientId}`).join('\n')}\n`);
    if (process.env.REVIEW30_DEBUG) process.stdout.write(`${JSON.stringify({ own, live: own.map((c) => h.astra.isLive(c)) })}\n${h.lines().filter((l) => l.step === 'teardown').map((l) => JSON.stringify(l)).join('\n')}\n`);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.sm.secrets.has(root)).toBe(false);
    expect({ liveAndUnnamed: t.unreported([root], own, alerts), reason: answer.Reason }).toEqual({ liveAndUnnamed: [], reason: expect.any(String) });
  });
});

describe('C3: a forged pushed-out pair whose own list read answers 401 counts the real clientId as revoked here', () => {
  test('WHEN a writer forges AstraCS:<own clientId>:<garbage> for each of a lone self-rotating secret\'s live tokens, then puts two dead values over it THEN those live tokens are revoked or named', async () => {
    const [leaving] = await t.rotatedTwice(1);
    const own = t.liveMarked(leaving);
    expect(own.length).toBeGreaterThanOrEqual(2);
    const real = h.sm.valueAt(leaving, 'AWSCURRENT');
    for (const clientId of own) t.put(leaving, { ...real, astraKey: `AstraCS:${clientId}:${'0'.repeat(64)}`, clientID: clientId, clientSecret: 'x', pendingRevocations: [] });
    for (let i = 0; i < 2; i++) t.put(leaving, { ...t.withToken(real, t.deadToken()), pendingRevocations: [] });

    const { answer, alerts } = await t.send('Delete', [leaving]);
    if (process.env.REVIEW30_DEBUG) process.stdout.write(`${JSON.stringify({ own, live: own.map((c) => h.astra.isLive(c)) })}\n${h.lines().filter((l) => l.step === 'teardown').map((l) => JSON.stringify(l)).join('\n')}\n`);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.sm.secrets.has(leaving)).toBe(false);
    expect({ liveAndUnnamed: t.unreported([leaving], own, alerts) }).toEqual({ liveAndUnnamed: [] });
  });
});
