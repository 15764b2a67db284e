import { randomBytes } from 'node:crypto';
import { forbidden, forbiddenForUnknown, useTeardownHarness } from './teardown-harness';
import { handler } from '../../../lambda';
import { AstraClient } from '../../../lambda/clients/astra-client';
import { AstraApiError } from '../../../lambda/logging/errors';
import { MAX_HINTED_READS } from '../../../lambda/rotation/revocation-rule';
import { APP_ROLE } from '../support/fake-astra';
import { POLICY_TAG } from '../support/harness';

/*
 * The thirty-second adversarial review's cases (of d359490..d45c105), kept against the rule that replaced the control
 * token: a held key answered 403 proves itself only by revoking itself, or by a 2xx when its check is asked again
 * (revocation-rule.ts). Also: a version that cannot be read is a failed check (E), alerts come before the escrow write
 * that drops their entries (F), and planning reads at most MAX_HINTED_READS versions a value names (G).
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => jest.restoreAllMocks());

const answered = (status: number) => new AstraApiError('token test (GET /v2/currentOrg)', status, `HTTP ${status}`);

/**
 * currentOrg as Astra answers it, with `rewrite` deciding the answer to each call first (undefined: Astra's own).
 * `n` counts the calls made with that bearer so far (from 1).
 */
const currentOrgAnswers = (rewrite: (bearer: string, n: number) => Error | undefined | 'astra') => {
  const counts = new Map<string, number>();
  const original = AstraClient.prototype.currentOrg;
  jest.spyOn(AstraClient.prototype, 'currentOrg').mockImplementation(async function (this: AstraClient, bearer: string) {
    const n = (counts.get(bearer) ?? 0) + 1;
    counts.set(bearer, n);
    const fault = rewrite(bearer, n);
    if (fault instanceof Error) throw fault;
    return original.call(this, bearer);
  });
};

describe('R32-A: the held key asked again right after the control: a 403 that lasts two calls is taken as possession', () => {
  test('WHEN a writer puts AstraCS:<another team\'s clientId>:<64 hex> in an admin-minted secret, and the forged key is answered 403 for its first two calls (an edge\'s per-key block), Astra 401 otherwise THEN that team\'s token stays live', async () => {
    const arn = t.stack.adopt(await t.rotatedAdminSecret(), 'Secret');
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const forged = t.forgeMinted(arn, victim.clientId);
    currentOrgAnswers((bearer, n) => (bearer === forged && n <= 2 ? forbidden() : undefined));

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(victim.clientId)).toBe(true);
  });

  test.each([
    [401, 1], [404, 1], [400, 1], [401, 2], [404, 2], [400, 2], [401, 3], [404, 3], [400, 3],
  ])('WHEN Astra answers 403 to tokens it does not know, a writer puts AstraCS:<another team\'s clientId>:<64 hex> in an admin-minted secret, and the forged key meets one passing %i at its call #%i THEN that team\'s token stays live', async (status, at) => {
    const arn = t.stack.adopt(await t.rotatedAdminSecret(), 'Secret');
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const forged = t.forgeMinted(arn, victim.clientId);
    let passed = 0;
    forbiddenForUnknown((bearer, n) => (bearer === forged && n === at && passed++ === 0 ? answered(status) : undefined));

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(passed).toBe(1);
    expect(h.astra.isLive(victim.clientId)).toBe(true);
  });
});

describe('R32-B: the deferral carries a forged claim to every later rotation; no passing answer there revokes another team\'s token', () => {
  test('WHEN Astra answers 403 to tokens it does not know, a writer names another team\'s clientId as a pending revocation (forged key, minted form), and the fourth rotation\'s check meets one passing 401 THEN that team\'s token stays live', async () => {
    const arn = await t.rotatedAdminSecret();
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const forged = t.forgeMinted(arn, victim.clientId);
    const forgedVersion = h.sm.versionWith(arn, 'AWSCURRENT')!;
    t.put(arn, { ...real, pendingRevocations: [victim.clientId], pendingRevocationVersions: { [victim.clientId]: forgedVersion } });
    let passing = false;
    // The fourth rotation: one passing 401 on each call with the forged key, in turn.
    forbiddenForUnknown((bearer) => {
      if (passing && bearer === forged) {
        passing = false;
        return answered(401);
      }
      return undefined;
    });

    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await h.rotate(arn).then(() => 'completed', (e: Error) => e.message.slice(0, 160)));
    // Still carried after three rotations (the deferral), so the fourth judges it again.
    const carried = h.sm.valueAt(arn, 'AWSCURRENT');
    passing = true;
    outcomes.push(await h.rotate(arn).then(() => 'completed', (e: Error) => e.message.slice(0, 160)));

    expect(outcomes.slice(1, 3)).toEqual(['completed', 'completed']);
    expect(carried.pendingRevocations).toContain(victim.clientId);
    expect(h.astra.isLive(victim.clientId)).toBe(true);
  });
});

describe('R32-C and R32-D: a passing 403 to the check of the secret\'s own unmarked token', () => {
  /** The first token, in the minted form (AstraCS:<clientId>:<64 hex>), as Astra mints them; its role may not revoke tokens. */
  const initialToken = (tags: Record<string, string> = {}) => {
    const { arn, initial } = h.adminSecret({}, tags);
    t.stack.adopt(arn, 'Secret');
    expect(initial.token).toMatch(/^AstraCS:[A-Za-z0-9]{24}:[0-9a-f]{64}$/);
    return { arn, initial };
  };
  /** The first `times` checks of that token answered 403, Astra's own answer after. */
  const checksForbidden = (token: string, times: number) =>
    currentOrgAnswers((bearer, n) => (bearer === token && n <= times ? forbidden() : undefined));

  test('R32-C WHEN the teardown\'s check of an admin-minted secret\'s first (unmarked) token meets one passing 403 THEN that token is revoked, with no alert', async () => {
    const { arn, initial } = initialToken();
    checksForbidden(initial.token, 1);

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    expect(t.alertsOn(arn)).toEqual([]);
  });

  test('R32-C limit: WHEN every check of that token is answered 403 (a role that may not read its org) THEN it is left live and named in the alert, as a claim', async () => {
    const { arn, initial } = initialToken();
    checksForbidden(initial.token, Infinity);

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    expect(t.alertsOn(arn).flatMap((l) => l.notProvenClientIds ?? [])).toContain(initial.clientId);
  });

  test('R32-D WHEN an IMMEDIATELY admin-minted secret\'s finishSecret owes its first (unmarked) token and its check meets one passing 403 THEN that token is revoked by that finishSecret', async () => {
    const { arn, initial } = initialToken({ [POLICY_TAG]: 'IMMEDIATELY' });
    const version = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) await h.step(step, arn, version);
    checksForbidden(initial.token, 1);
    await h.step('finishSecret', arn, version);

    expect(h.sm.valueAt(arn, 'AWSCURRENT').clientID).not.toBe(initial.clientId);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
    expect(h.lastLine()).toMatchObject({ step: 'finishSecret', level: 'INFO', clientIds: { revoked: [initial.clientId] } });
  });
});

describe('R32-E: a failed read of the version that holds an unmarked token is a check that failed, not "no version holds it"', () => {
  test('WHEN the read of the version holding an admin-minted secret\'s first (unmarked) token fails once in the finishSecret that owes its revocation, and once in the next rotation\'s sweep, THEN the finishSecret fails for its retry, which revokes it', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    const first = h.sm.versionWith(arn, 'AWSCURRENT')!;
    const readOfFirst = (input: any) => input.VersionId === first;
    await h.rotate(arn);
    // The second rotation's finishSecret owes the first token's revocation (AT_NEXT_ROTATION), held in the first version.
    const version = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, version);
    h.sm.failNext('GetSecretValue', undefined, readOfFirst);
    // A version that cannot be read is a check that failed: the step fails, and Secrets Manager's retry revokes.
    await expect(h.step('finishSecret', arn, version)).rejects.toThrow(/named as holding its full token, could not be read/);
    expect(h.astra.isLive(initial.clientId)).toBe(true);
    await h.step('finishSecret', arn, version);
    const owed = h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocations;
    // The third rotation's sweep meets the same passing failure.
    const third = h.sm.startRotation(arn);
    h.sm.failNext('GetSecretValue', undefined, readOfFirst);
    await h.rotate(arn, third);
    const stillOwed = h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocations;
    // One more rotation, without a fault: AWSPREVIOUS no longer names it either.
    await h.rotate(arn);

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(owed).toContain(initial.clientId);
    expect(stillOwed).not.toContain(initial.clientId);
    expect(h.astra.isLive(initial.clientId)).toBe(false);
  });
});

describe('R32-E2: in the teardown, one failed read of the version a pending revocation names is read again', () => {
  test('WHEN finishSecret could not revoke an admin-minted secret\'s first (unmarked) token (Astra\'s list unavailable), and the teardown\'s read of the version that holds it fails once THEN that token is revoked, or named among the secret\'s own clientIds', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    const first = h.sm.versionWith(arn, 'AWSCURRENT')!;
    await h.rotate(arn);
    const version = h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) await h.step(step, arn, version);
    // An Astra outage through finishSecret and its retries: promoted, the revocation it owes left for later.
    h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 503, times: 1_000 });
    await expect(h.step('finishSecret', arn, version)).rejects.toThrow();
    h.astra.faults = [];
    expect(h.sm.valueAt(arn, 'AWSCURRENT').pendingRevocations).toContain(initial.clientId);
    h.sm.failNext('GetSecretValue', undefined, (input: any) => input.VersionId === first);

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    const own = t.alertsOn(arn).flatMap((l) => l.clientIds ?? []);
    expect({ live: h.astra.isLive(initial.clientId), namedAsOwn: own.includes(initial.clientId) }).not.toEqual({ live: true, namedAsOwn: false });
  });
});

describe('R32-F: a claim is not work left, so its alert is written before the escrow write that drops its entry', () => {
  const never = <T>() => new Promise<T>(() => undefined);
  /** Lambda stops the invocation right after its n-th escrow write commits (AWSCURRENT moved to it): nothing after it runs. */
  const killAfterEscrowWrite = (n: number) => {
    const sm = h.sm as any;
    const call = sm.call.bind(sm);
    let writes = 0;
    const state = { killed: false, restore: () => { sm.call = call; } };
    sm.call = async (operation: string, input: any, run: () => unknown) => {
      if (state.killed) return never();
      if (operation === 'UpdateSecretVersionStage' && input.SecretId === t.stack.escrowArn && ++writes === n) {
        await call(operation, input, run);
        state.killed = true;
        return never();
      }
      return call(operation, input, run);
    };
    return state;
  };
  const invokeKilled = async (arn: string, n: number) => {
    const kill = killAfterEscrowWrite(n);
    const event = t.deleteRequest([arn], 'r-killed');
    const run = handler(event, t.context()).then(() => 'answered', () => 'threw');
    const killed = new Promise<string>((resolve) => {
      const poll = setInterval(() => {
        if (kill.killed) {
          clearInterval(poll);
          setTimeout(() => resolve('killed'), 300);
        }
      }, 10);
      void run.finally(() => clearInterval(poll));
    });
    const first = await Promise.race([run, killed]);
    kill.restore();
    // Lambda's retry of the same request.
    if (first === 'killed') await handler(event, t.context()).catch(() => undefined);
    return first;
  };

  test.each([1, 2])('WHEN an admin-minted secret\'s first (unmarked) token, whose role may not read its org, is deferred (Astra answers 403 to tokens it does not know) and the teardown is killed right after its escrow write #%i, then retried THEN that token is named in an alert', async (n) => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    // Young: the escrow is used, and a retry may continue.
    t.stack.startedAt = new Date();
    // Astra answers 403 to tokens it does not know, and to the first token (its role may not read its org).
    const original = AstraClient.prototype.currentOrg;
    jest.spyOn(AstraClient.prototype, 'currentOrg').mockImplementation(async function (this: AstraClient, bearer: string) {
      if (bearer === initial.token) throw forbidden();
      try {
        return await original.call(this, bearer);
      } catch (error) {
        if (error instanceof AstraApiError && error.status === 401) throw forbidden();
        throw error;
      }
    });

    const first = await invokeKilled(arn, n);

    expect(t.cfn.length).toBeGreaterThan(0);
    expect(h.sm.secrets.has(arn)).toBe(false);
    expect({ first, live: h.astra.isLive(initial.clientId), named: t.namedAtAll(arn).includes(initial.clientId) })
      .not.toMatchObject({ live: true, named: false });
  });

  test('WHEN an admin-minted secret still holds its first (unmarked) token, its first two checks meet passing 403s and the teardown is killed right after its last escrow write, then retried THEN that token is revoked or named in an alert', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    t.stack.startedAt = new Date();
    let faults = 0;
    currentOrgAnswers((bearer, n) => (n === 1 && bearer.startsWith(`AstraCS:${initial.clientId}:`) && faults++ < 2 ? forbidden() : undefined));

    const first = await invokeKilled(arn, 2);

    expect(faults).toBeGreaterThan(0);
    expect(t.cfn.length).toBeGreaterThan(0);
    expect({ first, live: h.astra.isLive(initial.clientId), named: t.namedAtAll(arn).includes(initial.clientId) })
      .not.toMatchObject({ live: true, named: false });
  });
});

describe('R32-G: the teardown reads at most MAX_HINTED_READS versions a value\'s pending revocations name', () => {
  test('WHEN a writer puts a value whose pending revocations name 600 versions, and AWSPREVIOUS\'s 600 others (each under 64 KB), and Secrets Manager answers in 20 ms THEN the teardown answers CloudFormation within its invocation\'s time', async () => {
    const arn = t.stack.adopt(await t.rotatedAdminSecret(), 'Secret');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const alnum = () => randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 24).padEnd(24, 'x');
    const hintsOf = () => Object.fromEntries(Array.from({ length: 600 }, () => [alnum(), '00000000-0000-4000-8000-000000000000'.replace(/0{12}$/, randomBytes(6).toString('hex'))]));
    const hints = hintsOf();
    // A PutSecretValue writer: within Secrets Manager's 64 KB, in both stages (AWSPREVIOUS's and AWSCURRENT's are merged).
    const previousHints = hintsOf();
    // As pending revocations too: those are the hints planning reads.
    t.put(arn, { ...real, pendingRevocations: Object.keys(previousHints), pendingRevocationVersions: previousHints });
    t.put(arn, { ...real, pendingRevocations: Object.keys(hints), pendingRevocationVersions: hints });
    const value = { ...real, pendingRevocations: Object.keys(hints), pendingRevocationVersions: hints };
    expect(Buffer.byteLength(JSON.stringify(value))).toBeLessThan(65_536);
    h.sm.latencyMs = 20;
    const budgetMs = 20_000;

    const started = Date.now();
    await t.send('Delete', [arn], { remainingMs: budgetMs }).catch(() => undefined);
    const elapsed = Date.now() - started;
    const reads = h.sm.calls.filter((c) => c.operation === 'GetSecretValue' && c.input.SecretId === arn).length;

    // Lambda stops an invocation at its time: one that overruns never answers, and neither does its retry.
    expect({ reads, overran: elapsed > budgetMs }).toMatchObject({ overran: false });
    expect(reads).toBeLessThan(2 * MAX_HINTED_READS);
    expect(t.cfn.length).toBeGreaterThan(0);
  }, 120_000);
});
