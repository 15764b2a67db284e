import { AsyncLocalStorage } from 'node:async_hooks';
import { arnOf, useTeardownHarness } from './teardown-harness';
import { handler } from '../../../lambda';
import { AstraClient } from '../../../lambda/clients/astra-client';
import { markedAsSecrets } from '../../../lambda/rotation/revocation-rule';
import { ADMIN_ROLE, APP_ROLE } from '../support/fake-astra';
import { awsError } from '../support/fake-secrets-manager';

/*
 * The twenty-fifth adversarial review's cases: kills between any two I/O calls of the teardown, then Lambda's retry of
 * the same request; the last retry answering however soon the first invocations failed; forged orgId claims.
 *
 * The kill model: each invocation runs in its own AsyncLocalStorage context. Once it is killed, every later I/O call it
 * makes (Secrets Manager through the fake, and every fetch: Astra and the CloudFormation answer) never returns, as if
 * Lambda had frozen it; other invocations (the retry) are untouched. A kill "after" a call lets that call commit and
 * loses its answer. A sweep kills at each call n in turn and checks every invariant after Lambda's retries.
 * Env: REVIEW25_VERBOSE=1 prints each kill point; REVIEW25_KILL_POINTS caps n.
 */

interface Invocation { id: number; dead: boolean }
/** Killed before/after the call; or the call fails (without effect, or after it took effect) and the invocation goes on. */
type Verdict = 'before' | 'after' | 'fail' | 'fail-after-commit';
const als = new AsyncLocalStorage<Invocation>();
const never = <T>() => new Promise<T>(() => undefined);

describe('kills and retries through the escrow, and forged org claims (twenty-fifth adversarial review)', () => {
  const th = useTeardownHarness();
  const h = th.h;
  const realFetch = globalThis.fetch;
  /** Decides, before each I/O call of an invocation, whether it is killed there: 'before' (the call is not made) or 'after' (made, answer lost). */
  let killer: ((kind: string, what: string) => Verdict | undefined) | undefined;
  let ioLog: string[] = [];
  /** In a cleanup the role's tag condition answers AccessDenied for a secret that is gone. */
  let goneIsDenied = false;
  /** Calls held until a promise settles (any invocation, or the rotation steps run outside one). */
  let gates: Array<{ match: (kind: string, what: string) => boolean; until: Promise<unknown> }> = [];
  /** Told of each fetch once answered: (kind, what, in a teardown invocation). */
  let observers: Array<(kind: string, what: string, inTeardown: boolean) => void> = [];
  /** Secrets Secrets Manager refuses to delete (a resource policy, replicas): CloudFormation could not delete them either. */
  const refused = new Set<string>();
  /** The kill switches: Secrets Manager's fake and fetch, per invocation. */
  const arm = () => {
    // Kill switch on Secrets Manager.
    const sm = h.sm as any;
    const call = sm.call.bind(sm);
    sm.call = async (operation: string, input: any, run: () => unknown) => {
      for (const g of gates) if (g.match('sm', `${operation} ${input.SecretId ?? ''}`)) await g.until;
      const inv = als.getStore();
      if (!inv) return call(operation, input, run);
      if (inv.dead) return never();
      const what = `${operation} ${input.SecretId ?? ''}`;
      ioLog.push(`sm ${what}`);
      if (operation === 'DeleteSecret' && refused.has(input.SecretId)) {
        return call(operation, input, () => {
          throw awsError('InvalidRequestException', 'You can\'t delete this secret: a resource policy denies it (injected)', 'client', 400);
        });
      }
      if (goneIsDenied && !h.sm.secrets.has(input.SecretId) && (operation === 'DescribeSecret' || operation === 'GetSecretValue' || operation === 'DeleteSecret')) {
        const denied = () => {
          throw awsError('AccessDeniedException', 'not authorized (no tags left)', 'client', 400);
        };
        return call(operation, input, denied);
      }
      const verdict = killer?.('sm', what);
      if (verdict === 'before') {
        inv.dead = true; return never();
      }
      if (verdict === 'fail') return Promise.reject(awsError('InternalServiceError', 'injected failure'));
      if (verdict === 'fail-after-commit') {
        return Promise.resolve(call(operation, input, run)).then(() => {
          throw awsError('InternalServiceError', 'injected failure after commit');
        });
      }
      if (verdict === 'after') {
        return Promise.resolve(call(operation, input, run)).finally(() => {
          inv.dead = true;
        }).then(() => never(), () => never());
      }
      return call(operation, input, run);
    };
    // Kill switch on fetch (Astra and the CloudFormation answer).
    jest.spyOn(globalThis, 'fetch').mockImplementation(async (url: any, init?: any) => {
      const path = `${init?.method ?? 'GET'} ${new URL(String(url)).pathname}`;
      for (const g of gates) if (g.match('fetch', path)) await g.until;
      const inv = als.getStore();
      if (!inv) {
        const response = await realFetch(url, init);
        for (const o of observers) o('fetch', path, false);
        return response;
      }
      if (inv.dead) return never();
      const what = `${init?.method ?? 'GET'} ${new URL(String(url)).pathname}`;
      ioLog.push(`fetch ${what}`);
      const verdict = killer?.('fetch', what);
      if (verdict === 'before') {
        inv.dead = true; return never();
      }
      if (verdict === 'fail') throw new TypeError('fetch failed (injected)');
      const response = await realFetch(url, init);
      for (const o of observers) o('fetch', what, true);
      if (verdict === 'fail-after-commit') {
        await response.text().catch(() => undefined);
        throw new TypeError('fetch failed (injected, after the request was processed)');
      }
      if (verdict === 'after') {
        await response.text().catch(() => undefined);
        inv.dead = true;
        return never();
      }
      return response;
    });
  };
  beforeEach(() => {
    killer = undefined;
    ioLog = [];
    goneIsDenied = false;
    refused.clear();
    gates = [];
    observers = [];
    arm();
  });

  const noPacing = () => jest.spyOn(AstraClient.prototype, 'pace').mockImplementation(() => undefined);
  let invocations = 0;
  /** One invocation: settles when it answers/throws, or some time after it is killed. */
  const invoke = async (event: Record<string, unknown>, remainingMs = 120_000): Promise<'answered' | 'threw' | 'killed'> => {
    const inv: Invocation = { id: ++invocations, dead: false };
    const run = als.run(inv, () => handler(event, th.context(remainingMs))).then(() => 'answered' as const, () => 'threw' as const);
    const killed = new Promise<'killed'>((resolve) => {
      const poll = setInterval(() => {
        if (inv.dead) {
          clearInterval(poll);
          // Calls in flight at the kill complete (sent before it); every later one hangs.
          setTimeout(() => resolve('killed'), 300);
        }
      }, 10);
      void run.finally(() => clearInterval(poll));
    });
    return Promise.race([run, killed]);
  };
  /** An app secret whose admin (outside the stack) holds h.admin: its admin token must stay live. */
  const minted = async (name: string) => {
    const { arn } = h.adminSecret();
    h.sm.secrets.set(arnOf(name), { ...h.sm.secrets.get(arn)!, arn: arnOf(name), name });
    h.sm.secrets.delete(arn);
    await h.rotate(arnOf(name));
    await h.rotate(arnOf(name));
    return th.stack.adopt(arnOf(name), name.replace(/-/g, ''));
  };
  /** root (self-rotating, a token of its own) -> mid -> leaf, all in the stack. */
  const chainOf = async () => {
    const rootToken = h.astra.issue([ADMIN_ROLE], 'root token');
    const root = h.sm.create('root', JSON.stringify({ astraKey: rootToken.token, clientID: rootToken.clientId, clientSecret: rootToken.secret, roleID: ADMIN_ROLE, engine: 'AstraDB' }),
      { tags: h.binding(ADMIN_ROLE) });
    const mid = h.sm.create('mid', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE, root) });
    const leaf = h.sm.create('leaf', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE, mid) });
    await h.rotate(root);
    for (const arn of [mid, leaf]) {
      await h.rotate(arn);
      await h.rotate(arn);
    }
    for (const [arn, id] of [[root, 'Root'], [mid, 'Mid'], [leaf, 'Leaf']]) th.stack.adopt(arn, id);
    return { root, mid, leaf };
  };
  const marked = (arn: string) => h.astra.everIssued
    .filter((t) => h.astra.isLive(t.clientId) && markedAsSecrets({ clientId: t.clientId, description: t.description ?? '', roles: [], tokenExpiry: null }, arn))
    .map((t) => t.clientId);
  /** Every live token of each secret: its stages' and those marked as its own. */
  const tokensOf = (arns: string[]) => new Map(arns.map((arn) => [arn, [...new Set([
    h.sm.valueAt(arn, 'AWSCURRENT')?.clientID, h.sm.valueAt(arn, 'AWSPREVIOUS')?.clientID, ...marked(arn),
  ].filter((c): c is string => !!c && h.astra.isLive(c)))]]));
  const alerts = () => h.lines().filter((l) => typeof l.alert === 'string');
  const escrowEntries = () => {
    const v = h.sm.valueAt(th.stack.escrowArn, 'AWSCURRENT');
    return (v?.entries ?? []).map((e: { arn: string }) => e.arn);
  };
  /** Every invariant the brief states, as one object to compare (empty lists when it holds). */
  const verdict = (tokens: Map<string, string[]>, keepLive: string[] = [], staying: string[] = []) => {
    const named = (arn: string) => alerts().filter((a) => a.secretArn === arn).flatMap((a) => [...a.clientIds ?? [], ...a.notProvenClientIds ?? []]);
    const unreported = [...tokens].flatMap(([arn, cs]) => cs.filter((c) => h.astra.isLive(c) && !named(arn).includes(c)).map((c) => `${arn.split(':').pop()} ${c}`));
    const existingWithoutLiveCurrent = [...tokens.keys(), ...staying].filter((arn) => h.sm.secrets.has(arn) && !h.astra.isLive(h.sm.valueAt(arn, 'AWSCURRENT')?.clientID));
    return {
      answers: [...new Set(th.cfn.map((a) => a.Status))],
      unreported,
      existingWithoutLiveCurrent,
      keptRevoked: keepLive.filter((c) => !h.astra.isLive(c)),
      // An entry may stay for a secret whose alert names what is left (docs: kept for any later invocation).
      escrow: escrowEntries().filter((arn: string) => !alerts().some((a) => a.secretArn === arn)),
      remaining: [...tokens.keys()].filter((arn) => h.sm.secrets.has(arn)),
      // "No false alerts": a TokensLeftLiveOnDeletion alert whose named tokens are all revoked, on a secret whose own
      // tokens are all revoked (an ORG_UNREAD alert is by design: Astra did not let the function confirm).
      ...process.env.REVIEW25_FALSE_ALERTS ? { falseAlerts: falseAlerts() } : {},
    };
  };
  const falseAlerts = () => alerts().filter((a) => a.alert === 'TokensLeftLiveOnDeletion' && !/did not name the org/.test(a.message))
    .filter((a) => [...a.clientIds ?? [], ...a.notProvenClientIds ?? []].every((c: string) => !h.astra.isLive(c)))
    .map((a) => `${String(a.secretArn).split(':').pop()}: ${String(a.message).slice(90, 230)}`);
  const clean = {
    answers: ['SUCCESS'],
    unreported: [],
    existingWithoutLiveCurrent: [],
    keptRevoked: [],
    escrow: [],
    remaining: [],
    ...process.env.REVIEW25_FALSE_ALERTS ? { falseAlerts: [] } : {},
  };

  // ---------------------------------------------------------------------------------------------------------------
  // 1. Kills at each I/O call, then the retry.
  // ---------------------------------------------------------------------------------------------------------------
  const scenario = async () => {
    noPacing();
    const selfs = await th.rotatedTwice(5);
    const app = await minted('app-one');
    const all = [...selfs, app];
    th.stack.startedAt = new Date();
    return { all, tokens: tokensOf(all), keep: [h.admin.clientId] };
  };

  test('A0 held: the unkilled teardown of scenario A meets every invariant', async () => {
    const { all, tokens, keep } = await scenario();
    expect(await invoke(th.deleteRequest(all, 'r-probe'))).toBe('answered');
    expect(verdict(tokens, keep)).toEqual(clean);
    if (process.env.REVIEW25_VERBOSE) process.stdout.write(`IO CALLS ${ioLog.length}\n${ioLog.join('\n')}\n`);
  });

  const KILL_POINTS = Number(process.env.REVIEW25_KILL_POINTS ?? 150);
  const fresh = () => {
    th.stack.restore();
    h.tearDown();
    th.setUp();
    ioLog = [];
    goneIsDenied = false;
    refused.clear();
    arm();
  };
  interface Sweep {
    /** Builds the secrets; returns them, their tokens, the tokens that must stay live. */
    setup: () => Promise<{ all: string[]; tokens: Map<string, string[]>; keep: string[]; staying?: string[] }>;
    /** Faults armed before the killed invocation. */
    faults?: () => void;
    /** Before each retry (e.g. the operation grows old, a smaller budget). */
    beforeRetry?: () => void;
    retryMs?: number;
    /** An invocation before the killed one (it counts against Lambda's two retries). */
    pre?: (event: Record<string, unknown>) => Promise<void>;
    every?: number;
    /** Only the calls this matches count as kill points (every call, when absent). */
    at?: (kind: string, what: string) => boolean;
    /** Replaces the clean verdict: what must hold after the retries. */
    check?: (tokens: Map<string, string[]>, keep: string[], staying?: string[]) => Record<string, unknown>;
    expected?: Record<string, unknown>;
  }
  /**
   * For n = 1.., kills the first invocation before/after its n-th I/O call, then lets Lambda retry (twice at most); every
   * invariant is checked after each. Returns the failures.
   */
  const sweep = async (when: Verdict, sw: Sweep) => {
    const failures: Array<Record<string, unknown>> = [];
    const tally: string[] = [];
    for (let n = 1; n <= KILL_POINTS; n += sw.every ?? 1) {
      fresh();
      const { all, tokens, keep, staying } = await sw.setup();
      sw.faults?.();
      const outcomes: string[] = [];
      if (sw.pre) {
        await sw.pre(th.deleteRequest(all, `r-${when}-${n}`));
        outcomes.push(th.cfn.length ? 'pre-answered' : 'pre');
        ioLog = [];
      }
      let seen = 0;
      killer = (kind, what) => ((!sw.at || sw.at(kind, what)) && ++seen === n ? when : undefined);
      outcomes.push(await invoke(th.deleteRequest(all, `r-${when}-${n}`)));
      killer = undefined;
      const at = ioLog[n - 1];
      for (let i = 0; i < (sw.pre ? 1 : 2) && th.cfn.length === 0; i++) {
        sw.beforeRetry?.();
        outcomes.push(await invoke(th.deleteRequest(all, `r-${when}-${n}`), sw.retryMs));
      }
      const v = sw.check ? sw.check(tokens, keep, staying) : verdict(tokens, keep, staying);
      if (JSON.stringify(v) !== JSON.stringify(sw.expected ?? clean)) failures.push({ n, at, outcomes, ...v, alerts: alerts().map((a) => `${a.alert} ${String(a.secretArn).split(':').pop()} ${a.message?.slice(0, 160)}`) });
      tally.push(`${n} ${outcomes.join(',')} ${at?.slice(0, 70)}`);
      if (seen < n) break;
    }
    if (process.env.REVIEW25_VERBOSE) process.stdout.write(`${tally.join('\n')}\n`);
    return { failures, kills: tally.filter((t) => /killed/.test(t)).length };
  };

  const chainScenario = async () => {
    noPacing();
    const { root, mid, leaf } = await chainOf();
    const selfs = await th.rotatedTwice(2);
    const app = await minted('app-one');
    const all = [root, mid, leaf, ...selfs, app];
    th.stack.startedAt = new Date();
    return { all, tokens: tokensOf(all), keep: [h.admin.clientId] };
  };
  const chainSweep: Sweep = { setup: chainScenario };
  for (const when of ['before', 'after'] as const) {
    test(`B chain root->mid->leaf + 2 self + 1 minted, kill ${when} each I/O call, then retries`, async () => {
      const { failures, kills } = await sweep(when, chainSweep);
      expect(kills).toBeGreaterThan(40);
      expect(failures).toEqual([]);
    }, 900_000);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // E. An alert owed (a revocation Astra always fails): a kill after any escrow write must not lose it.
  // ---------------------------------------------------------------------------------------------------------------
  const failingScenario = async () => {
    const built = await scenario();
    const failing = built.tokens.get(built.all[0])![0];
    return { ...built, failing };
  };
  test('E a revocation that always fails, kill after each escrow write, then retries: the token is named in an alert', async () => {
    let failing = '';
    const { failures, kills } = await sweep('after', {
      setup: async () => {
        const built = await failingScenario();
        failing = built.failing;
        return built;
      },
      faults: () => h.astra.fail({ method: 'DELETE', path: new RegExp(`/v2/clientIdSecrets/${failing}$`), status: 500, times: 10_000 }),
      at: (kind, what) => kind === 'sm' && what === `PutSecretValue ${th.stack.escrowArn}`,
    });
    expect(kills).toBeGreaterThan(1);
    expect(failures).toEqual([]);
  }, 600_000);

  // ---------------------------------------------------------------------------------------------------------------
  // W. Values put over a secret's tokens: its unlabelled versions, escrowed before its deletion, lead to them.
  // ---------------------------------------------------------------------------------------------------------------
  const pushedOutScenario = async () => {
    noPacing();
    const [pushed, other] = await th.rotatedTwice(2);
    const real = h.sm.valueAt(pushed, 'AWSCURRENT');
    const own = marked(pushed);
    // Two puts of dead tokens, as PutSecretValue makes them: both stages lose the secret's tokens.
    for (let i = 0; i < 2; i++) {
      const dead = h.astra.issue([ADMIN_ROLE], 'revoked long ago');
      h.astra.tokens.delete(dead.clientId);
      const replaced = h.sm.versionWith(pushed, 'AWSCURRENT')!;
      h.sm.addVersion(pushed, JSON.stringify({ ...real, astraKey: dead.token, clientID: dead.clientId, clientSecret: dead.secret }), ['AWSCURRENT']);
      h.sm.removeStage(pushed, 'AWSPREVIOUS');
      h.sm.secrets.get(pushed)!.versions.get(replaced)!.stages.add('AWSPREVIOUS');
    }
    th.stack.startedAt = new Date();
    return { all: [pushed, other], tokens: new Map([[pushed, own], [other, tokensOf([other]).get(other)!]]), keep: [h.admin.clientId] };
  };

  test('W0: unkilled, the tokens two puts moved out of a secret\'s stages are revoked, without an alert', async () => {
    const { all, tokens, keep } = await pushedOutScenario();
    expect(tokens.get(all[0])).toHaveLength(2);
    expect(await invoke(th.deleteRequest(all, 'r-pushed'))).toBe('answered');
    expect({ ...verdict(tokens, keep), alerts: alerts() }).toEqual({ ...clean, alerts: [] });
    expect(tokens.get(all[0])!.filter((c) => h.astra.isLive(c))).toEqual([]);
  });

  for (const when of ['before', 'after'] as const) {
    test(`W the tokens two puts moved out of a secret's stages, kill ${when} each I/O call, then retries`, async () => {
      const { failures, kills } = await sweep(when, { setup: pushedOutScenario });
      expect(kills).toBeGreaterThan(20);
      expect(failures).toEqual([]);
    }, 600_000);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // G. Lambda's schedule: a retry that fails early (a crash, not a timeout) lets the last retry start while "young".
  // ---------------------------------------------------------------------------------------------------------------
  /**
   * One request on Lambda's schedule: each attempt at its offset from T0, either killed at its first call (a crash, an
   * OOM) or using its whole 3-minute budget (180 s remaining, a 20 s margin: the clock jumps once 4 more tokens are
   * revoked). Returns what each attempt did.
   */
  const onLambdasSchedule = async (event: Record<string, unknown>, attempts: ReadonlyArray<{ at: number; dies?: boolean }>) => {
    noPacing();
    process.env.TEARDOWN_TURNS_AT_ONCE = '1';
    th.stack.startedAt = new Date();
    const realNow = Date.now.bind(Date);
    let offset = 0;
    let jumpAfter = Infinity;
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset + (h.astra.count('DELETE') >= jumpAfter ? 161_000 : 0));
    const outcomes: string[] = [];
    for (const attempt of attempts) {
      offset = attempt.at;
      jumpAfter = attempt.dies ? Infinity : h.astra.count('DELETE') + 4;
      killer = attempt.dies ? () => 'before' : undefined;
      outcomes.push(await invoke(event, 180_000));
      killer = undefined;
    }
    return outcomes;
  };

  /** No invocation follows the last: it answered CloudFormation, and named whatever deleted secret's token it left live. */
  const answeredAndNamed = (arns: string[], tokens: Map<string, string[]>) => {
    const named = alerts().flatMap((a) => [...a.clientIds ?? [], ...a.notProvenClientIds ?? []]);
    const deleted = arns.filter((arn) => !h.sm.secrets.has(arn));
    return {
      answers: th.cfn.map((a) => a.Status),
      deletedWithUnnamedLiveTokens: deleted.filter((arn) => tokens.get(arn)!.some((c) => h.astra.isLive(c) && !named.includes(c))).length,
    };
  };

  test('G (failed on 2d25348): ContinueLater, then a retry that dies at once, then the last retry still young: it must answer CloudFormation', async () => {
    const arns = await th.rotatedTwice(8);
    const tokens = tokensOf(arns);
    // T0, then Lambda's retries about a minute (T0 + 2:41 + 1:00) and two minutes (T0 + 5:41) after each failure.
    const outcomes = await onLambdasSchedule(th.deleteRequest(arns, 'r-schedule'), [{ at: 0 }, { at: 221_000, dies: true }, { at: 341_000 }]);
    expect({ outcomes, ...answeredAndNamed(arns, tokens) })
      .toEqual({ outcomes: ['threw', 'killed', 'answered'], answers: ['SUCCESS'], deletedWithUnnamedLiveTokens: 0 });
  }, 120_000);

  test('G2 (failed on 2d25348): the first invocation dies at once, both retries use their whole time while young: the last must answer CloudFormation', async () => {
    const arns = await th.rotatedTwice(10);
    const tokens = tokensOf(arns);
    // T0, then T0 + 1:00 (ends at T0 + 3:41), then T0 + 5:41.
    const outcomes = await onLambdasSchedule(th.deleteRequest(arns, 'r-schedule-2'), [{ at: 0, dies: true }, { at: 60_000 }, { at: 341_000 }]);
    expect({ outcomes, ...answeredAndNamed(arns, tokens) })
      .toEqual({ outcomes: ['killed', 'threw', 'answered'], answers: ['SUCCESS'], deletedWithUnnamedLiveTokens: 0 });
  }, 120_000);

  // ---------------------------------------------------------------------------------------------------------------
  // 3. Forged values: a value writer (PutSecretValue) claims an org for the secret's real tokens.
  // ---------------------------------------------------------------------------------------------------------------
  /** What PutSecretValue does: a new AWSCURRENT; the old one becomes AWSPREVIOUS. */
  const put = (arn: string, value: Record<string, unknown>) => {
    const replaced = h.sm.versionWith(arn, 'AWSCURRENT')!;
    h.sm.addVersion(arn, JSON.stringify(value), ['AWSCURRENT']);
    h.sm.removeStage(arn, 'AWSPREVIOUS');
    h.sm.secrets.get(arn)!.versions.get(replaced)!.stages.add('AWSPREVIOUS');
  };
  /** The writer's own org: the next token list read shows these tokens, and currentOrg names `org` (once each). */
  const writersOrgVerified = (org: string, ...tokens: Array<{ clientId: string; description: string }>) => {
    const generatedOn = new Date().toISOString();
    const clients = tokens.map((t) => ({ clientId: t.clientId, roles: [ADMIN_ROLE], description: t.description, generatedOn }));
    h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 200, body: JSON.stringify({ clients }), times: 1 });
    h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 200, body: JSON.stringify({ id: org }), times: 1 });
  };

  test('I (failed on 2d25348): two puts relabel the real token\'s orgId as the writer\'s org, then the writer\'s own token over it: the real token is revoked or named', async () => {
    noPacing();
    const [arn] = await th.rotatedTwice(1);
    const own = tokensOf([arn]).get(arn)!;
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    // Put 1: the real AWSCURRENT, its orgId relabelled. Put 2: a token of the writer's own org (it moves put 1 to AWSPREVIOUS).
    put(arn, { ...real, orgId: 'writers-org' });
    const w = h.astra.issue([ADMIN_ROLE], 'writer token W');
    put(arn, { ...real, orgId: 'writers-org', astraKey: w.token, clientID: w.clientId, clientSecret: w.secret, pendingRevocations: [] });
    writersOrgVerified('writers-org', { clientId: w.clientId, description: 'writer token W' });
    th.stack.startedAt = new Date();
    await invoke(th.deleteRequest([arn], 'r-forged-org'));
    if (process.env.REVIEW25_VERBOSE) process.stdout.write(`${h.logs.join('\n')}\n`);
    const named = alerts().filter((a) => a.secretArn === arn).flatMap((a) => [...a.clientIds ?? [], ...a.notProvenClientIds ?? []]);
    expect({
      answers: th.cfn.map((a) => a.Status),
      deleted: !h.sm.secrets.has(arn),
      liveUnnamed: own.filter((c) => h.astra.isLive(c) && !named.includes(c)),
    }).toEqual({ answers: ['SUCCESS'], deleted: true, liveUnnamed: [] });
  });

  test.each([1, 2])('I2 (failed on 2d25348): %i put(s) relabel the real tokens\' orgId as another org the function has a verified list of: the secret\'s real tokens are revoked or named', async (puts) => {
    noPacing();
    // Another secret of the same teardown, whose token's org Astra names 'other-org' (a second org the function serves).
    // prime() reads one list per claimed org, in reverse template order: `other` (adopted last) is read first.
    const [arn, other] = await th.rotatedTwice(2);
    const own = tokensOf([arn]).get(arn)!;
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const prev = h.sm.valueAt(arn, 'AWSPREVIOUS');
    // One put: AWSCURRENT a copy of the real one with the other org's id. Two: AWSPREVIOUS too.
    if (puts === 2) put(arn, { ...prev, orgId: 'other-org' });
    put(arn, { ...real, orgId: 'other-org' });
    const otherToken = h.sm.valueAt(other, 'AWSCURRENT');
    // `other` is of 'other-org' (the simulation's second org): its values record it, as its rotations would have.
    for (const version of h.sm.secrets.get(other)!.versions.values()) {
      if (version.value) version.value = JSON.stringify({ ...JSON.parse(version.value), orgId: 'other-org' });
    }
    th.stack.startedAt = new Date();
    // The list read with other's token: Astra names 'other-org' and shows only other's tokens.
    const generatedOn = new Date().toISOString();
    const shown = tokensOf([other]).get(other)!.map((clientId) => ({ clientId, roles: [ADMIN_ROLE], description: h.astra.everIssued.find((t) => t.clientId === clientId)?.description ?? '', generatedOn }));
    h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 200, body: JSON.stringify({ clients: shown }), times: 1 });
    h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 200, body: JSON.stringify({ id: 'other-org' }), times: 1 });
    expect(otherToken.clientID).toBeDefined();
    const otherTokens = tokensOf([other]).get(other)!;
    await invoke(th.deleteRequest([arn, other], 'r-forged-org-2'));
    if (process.env.REVIEW25_VERBOSE) process.stdout.write(`ARN ${arn} own ${own} OTHER ${other} ${otherTokens} live ${otherTokens.map((c) => h.astra.isLive(c))}\n`);
    if (process.env.REVIEW25_VERBOSE) process.stdout.write(`${h.logs.join('\n')}\n`);
    const named = alerts().filter((a) => a.secretArn === arn).flatMap((a) => [...a.clientIds ?? [], ...a.notProvenClientIds ?? []]);
    expect({
      answers: th.cfn.map((a) => a.Status),
      liveUnnamed: own.filter((c) => h.astra.isLive(c) && !named.includes(c)),
    }).toEqual({ answers: ['SUCCESS'], liveUnnamed: [] });
  });

  test('I3 (failed on 2d25348): one put relabels a minted secret\'s orgId as another org the function has a verified list of: its admin is judged dead, its tokens and its sibling\'s stay live', async () => {
    noPacing();
    process.env.TEARDOWN_TURNS_AT_ONCE = '1';
    const app = await minted('app-one');
    const sibling = await minted('app-two');
    const [other] = await th.rotatedTwice(1);
    for (const version of h.sm.secrets.get(other)!.versions.values()) {
      if (version.value) version.value = JSON.stringify({ ...JSON.parse(version.value), orgId: 'other-org' });
    }
    const own = tokensOf([app, sibling]);
    put(app, { ...h.sm.valueAt(app, 'AWSCURRENT'), orgId: 'other-org' });
    // The list read with other's token (prime): Astra names 'other-org' and shows other's tokens.
    const generatedOn = new Date().toISOString();
    const shown = tokensOf([other]).get(other)!.map((clientId) => ({ clientId, roles: [ADMIN_ROLE], description: h.astra.everIssued.find((t) => t.clientId === clientId)?.description ?? '', generatedOn }));
    h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 200, body: JSON.stringify({ clients: shown }), times: 1 });
    h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 200, body: JSON.stringify({ id: 'other-org' }), times: 1 });
    th.stack.startedAt = new Date();
    await invoke(th.deleteRequest([app, sibling, other], 'r-forged-org-3'));
    if (process.env.REVIEW25_VERBOSE) process.stdout.write(`${h.logs.join('\n')}\n`);
    const named = (arn: string) => alerts().filter((a) => a.secretArn === arn).flatMap((a) => [...a.clientIds ?? [], ...a.notProvenClientIds ?? []]);
    expect({
      answers: th.cfn.map((a) => a.Status),
      adminLive: h.astra.isLive(h.admin.clientId),
      // The forged secret: revoked, or named.
      appLiveUnnamed: own.get(app)!.filter((c) => h.astra.isLive(c) && !named(app).includes(c)),
      // Its sibling, whose value nobody touched: revoked.
      siblingLive: own.get(sibling)!.filter((c) => h.astra.isLive(c)),
    }).toEqual({ answers: ['SUCCESS'], adminLive: true, appLiveUnnamed: [], siblingLive: [] });
  });

  // ---------------------------------------------------------------------------------------------------------------
  // P. Large values: the escrow fills (EscrowFull halves the batch, ESCROW_FULL_FOR_NOW waits for the second round).
  // ---------------------------------------------------------------------------------------------------------------
  const paddedScenario = async () => {
    noPacing();
    const selfs = th.selfSecrets(20);
    for (const arn of selfs) {
      await h.rotate(arn);
      await h.rotate(arn);
      // 5 KB of other fields in each stage: 12 entries fill the escrow's 60 KB.
      for (const version of h.sm.secrets.get(arn)!.versions.values()) {
        if (version.value) version.value = JSON.stringify({ ...JSON.parse(version.value), note: 'x'.repeat(2_500) });
      }
    }
    th.stack.startedAt = new Date();
    return { all: selfs, tokens: tokensOf(selfs), keep: [] };
  };
  test('P0 held: 20 secrets whose entries do not fit the escrow at once: unkilled, every invariant holds', async () => {
    const { all, tokens } = await paddedScenario();
    expect(await invoke(th.deleteRequest(all, 'r-padded'))).toBe('answered');
    const outcomes = h.lines().filter((l) => l.step === 'teardown' && l.outcome).map((l) => String(l.outcome).slice(0, 60));
    if (process.env.REVIEW25_VERBOSE) process.stdout.write(`${outcomes.join('\n')}\n${ioLog.filter((l) => /escrow|Delete/.test(l)).join('\n')}\n`);
    expect({ ...verdict(tokens), falseAlerts: falseAlerts(), warnOrError: h.lines().filter((l) => l.level === 'WARN' || l.level === 'ERROR').length })
      .toEqual({ ...clean, falseAlerts: [], warnOrError: 0 });
  }, 120_000);

  // ---------------------------------------------------------------------------------------------------------------
  test('S (failed on 2d25348): a rotation minting while the teardown runs, storing after the teardown deleted the secret: its token is revoked, or alerted', async () => {
    noPacing();
    const [arn] = await th.rotatedTwice(1);
    th.stack.startedAt = new Date();
    const before = new Set(h.astra.everIssued.map((t) => t.clientId));
    let release!: () => void;
    const teardownListed = new Promise<void>((resolve) => { release = resolve; });
    let mintAnswered!: () => void;
    const mintDone = new Promise<void>((resolve) => { mintAnswered = resolve; });
    let mintReached = false;
    // The rotation's mint waits for the teardown's first token list; the teardown's escrow write waits for the mint.
    gates.push({ match: (k, w) => k === 'fetch' && w === 'POST /v2/clientIdSecrets' && (mintReached = true), until: teardownListed });
    gates.push({ match: (k, w) => k === 'sm' && w === `PutSecretValue ${th.stack.escrowArn}`, until: mintDone });
    observers.push((_k, w, inTeardown) => {
      if (inTeardown && w === 'GET /v2/clientIdSecrets') release();
      if (!inTeardown && w === 'POST /v2/clientIdSecrets') mintAnswered();
    });
    // The rotation's store of the new version waits for the teardown's answer.
    let answered!: () => void;
    const teardownAnswered = new Promise<void>((resolve) => { answered = resolve; });
    gates.push({ match: (k, w) => k === 'sm' && w === `PutSecretValue ${arn}`, until: teardownAnswered });
    const token = h.sm.startRotation(arn);
    const rotation = h.step('createSecret', arn, token).then(() => 'created', (e) => `failed: ${String(e.message).slice(0, 300)}`);
    for (let i = 0; i < 200 && !mintReached; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(mintReached).toBe(true);
    // CloudFormation deletes the rotation schedule (rotation off), then sends the teardown its Delete.
    h.sm.secrets.get(arn)!.rotationEnabled = false;
    const teardown = invoke(th.deleteRequest([arn], 'r-cut-short'));
    const outcome = await teardown;
    answered();
    const rotated = await rotation;
    const newTokens = h.astra.everIssued.filter((t) => !before.has(t.clientId)).map((t) => t.clientId);
    // An alert (the token-alerts alarm counts lines by their alert name), not a step's failure that says it will be retried.
    const errorLines = h.lines().filter((l) => l.level === 'ERROR');
    const alertLines = h.lines().filter((l) => l.level === 'ERROR' && typeof l.alert === 'string');
    const namedInAlert = (c: string) => alertLines.some((l) => JSON.stringify(l).includes(c));
    if (process.env.REVIEW25_VERBOSE) process.stdout.write(`${rotated}\n${h.logs.join('\n')}\n${h.errors.join('\n')}\n`);
    if (process.env.REVIEW25_VERBOSE) process.stdout.write(`NEW ${newTokens.map((c) => `${c} live=${h.astra.isLive(c)}`)} ERRLINES ${JSON.stringify(errorLines.map((l) => ({ alert: l.alert, keys: Object.keys(l), msg: String(l.message ?? l.error ?? l.outcome).slice(0, 400) })))}\n`);
    expect({
      outcome,
      answers: th.cfn.map((a) => a.Status),
      secretGone: !h.sm.secrets.has(arn),
      newTokens: newTokens.length,
      liveUnalerted: newTokens.filter((c) => h.astra.isLive(c) && !namedInAlert(c)),
      rotationSaysRetried: errorLines.some((l) => /Rotation will be retried/.test(JSON.stringify(l))) || /Rotation will be retried/.test(rotated),
    }).toEqual({ outcome: 'answered', answers: ['SUCCESS'], secretGone: true, newTokens: 1, liveUnalerted: [], rotationSaysRetried: false });
  }, 60_000);
});
