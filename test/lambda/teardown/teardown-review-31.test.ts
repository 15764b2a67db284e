import { forbidden, forbiddenForUnknown, useTeardownHarness } from './teardown-harness';
import { AstraClient } from '../../../lambda/clients/astra-client';
import { AstraApiError } from '../../../lambda/logging/errors';
import { APP_ROLE } from '../support/fake-astra';

/*
 * The thirty-first adversarial review's cases: a 403 that passes, then the control's 401, is no possession (the held
 * key is asked again; since review 32 no control is sent: R32's rule is in revocation-rule.ts); a key answered 403
 * everywhere is a deferred claim, neither the secret's token to revoke by hand nor a failed step; a list not read again
 * after the deletion is work left, never "revoked".
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => jest.restoreAllMocks());


describe('R31-A2: one passing 403 to a forged minted-form key is no possession', () => {
  test('WHEN a writer puts AstraCS:<another team\'s clientId>:<64 hex> in an admin-minted secret and the check of that key meets one passing 403 THEN that team\'s token stays live', async () => {
    const arn = t.stack.adopt(await t.rotatedAdminSecret(), 'Secret');
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const forged = t.forgeMinted(arn, victim.clientId);
    // A passing 403 (an edge's throttle or WAF block, the soak's "passing 403") to the first check of the forged key only;
    // Astra answers everything else itself (401 to the forged key and to the control alike).
    let passed = false;
    const original = AstraClient.prototype.currentOrg;
    jest.spyOn(AstraClient.prototype, 'currentOrg').mockImplementation(async function (this: AstraClient, bearer: string) {
      if (bearer === forged && !passed) {
        passed = true;
        throw forbidden();
      }
      return original.call(this, bearer);
    });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(passed).toBe(true);
    expect(h.astra.isLive(victim.clientId)).toBe(true);
  });
});

describe('R31-B: a re-read after the deletion that fails is work left, with the authority kept for the next read', () => {
  test('WHEN a rotation mints and stores its AWSPENDING token after the first list and the re-read after the deletion fails once with 503 THEN that token is revoked, or the secret is alerted', async () => {
    const [arn] = await t.rotatedTwice(1);
    const version = h.sm.startRotation(arn);
    let pendingId: string | undefined;
    let teardownLists = 0;
    let inStep = false;
    const original = AstraClient.prototype.listClients;
    jest.spyOn(AstraClient.prototype, 'listClients').mockImplementation(async function (this: AstraClient, bearer: string) {
      if (inStep) return original.call(this, bearer);
      teardownLists += 1;
      if (teardownLists === 1) {
        // The teardown's first list (prime): read before any deletion. A rotation's createSecret then mints and stores
        // its token as AWSPENDING, before the teardown deletes the secret.
        const listed = await original.call(this, bearer);
        inStep = true;
        try {
          await h.step('createSecret', arn, version);
        } finally {
          inStep = false;
        }
        pendingId = JSON.parse(h.sm.valueOf(arn, version) as string).clientID as string;
        return listed;
      }
      // The re-read after the deletion: one 503 (the client's own retries spent), then Astra answers.
      if (teardownLists === 2) throw new AstraApiError('token list (GET /v2/clientIdSecrets)', 503, 'HTTP 503: unavailable');
      return original.call(this, bearer);
    });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(pendingId).toBeDefined();
    expect(h.sm.secrets.has(arn)).toBe(false);
    expect({ live: h.astra.isLive(pendingId!), alerted: t.alertsOn(arn).length > 0, named: t.namedAtAll(arn).includes(pendingId!) })
      .not.toMatchObject({ live: true, alerted: false });
  });
});


describe('R31-A1: a forged key answered 403 everywhere is a claim in the teardown\'s alert', () => {
  test('WHEN Astra answers 403 to tokens it does not know, and a writer puts AstraCS:<another team\'s clientId>:<64 hex> in an admin-minted secret THEN the teardown names that clientId as a claim, not as one of the secret\'s tokens to revoke', async () => {
    const arn = t.stack.adopt(await t.rotatedAdminSecret(), 'Secret');
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    t.forgeMinted(arn, victim.clientId);
    forbiddenForUnknown();

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(victim.clientId)).toBe(true);
    expect(t.namedAsOwn(arn)).not.toContain(victim.clientId);
    expect(t.alertsOn(arn).flatMap((l) => l.notProvenClientIds ?? [])).toContain(victim.clientId);
  });
});

describe('R31-A3: a forged key answered 403 everywhere defers a writer\'s forged pending revocation; the rotation goes on', () => {
  test('WHEN Astra answers 403 to tokens it does not know, and a writer names another team\'s clientId as a pending revocation held (forged, minted form) in a version of theirs THEN only the rotation that moves on from the writer\'s values fails, the next ones complete, and that team\'s token stays live', async () => {
    const arn = await t.rotatedAdminSecret();
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    t.forgeMinted(arn, victim.clientId);
    const forgedVersion = h.sm.versionWith(arn, 'AWSCURRENT')!;
    t.put(arn, { ...real, pendingRevocations: [victim.clientId], pendingRevocationVersions: { [victim.clientId]: forgedVersion } });
    forbiddenForUnknown();

    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await h.rotate(arn).then(() => 'completed', (e: Error) => e.message.slice(0, 160)));

    // The rotation that moves on from the writer's stage values owes their tokens now (finishSecret fails after the
    // promotion, for its retries); the claim carried on is no failure after that.
    expect(outcomes[0]).toMatch(/finishSecret .* failed: the new token is AW/);
    expect(outcomes.slice(1)).toEqual(['completed', 'completed']);
    expect(h.astra.isLive(victim.clientId)).toBe(true);
    const deferred = h.lines().filter((l) => l.step === 'createSecret' && l.revocationsRefused?.some((r: { clientId: string }) => r.clientId === victim.clientId));
    expect(deferred.length).toBeGreaterThan(0);
    expect(deferred[0]).toMatchObject({ level: 'WARN', revocationsRefused: [{ why: expect.stringMatching(/403, to its own revocation too, and again to the check/) }] });
  });
});
