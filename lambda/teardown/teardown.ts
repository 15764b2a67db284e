import { answerCloudFormation } from './cloudformation-answer';
import { CommittedPhase, confirmDeletion, secretFate } from './end-of-life';
import { EscrowBusy, EscrowedToken, EscrowEntry, EscrowFull, finishedId, OperationEntry, TeardownEscrow } from './escrow';
import { inTurns } from './in-turns';
import { DeadAuthority, OrgTokenLists } from './org-token-lists';
import { currentIsRotations, readPushedOut, searchPushedOut } from './pushed-out';
import { ALERT_NAMES } from '../../src/shared/alert-names';
import { AstraClient, AstraClientEntry } from '../clients/astra-client';
import type { StackState } from '../clients/cloudformation';
import { RotationConfig } from '../clients/config';
import { AWSCURRENT, AWSPREVIOUS, Deletion, SecretGone, SecretsManagerFailure, SecretStore, versionWithStage } from '../clients/secret-store';
import { sleep, TimeBudget } from '../clients/time-budget';
import { messageOf } from '../logging/errors';
import { tokensLeftLiveAlert } from '../logging/left-live-alert';
import { Redactor } from '../logging/redact';
import { StepReport, writeLogLine } from '../logging/step-report';
import { Authority, adminAuthority, selfAuthority } from '../rotation/authority';
import { HeldTokens, alternating, OwnershipEvidence, markedAsSecrets, revokeOwned } from '../rotation/revocation-rule';
import { markedTokens } from '../rotation/sweep';
import { SecretTags, readBinding } from '../value/binding';
import { parseSecretString } from '../value/secret-value';

/** A CloudFormation custom resource request (the teardown resource, one per rotation function). */
export interface CustomResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties?: { readonly Secrets?: unknown };
  readonly OldResourceProperties?: { readonly Secrets?: unknown };
}

export interface TeardownDeps {
  readonly store: SecretStore;
  readonly astra: AstraClient;
  readonly config: RotationConfig;
  readonly redactor: Redactor;
  readonly budget: TimeBudget;
  /** The stack the function was deployed in (its environment); a request naming another stack is refused. */
  readonly deployedStackId?: string;
  /** CloudFormation's view of the stack now: the evidence a Delete is checked against. */
  readStack(stackId: string): Promise<StackState>;
}

export function isCustomResourceEvent(event: unknown): event is CustomResourceEvent {
  const e = (event ?? {}) as Record<string, unknown>;
  return typeof e.RequestType === 'string' && typeof e.ResponseURL === 'string' && typeof e.RequestId === 'string';
}

/** The ARNs a request lists: which secrets to look at, never whether they go (CloudFormation's state decides that). */
export function listedSecretArns(properties: { readonly Secrets?: unknown } | undefined): string[] {
  return [...new Set(entryArns(properties?.Secrets, () => undefined))];
}

/** The `Arn` of each `{Arn}` entry: a string as it is, anything else as `resolve` makes of it (or left out). */
function entryArns(entries: unknown, resolve: (arn: unknown) => string | undefined): string[] {
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry) => {
    const arn = (entry ?? {} as { Arn?: unknown }).Arn;
    const resolved = typeof arn === 'string' ? arn : resolve(arn);
    return resolved ? [resolved] : [];
  });
}

/**
 * Create and Update revoke nothing: each answers a new physical id, so that CloudFormation deletes the old one in the
 * update's cleanup, once the update can no longer roll back (or the new one in the rollback's cleanup). A Delete
 * revokes only what CloudFormation's own state shows it is deleting (end-of-life.ts), leaves first along admin
 * chains, and answers SUCCESS whatever Astra did: Astra never blocks a deletion. FAILED only where Secrets Manager
 * refused to delete a secret that CloudFormation could not delete either. Whatever stays live is an ERROR line.
 */
export async function handleTeardown(event: CustomResourceEvent, makeDeps: () => TeardownDeps, redactor: Redactor): Promise<void> {
  if (event.RequestType !== 'Delete') {
    await answerCloudFormation(event, `${event.LogicalResourceId}-${event.RequestId}`, 'nothing to revoke: tokens are revoked only when CloudFormation deletes', redactor);
    return;
  }
  const physicalId = event.PhysicalResourceId ?? `${event.LogicalResourceId}-${event.RequestId}`;
  const listed = listedSecretArns(event.ResourceProperties);
  let reason: string;
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  try {
    reason = await tearDown(event, listed, makeDeps(), redactor);
  } catch (error) {
    if (error instanceof ContinueLater) throw error;
    if (error instanceof TeardownBlocked) {
      reason = error.message;
      status = 'FAILED';
    } else {
      reason = `teardown failed: ${messageOf(error)}`;
      writeLogLine(leftLiveAlert('(every secret the request lists)', listed, reason, 'may be being deleted by CloudFormation, but'), redactor);
    }
  }
  await answerCloudFormation(event, physicalId, reason, redactor, status);
}

async function tearDown(event: CustomResourceEvent, listed: string[], deps: TeardownDeps, redactor: Redactor): Promise<string> {
  const notConfirmed = (why: string) => {
    writeLogLine({
      level: 'ERROR',
      alert: ALERT_NAMES.TEARDOWN_NOT_CONFIRMED,
      step: 'teardown',
      stackId: event.StackId,
      logicalResourceId: event.LogicalResourceId,
      physicalResourceId: event.PhysicalResourceId,
      message: `A teardown Delete was not confirmed by CloudFormation: ${why}. Nothing was revoked. `
        + 'If nobody deleted or updated the stack, someone allowed lambda:InvokeFunction on the rotation function sent it: find them in CloudTrail (Invoke).',
    }, redactor);
    return `nothing revoked: ${why}`;
  };
  // Checked before CloudFormation is asked: the role may read only its own stack, and the answer would say no more.
  if (deps.deployedStackId && event.StackId !== deps.deployedStackId) {
    return notConfirmed(`the request names the stack ${event.StackId}, not the function's own stack ${deps.deployedStackId}`);
  }
  let state: StackState;
  try {
    state = await deps.readStack(event.StackId);
  } catch (error) {
    const why = `CloudFormation's state of ${event.StackId} could not be read (${messageOf(error)}), so nothing was revoked`;
    for (const arn of listed) writeLogLine(leftLiveAlert(arn, [], why, 'may be being deleted by CloudFormation, but'), redactor);
    return why;
  }
  const confirmed = confirmDeletion(event, state, deps.deployedStackId);
  if ('refused' in confirmed) return notConfirmed(confirmed.refused);

  // A whole-stack phase takes the teardown's secrets from CloudFormation's own template, not from the request: a request
  // could name some and leave out others (breaking leaves-first order). A cleanup judges each secret the request names
  // against what this operation removes, replaces or creates (end-of-life.ts).
  const wholeStack = confirmed.phase === 'stack-deletion' || confirmed.phase === 'create-rollback';
  const candidates = wholeStack ? declaredSecretArns(state, event.LogicalResourceId) : listed;
  // Whether Lambda's retry of the request may still continue this work: decided only by CloudFormation's clock and this
  // invocation's own, which no other invocation can move (see CONTINUATION_WINDOW_MS).
  const young = !!state.operationStartedAt && Date.now() - state.operationStartedAt.getTime() < CONTINUATION_WINDOW_MS;
  const escrow = await openEscrow(state, event, deps, redactor);
  const lists = new OrgTokenLists(deps.astra);
  const plans: SecretPlan[] = [];
  for (const arn of candidates) plans.push(await planFor(arn, confirmed.phase, state, deps, redactor, escrow, lists));
  // A Secrets Manager read that failed while planning (a throttle, a 5xx) is no more final than a revocation that did:
  // read again before anything is deleted, so that which secret mints for which is known when the order is decided.
  if (plans.some((p) => 'unread' in p) && deps.budget.allows(RESERVE_MS(deps))) {
    await sleep(SECOND_ROUND_PAUSE_MS);
    for (const [at, plan] of plans.entries()) {
      if ('unread' in plan) plans[at] = await planFor(plan.arn, confirmed.phase, state, deps, redactor, escrow, lists);
    }
  }
  const going = plans.filter((p): p is GoingSecret => 'going' in p);
  // One read of each admin secret serves every secret it minted (245 secrets of one admin: one GetSecretValue).
  const adminTokens = new Map<string, Promise<Authority>>();
  const results = new Map<string, { plan: GoingSecret; report: StepReport; outcome: string; durationMs: number }>();
  const shared = {
    deps,
    lists,
    adminTokens,
    wholeStack,
    escrow: escrow.escrow,
    withoutEscrow: escrow.unreadable ? 'the escrow could not be read' : 'the stack declares no escrow for this teardown',
    // Entries of secrets the function deleted whose revocation is not over: the escrow keeps them for the next attempt.
    inFlight: new Map(going.filter((p) => p.deleted).map((p) => [p.arn, p])),
    done: new Set<string>(),
    finished: new Set<string>(),
    escrowProblem: { reported: false, heldBack: false },
    admins: new Set(going.map((p) => p.adminSecretArn).filter((a): a is string => !!a)),
    deletions: new Map<string, DeletionStep>(),
    turns: { count: 0, totalMs: 0, since: undefined as number | undefined },
    kept: new Set<string>(),
    young,
    staying: new Map<string, string | undefined>(),
    waiting: new Map<string, string | undefined>(),
  };
  const { staying } = shared;
  // Any failure leaves work: only a secret that stays (Secrets Manager refused its deletion) is done with. A read that
  // failed once (a token list, an admin secret) is no more final than a revocation that did.
  const workLeft = (plan: GoingSecret, outcome: string) => outcome.startsWith('left live') && !staying.has(plan.arn) && !UNCONFIRMABLE_NOW.has(outcome);
  // Deleted by the function, every token revoked, no alert owed: a retry that cannot describe it any more has nothing to say of it.
  const clean = (plan: GoingSecret, report: StepReport, outcome: string) => plan.deleted && !outcome.startsWith('left live') && !staying.has(plan.arn)
    && report.clientIds.revocationFailed.length === 0 && report.revocationsRefused.every((r) => plan.revokedHere?.has(r.clientId));
  // An entry for a secret that is still there is out of date: its own plan, if it goes, writes a new one.
  for (const plan of plans) if ('stays' in plan && plan.stays !== GONE) settle(shared, plan.arn);
  const run = async (plan: GoingSecret, lastRound: boolean) => {
    const report = new StepReport('teardown', plan.arn, `${event.RequestType} ${event.RequestId}`);
    const started = Date.now();
    let outcome = deps.budget.allows(deps.config.httpTimeoutMs) ? await deleteThenRevoke(plan, { ...shared, report, lastRound }) : OUT_OF_TIME;
    // Whatever failed once the time was up failed for lack of it (a call not sent, a list not read): not the last word.
    if (workLeft(plan, outcome) && !NAMED_CAUSES.has(outcome) && !deps.budget.allows(2 * deps.config.httpTimeoutMs)) {
      writeLogLine({ level: 'INFO', step: 'teardown', secretArn: plan.arn, outcome }, redactor);
      outcome = OUT_OF_TIME_DURING;
    }
    if (!workLeft(plan, outcome) && !shared.kept.has(plan.arn)) {
      settle(shared, plan.arn);
      if (clean(plan, report, outcome)) shared.finished.add(plan.arn);
    }
    // While another round or a retry may come, an admin goes only once every secret it mints for is done: that round
    // needs its token. In the last round only lack of time leaves work to a retry, and then the admin's turn is gone too.
    if (workLeft(plan, outcome) && (!lastRound || OUT_OF_TIME_OUTCOMES.has(outcome))) shared.waiting.set(plan.arn, plan.adminSecretArn);
    else shared.waiting.delete(plan.arn);
    const durationMs = Date.now() - started;
    // Wall time, not the sum of the turns': they overlap.
    shared.turns.since ??= started;
    shared.turns.count += 1;
    shared.turns.totalMs = Date.now() - shared.turns.since;
    return { plan, report, outcome, durationMs };
  };
  const chained = leavesFirst(going);
  await lists.prime(chained.filter((p) => !p.adminSecretArn).map((p) => ({ authority: p.current && selfAuthority(p.current, 'current'), orgId: orgOf(p) })));
  // On a retry of this request, the secrets an earlier attempt finished come last: their dead tokens cost a call each,
  // and the time goes first to those still to do. Only secrets no other leaving secret needs as its admin move, so
  // leaves still go before their admins.
  const livePending = (p: GoingSecret) => shared.admins.has(p.arn) || !!lists.find(p.current?.clientId ?? '') || !!p.adminSecretArn;
  const ordered = [...chained.filter(livePending), ...chained.filter((p) => !livePending(p))];
  const deferred: GoingSecret[] = [];
  // Several secrets' turns at once (each waits on Astra most of its time), the calls spaced under Astra's rate limit.
  // Deletions go one batch at a time, in order; an admin's turn goes alone, after every turn before it (leaves first).
  deps.astra.pace(ASTRA_CALL_INTERVAL_MS);
  let deletions: Promise<unknown> = Promise.resolve();
  await inTurns(ordered.length, deps.config.teardownTurnsAtOnce, (at) => shared.admins.has(ordered[at].arn), async (at) => {
    const batch = deletions.then(() => deleteAhead(ordered, at, { ...shared, lastRound: false }));
    deletions = batch.catch(() => undefined);
    await batch;
    const result = await run(ordered[at], false);
    // Its authority no longer authenticates and no list has been read yet to say what is left: judged at the end.
    if (result.outcome === AUTHORITY_DEAD_UNSEEN) deferred.push(ordered[at]);
    else results.set(ordered[at].arn, result);
  });
  for (const plan of deferred) results.set(plan.arn, await run(plan, false));
  // A failure that took no time (a deletion Secrets Manager did not answer, a list or a revocation Astra failed, an
  // admin that waited for one) gets a second round in this invocation, leaves first: a retry of the request comes only for lack of
  // time, so that how many invocations a request gets depends on no count another invocation could move.
  const again = leavesFirst([...results.values()]
    .filter((r) => workLeft(r.plan, r.outcome) && !OUT_OF_TIME_OUTCOMES.has(r.outcome)).map((r) => r.plan));
  if (again.length > 0 && deps.budget.allows(RESERVE_MS(deps))) {
    await sleep(SECOND_ROUND_PAUSE_MS);
    // An admin secret whose read failed is read again (its failure is remembered with the read).
    adminTokens.clear();
    for (const [at, plan] of again.entries()) {
      await deleteAhead(again, at, { ...shared, lastRound: true });
      results.set(plan.arn, await run(plan, true));
    }
  }
  // Work left for lack of time continues in Lambda's retry of this request (CloudFormation still waits for the answer;
  // the secrets not yet deleted still exist, the others are in the escrow), while the operation is young enough for
  // CloudFormation to wait for it. Revocations that failed with less than two calls' time left failed for lack of it.
  const timeIsUp = !deps.budget.allows(RESERVE_MS(deps));
  const unfinished = [...results.values()].filter((r) => workLeft(r.plan, r.outcome));
  const left: string[] = [];
  /** The secret's log line, and its alert if its tokens are not all known to be revoked. */
  const reportOn = ({ plan, report, outcome, durationMs }: { plan: GoingSecret; report: StepReport; outcome: string; durationMs: number }) => {
    writeLogLine(report.toLogLine(outcome, durationMs), redactor);
    if (staying.has(plan.arn)) {
      // In a cleanup CloudFormation goes on without it: the secret leaves the stack, whole, and nothing will revoke later.
      if (!wholeStack) writeLogLine(leftLiveAlert(plan.arn, [], outcome, 'leaves the stack, but', namedTokens(plan).filter((c): c is string => !!c)), redactor);
      return;
    }
    // A refusal a later search of the secret overcame (a pushed-out token revoked in its own list) is no claim left.
    const notProven = report.revocationsRefused.map((r) => r.clientId).filter((c) => !plan.revokedHere?.has(c));
    if (outcome.startsWith('left live') || report.clientIds.revocationFailed.length > 0 || notProven.length > 0) {
      left.push(plan.arn);
      // A secret the function deleted, or may have, leaves no other record of its tokens: those its values named go in
      // the alert as what they are, claims (a value writer may have named another team's token).
      const clientIds = [...new Set([...report.clientIds.revocationFailed, ...plan.markedLeftLive ?? []])];
      // Less those Astra answered revoked in this invocation.
      const revoked = plan.revokedHere ?? new Set();
      const unrevoked = (c: string | undefined): c is string => !!c && !clientIds.includes(c) && !revoked.has(c);
      const named = plan.deleted || workLeft(plan, outcome) ? namedTokens(plan).filter(unrevoked) : [];
      writeLogLine(leftLiveAlert(plan.arn, clientIds, outcome, plan.deleted ? 'was deleted, but' : undefined, [...new Set([...notProven, ...named])]), redactor);
    }
  };
  if (unfinished.length > 0 && timeIsUp && young) {
    // Done with, alerted or not: the retry does not come back to them (alerted first, as below).
    for (const r of results.values()) if (!unfinished.includes(r)) reportOn(r);
    await keepInEscrow(escrow.escrow, shared, redactor);
    throw new ContinueLater(`${unfinished.length} of ${going.length} secrets not reached in this invocation; Lambda's retry of the request continues`);
  }
  await keptAuthoritiesLast([...results.values()].map((r) => r.plan), deps);
  // Answered: what this invocation did not finish is an alert below. The entries of the secrets it deleted stay in the
  // escrow, for any later invocation to finish (on this teardown's next Delete, whatever operation sends it).
  // The alerts before the escrow write that drops their secrets' entries: killed in between, the retry alerts again.
  for (const r of results.values()) reportOn(r);
  for (const plan of plans) {
    if ('leftLive' in plan) {
      left.push(plan.arn);
      writeLogLine(leftLiveAlert(plan.arn, [], plan.leftLive, undefined, [...plan.named ?? []]), redactor);
    }
  }
  if (escrow.unreadable) {
    writeLogLine(leftLiveAlert('(secrets an earlier invocation of this operation deleted)', [], escrow.unreadable), redactor);
  }
  await keepInEscrow(escrow.escrow, shared, redactor);
  // Secrets an earlier invocation of this operation deleted and finished: gone, and no longer in the escrow.
  const earlier = plans.filter((p) => 'stays' in p && p.stays === GONE).length;
  const summary = `${confirmed.phase}: ${going.length - staying.size + earlier} of ${candidates.length} secrets deleted`
    + (earlier ? ` (${earlier} by an earlier attempt)` : '')
    + `, ${going.filter((p) => !left.includes(p.arn) && !staying.has(p.arn)).length} with every token revoked in this attempt`
    + (left.length ? `; tokens left live for ${left.join(', ')} (see the function's log)` : '');
  if (staying.size > 0 && wholeStack) {
    throw new TeardownBlocked(`${summary}; not deleted, so their tokens stay live: ${[...staying.keys()].join(', ')}. `
      + 'Secrets Manager refused to delete them (see the function\'s log: replicas, a resource policy, a pending operation); '
      + 'CloudFormation\'s own deletion would fail the same way. Remove the cause and retry: the teardown then revokes their tokens. '
      + 'Retaining this resource instead leaves their tokens live.');
  }
  return summary;
}

const OUT_OF_TIME = 'left live: the invocation ran out of time before this secret';
const OUT_OF_TIME_DURING = 'left live: the invocation ran out of time during this secret';
const OUT_OF_TIME_OUTCOMES = new Set([OUT_OF_TIME, OUT_OF_TIME_DURING]);
const REVOCATIONS_FAILED = 'left live: some revocations failed';
const LIST_NOT_READ_AGAIN = 'left live: the token list could not be read again after the deletion, so a token a rotation stored just before it '
  + 'may be unseen; what the list read before showed was revoked';
const AUTHORITY_DEAD_UNSEEN = 'left live: its authority no longer authenticates, and no token list of its org (as Astra named it) was read to say what is left';
const OTHER_ORG = 'left live: the token list its authority read is of another org than its values record';
const ORG_UNREAD = 'left live: Astra did not name the org of the token list its authority read (GET /v2/currentOrg failed), so nothing says it is '
  + 'the org its values record; what that list showed of the secret was revoked';
const PUSHED_OUT_UNREAD = 'left live: the token list of a token its earlier versions held could not be read';
const PUSHED_OUT_UNPROVEN = 'left live: its earlier versions hold live tokens that Astra does not list as its own (a value writer may have put '
  + 'another team\'s token there), so they were not revoked';
const PUSHED_OUT_VERSIONS_UNREAD = 'left live: its earlier versions could not be read, so the tokens values put over it may have moved there '
  + 'are unknown; its stages\' tokens were revoked';
/**
 * Final, though not known to be clean: nothing a second round or a retry does changes them (the token that read the list
 * has revoked itself, and no later list can say more than the alert does). Their entries leave the escrow.
 */
const UNCONFIRMABLE_NOW = new Set([ORG_UNREAD, PUSHED_OUT_UNPROVEN, PUSHED_OUT_VERSIONS_UNREAD]);
const MARKED_LEFT_LIVE = 'left live: tokens marked as its own are live in a token list of an org its values did not lead to (a value or escrow entry may name another org\'s token)';

/** Astra allows 5 calls a second: a little under, for clocks that do not quite agree. */
const ASTRA_CALL_INTERVAL_MS = 220;

/**
 * No retry follows an invocation that answers: the authorities kept for one revoke themselves now (nothing else would),
 * while two calls' time is left for the answer; those the time does not reach are named in the alert.
 */
async function keptAuthoritiesLast(plans: GoingSecret[], deps: TeardownDeps): Promise<void> {
  for (const plan of plans) {
    if (plan.keptAuthorities?.length && deps.budget.allows(2 * deps.config.httpTimeoutMs)) await revokeKept(plan, deps);
  }
}

/**
 * How long after the operation began (CloudFormation's clock) an invocation may still leave work to Lambda's retry of
 * the request rather than answer. Lambda retries an asynchronous invocation twice, about 1 and then 2 minutes after a
 * failure; an invocation may fail at once (a crash, out of memory) as well as at the end of its time, so the third and
 * last starts at least 3 minutes after the operation began, whatever the first two did, and must answer: the window
 * ends a minute before that (slack for Lambda's "about"). Whatever the function's timeout: 2 minutes.
 */
export const CONTINUATION_WINDOW_MS = 2 * 60_000;

/** Between the two rounds of one invocation: long enough for a passing fault to pass, short against the budget. */
const SECOND_ROUND_PAUSE_MS = 1_000;
/** Secrets deleted after one escrow write, at most: their entries take about 25 KB, and 245 secrets about 17 of the escrow's versions. */
const MAX_DELETION_BATCH = 16;
/** The least time a batch counts a secret's turn to take, however fast the turns so far went. */
const MIN_TURN_ESTIMATE_MS = 1_000;
/** Time up: less is left than two calls and the pause before a second round. */
const RESERVE_MS = (deps: Pick<TeardownDeps, 'config'>) => 2 * deps.config.httpTimeoutMs + SECOND_ROUND_PAUSE_MS;

const GONE = 'gone';
const WAITING_FOR_MINTED = 'left live: it waits for a secret it mints for, whose work is not done';
const ESCROW_BUSY = 'left live: not deleted yet, for other invocations kept writing the escrow';
const ESCROW_FULL_FOR_NOW = 'left live: not deleted yet, for the escrow is full of the entries of secrets whose turns are under way; the second round tries again';
const ESCROW_UNWRITTEN = 'left live: not deleted yet, for the escrow could not be written; the second round tries again';
const DELETION_UNANSWERED = 'left live: Secrets Manager did not answer its deletion';
/** Outcomes that already say why work is left: a failure once the time is up keeps them, any other becomes OUT_OF_TIME_DURING. */
const NAMED_CAUSES = new Set([
  OUT_OF_TIME, OUT_OF_TIME_DURING, REVOCATIONS_FAILED, AUTHORITY_DEAD_UNSEEN, MARKED_LEFT_LIVE, OTHER_ORG, ORG_UNREAD, DELETION_UNANSWERED,
  WAITING_FOR_MINTED,
]);

/** A secret CloudFormation deletes could not be deleted: the request fails so that the teardown outlives it. */
class TeardownBlocked extends Error {}

/** Thrown, unanswered, so that Lambda retries the request and the next invocation goes on from Astra's state. */
export class ContinueLater extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContinueLater';
  }
}

interface GoingSecret extends EscrowEntry {
  readonly going: true;
  /** Replicated to other regions: the function leaves its deletion to CloudFormation. */
  readonly replicated?: boolean;
  /** Deleted already, by this function (now or in an earlier attempt): its escrow entry is what is left of it. */
  deleted: boolean;
  /** When this invocation's DeleteSecret of it was answered (OrgTokenLists.moment): lists read before are read again. */
  deletedAt?: number;
  /** Its entry was written with a batch, and its DeleteSecret not sent yet. */
  writtenAhead?: boolean;
  /**
   * Its tokens left live once its revocation is over, named in the alert's clientIds: those marked as its own that a list
   * read in this invocation still shows (OrgTokenLists.markedLive), and its authority when kept for a later round.
   */
  markedLeftLive?: string[];
  /**
   * Self-rotating authorities kept live in this invocation, for a second round or Lambda's retry to revoke with: each
   * revokes itself at the end of the invocation unless a retry follows (keptAuthoritiesLast).
   */
  keptAuthorities?: KeptAuthority[];
  /** The tokens Astra answered revoked (or gone) in this invocation, over its rounds. */
  revokedHere?: Set<string>;
}

interface KeptAuthority {
  readonly authority: Authority;
  readonly evidence: OwnershipEvidence;
  readonly report: StepReport;
}

type SecretPlan = GoingSecret | { readonly arn: string; readonly stays: string }
  | { readonly arn: string; readonly leftLive: string; readonly named?: readonly string[]; readonly unread?: true };

/** What CloudFormation does to one listed secret, and what its tokens' revocation needs, read while it still exists. */
async function planFor(
  arn: string, phase: CommittedPhase, state: StackState, deps: TeardownDeps, redactor: Redactor, escrowed: OpenedEscrow,
  lists: OrgTokenLists,
): Promise<SecretPlan> {
  const log = (outcome: string) => writeLogLine({ level: 'INFO', step: 'teardown', secretArn: arn, outcome }, redactor);
  /** When the secret that holds this one's logical id now was created (only asked for a replaced secret). */
  const successorCreated = async (tags: SecretTags): Promise<Date | undefined> => {
    const logicalId = tags?.find((t) => t.Key === 'aws:cloudformation:logical-id')?.Value;
    const successor = logicalId ? state.resources.find((r) => r.logicalId === logicalId)?.physicalId : undefined;
    if (!successor || successor === arn || !state.template.Resources?.[logicalId!]) return undefined;
    try {
      const found = await deps.store.describeIfAllowed(successor);
      return 'found' in found ? found.found.CreatedDate : undefined;
    } catch {
      return undefined;
    }
  };
  let answer;
  try {
    answer = await deps.store.describeIfAllowed(arn);
  } catch (error) {
    return { arn, leftLive: `the secret could not be described (${messageOf(error)})`, unread: true };
  }
  const entry = escrowed.entries.find((e) => e.arn === arn);
  // Deleted by an earlier invocation of this operation, which escrowed what its revocation needs before it did. A secret
  // that no longer exists has no tags, so the role's tag condition answers AccessDenied for it as often as NotFound.
  // An entry written ahead of its DeleteSecret (a batch cut short) counts only where the secret is not found: one that
  // still exists may answer AccessDenied (a Deny) or show a DeletedDate (scheduled by someone, restorable) too.
  // A secret with a DeletedDate still exists, with its tags: CloudFormation's plan for it is judged below, as for any other.
  const notFound = 'missing' in answer && answer.missing === 'not-found';
  if (entry && (entry.writtenAhead ? notFound : 'missing' in answer)) return { ...entry, writtenAhead: false, going: true, deleted: true };
  // Deleted in an earlier operation whose last invocation did not finish (a crash, a failed revocation): only NotFound
  // says so, since another operation's entry proves nothing about a secret that answers AccessDenied.
  const older = escrowed.earlier.find((e) => e.entry.arn === arn)?.entry;
  if (older && notFound) return { ...older, going: true, deleted: true };
  if ('missing' in answer) {
    if (answer.missing === 'not-found') {
      log('skipped: the secret no longer exists');
      return { arn, stays: GONE };
    }
    if (!entry && !older) {
      // Only the function's role may write the escrow: a record of this operation's, and a secret hidden since, is one it deleted.
      if (escrowed.finished.has(finishedId(arn))) {
        log('skipped: an earlier invocation of this operation deleted it and revoked its tokens');
        return { arn, stays: GONE };
      }
      return { arn, leftLive: 'the secret could not be described (AccessDeniedException: the rotation function\'s role may not read it)' };
    }
    // Deleted by the function, or still there behind a Deny: nothing says which, so its tokens are named, not revoked.
    const written = (entry ?? older)!;
    return {
      arn,
      leftLive: 'the secret could not be described (AccessDeniedException): the function may have deleted it, for its escrow entry was written '
        + 'before its DeleteSecret, or it still exists and a Deny keeps the role from it. Its tokens were not revoked',
      named: [...new Set([...namedTokens(written), ...written.held.map((t) => t.clientId)].filter((c): c is string => !!c))],
    };
  }
  const description = answer.found;
  const facts = { arn, tags: description.Tags, createdDate: description.CreatedDate, successorCreatedDate: await successorCreated(description.Tags) };
  const fate = secretFate(phase, facts, state);
  if (fate.unknown) return { arn, leftLive: fate.why };
  if (!fate.going) {
    log(`skipped: CloudFormation does not delete it (${fate.why})`);
    return { arn, stays: fate.why };
  }
  let adminSecretArn: string | undefined;
  try {
    adminSecretArn = readBinding(description.Tags, arn).adminSecretArn;
  } catch (error) {
    return { arn, leftLive: messageOf(error) };
  }
  const versions = {
    current: versionWithStage(description.VersionIdsToStages, AWSCURRENT),
    previous: versionWithStage(description.VersionIdsToStages, AWSPREVIOUS),
  };
  try {
    const read = async (stage: string, versionId: string | undefined) => {
      if (!versionId) return undefined;
      const text = await deps.store.valueOf(arn, { versionId, stage });
      // DescribeSecret listed the version under the stage: not found now is a secret deleted since, not one without a token.
      if (text === undefined) throw new SecretGone(arn, `GetSecretValue(${stage})`);
      return text ? parseSecretString(text, stage, redactor) : undefined;
    };
    const [current, previous] = [await read(AWSCURRENT, versions.current), await read(AWSPREVIOUS, versions.previous)];
    // The versions a pending revocation names are read now: once the function deletes the secret, nothing can be.
    // In turns: a value writer's put leaves the function's own value in one stage or the other, its long list in either;
    // and every version either names for a clientId is looked at (a writer's hint may name the wrong one).
    const held = await new HeldTokens(deps.store, arn, redactor, current?.pendingRevocationVersions, previous?.pendingRevocationVersions)
      .add(current, versions.current).add(previous, versions.previous)
      .readHinted(alternating(current?.pendingRevocations ?? [], previous?.pendingRevocations ?? []));
    // A value put over a self-rotating secret (twice: over AWSPREVIOUS too) moves its tokens out of every stage, and
    // no token of their org is left to list them by their mark: its unlabelled versions still hold them.
    const rotations = !!adminSecretArn || await currentIsRotations(arn, current, versions.current, lists);
    let pushedOut: EscrowedToken[] = [];
    let pushedOutUnread: string | undefined;
    try {
      if (!rotations) pushedOut = await readPushedOut(deps.store, arn, new Set(held.known().map((t) => t.clientId)), redactor);
    } catch (error) {
      // Deleted while it was read: planned again, the secret is what DescribeSecret finds then.
      if (error instanceof SecretGone) throw error;
      // Goes on without them: its stages' tokens are still revoked, with what their lists mark as its own, and the alert
      // says its earlier versions are unknown. (The SDK has retried the read already; a KMS key that no longer decrypts
      // an old version stays so.)
      pushedOutUnread = messageOf(error);
    }
    const replicated = (description.ReplicationStatus ?? []).length > 0;
    const found = { ...pushedOut.length ? { pushedOut } : {}, ...pushedOutUnread ? { pushedOutUnread } : {} };
    const values = { arn, adminSecretArn, current, previous, versions, held: held.known(), ...found };
    return { ...values, going: true, deleted: false, replicated };
  } catch (error) {
    // Scheduled for deletion (its values cannot be read), with an entry (of this operation, or kept by an earlier one that
    // could not delete it): deleted first, from the entry. Its fate was judged above; its tokens are judged by the rule.
    const written = entry ?? older;
    if (written && description.DeletedDate) {
      // Its DeleteSecret is not sent in this turn yet: the entry written next must say so, whatever the old one said.
      const replicated = (description.ReplicationStatus ?? []).length > 0;
      return { ...written, going: true, deleted: false, writtenAhead: true, replicated, adminSecretArn };
    }
    // A failure to read is a failure: the secret's tokens cannot be found without its values.
    return { arn, leftLive: `its values could not be read (${messageOf(error)})`, unread: true };
  }
}

/**
 * The teardown's escrow, as the stack's template declares it (its `Escrow` property, resolved through the stack), and
 * the entries earlier invocations of this operation left there. Never from the request. A teardown the template no
 * longer declares (its function left the stack), or an operation whose start CloudFormation does not say, has none:
 * its secrets' tokens are revoked before CloudFormation deletes them.
 */
async function openEscrow(state: StackState, request: CustomResourceEvent, deps: TeardownDeps, redactor: Redactor): Promise<OpenedEscrow> {
  const arn = physicalIdOfRef(state, state.template.Resources?.[request.LogicalResourceId]?.Properties?.Escrow);
  if (!arn || !state.operationStartedAt) return { entries: [], earlier: [], finished: new Set() };
  // From CloudFormation's state alone (confirmDeletion): the phase, when it began, and which teardown it deletes.
  const operation = `${state.status} ${state.operationStartedAt.toISOString()} ${request.LogicalResourceId}`;
  const escrow = new TeardownEscrow(deps.store, arn, operation, redactor);
  try {
    const { entries: all, finished } = await escrow.contents();
    const ofThisOperation = all.filter((e) => e.operation === operation);
    return { escrow, entries: ofThisOperation.map((e) => e.entry), earlier: all.filter((e) => !ofThisOperation.includes(e)), finished };
  } catch (error) {
    return {
      entries: [],
      earlier: [],
      finished: new Set(),
      unreadable: `the teardown's escrow ${arn} could not be read (${messageOf(error)}), so secrets an earlier invocation deleted may keep live tokens`,
    };
  }
}

interface OpenedEscrow {
  readonly escrow?: TeardownEscrow;
  /** Entries this operation's invocations wrote. */
  readonly entries: readonly EscrowEntry[];
  /** Entries earlier operations left. */
  readonly earlier: readonly OperationEntry[];
  /** The secrets (finishedId) earlier invocations of this operation deleted and finished clean. */
  readonly finished: ReadonlySet<string>;
  readonly unreadable?: string;
}

/** This invocation is done with the secret: its escrow entry, if any, goes with the next write. */
function settle(run: Pick<TeardownRun, 'inFlight' | 'done'>, arn: string): void {
  run.inFlight.delete(arn);
  run.done.add(arn);
}

/** The escrow's content at the end of this invocation. A failure leaves what it held before, and says so. */
async function keepInEscrow(escrow: TeardownEscrow | undefined, run: Pick<TeardownRun, 'inFlight' | 'done' | 'finished'>, redactor: Redactor): Promise<void> {
  try {
    await escrow?.write([...run.inFlight.values()], run.done, run.finished);
  } catch (error) {
    writeLogLine({ level: 'ERROR', step: 'teardown', outcome: `the escrow ${escrow!.arn} could not be written: ${messageOf(error)}` }, redactor);
  }
}

/** The ARNs the stack's template lists for this teardown resource: its own secrets, resolved through the stack. */
export function declaredSecretArns(state: StackState, logicalId: string): string[] {
  return entryArns(state.template.Resources?.[logicalId]?.Properties?.Secrets, (arn) => physicalIdOfRef(state, arn));
}

/** What a template's `{Ref: <logical id>}` stands for now: that resource's physical id, as the stack lists it. */
function physicalIdOfRef(state: StackState, value: unknown): string | undefined {
  const ref = ((value ?? {}) as { Ref?: unknown }).Ref;
  return typeof ref === 'string' ? state.resources.find((r) => r.logicalId === ref)?.physicalId : undefined;
}

/**
 * The order of revocation: a secret minted by another leaving secret goes before that admin, through any depth of
 * chain (root -> mid -> leaf revokes leaf, mid, root), so that no authority is revoked while it still has tokens to
 * revoke. Secrets in a cycle (not something the construct builds) keep their listed order.
 */
export function leavesFirst<T extends { readonly arn: string; readonly adminSecretArn?: string }>(secrets: readonly T[]): T[] {
  const byArn = new Map(secrets.map((s) => [s.arn, s]));
  const minted = new Map<string, T[]>();
  for (const s of secrets) {
    if (s.adminSecretArn && byArn.has(s.adminSecretArn)) minted.set(s.adminSecretArn, [...minted.get(s.adminSecretArn) ?? [], s]);
  }
  const ordered: T[] = [];
  const visiting = new Set<string>();
  const visit = (s: T) => {
    if (ordered.includes(s) || visiting.has(s.arn)) return;
    visiting.add(s.arn);
    for (const child of minted.get(s.arn) ?? []) visit(child);
    ordered.push(s);
  };
  for (const s of secrets) visit(s);
  return ordered;
}


interface TeardownRun {
  readonly deps: TeardownDeps;
  readonly report: StepReport;
  readonly lists: OrgTokenLists;
  readonly adminTokens: Map<string, Promise<Authority>>;
  /** A stack deletion or create rollback: CloudFormation stops at a failed resource (in a cleanup it goes on). */
  readonly wholeStack: boolean;
  readonly escrow?: TeardownEscrow;
  /** Why there is no escrow to use, when there is none. */
  readonly withoutEscrow: string;
  /** The secrets the function deleted whose revocation is not over: what the escrow must hold. */
  readonly inFlight: Map<string, GoingSecret>;
  /** The secrets this invocation is done with: their entries leave the escrow. */
  readonly done: Set<string>;
  /** Of those, the secrets deleted, every token revoked and no alert owed: the escrow records them for a retry. */
  readonly finished: Set<string>;
  /** Whether a failed escrow write was reported in this invocation, and whether one held a secret back for later. */
  readonly escrowProblem: { reported: boolean; heldBack: boolean };
  /** The second round: no other comes in this invocation. */
  readonly lastRound: boolean;
  /** The operation is young enough for Lambda's retry of the request to continue this invocation's work. */
  readonly young: boolean;
  /** Secrets that stay for now, whose entries the escrow keeps: their deletion may be under way. */
  readonly kept: Set<string>;
  /** The leaving secrets that mint for another leaving secret: each is deleted alone, in its turn after theirs. */
  readonly admins: ReadonlySet<string>;
  /** Deletions made ahead of the secrets' turns (deleteAhead), each taken by its secret's turn. */
  readonly deletions: Map<string, DeletionStep>;
  /** The secrets' turns ended so far in this invocation, and the time since the first began: what a batch's size is judged by. */
  readonly turns: { count: number; totalMs: number; since?: number };
  /** Secrets that stay (their deletion was refused, or a secret they mint for stays), with the admin each needs. */
  readonly staying: Map<string, string | undefined>;
  /** Secrets whose work continues in a retry of the request, with their admin, which must wait for them. */
  readonly waiting: Map<string, string | undefined>;
}

/**
 * The order that leaves no secret with a dead token: the secret goes first, then its tokens. What the revocation needs
 * goes into the escrow before the deletion, so a kill in between loses nothing. A secret Secrets Manager will not
 * delete stays with its tokens live (CloudFormation's deletion of it fails the same way), and in a stack deletion or
 * create rollback so does an admin secret it needs. Without an escrow, where the role may not delete the secret, or
 * for a secret with replicas (CloudFormation removes those itself), the tokens are revoked first and CloudFormation
 * deletes the secret afterwards, as before the escrow existed.
 */
async function deleteThenRevoke(plan: GoingSecret, run: TeardownRun): Promise<string> {
  const { deps, report, lists, adminTokens, escrow, staying } = run;
  const mintedFor = (secrets: Map<string, string | undefined>) => [...secrets].find(([, admin]) => admin === plan.arn)?.[0];
  const stays = run.wholeStack ? mintedFor(staying) : undefined;
  if (stays) {
    staying.set(plan.arn, plan.adminSecretArn);
    return `left live: it stays, for the secret ${stays} it mints for stays with live tokens`;
  }
  if (mintedFor(run.waiting)) return WAITING_FOR_MINTED;
  const revoke = () => revokeSecretTokens(plan, deps, report, lists, adminTokens);
  const revokeFirst = (why: string) => {
    writeLogLine({ level: 'WARN', step: 'teardown', secretArn: plan.arn, outcome: `revoking its tokens before CloudFormation deletes it: ${why}` }, deps.redactor);
    return revoke();
  };
  const step = takeDeletion(run, plan.arn);
  if (!step && plan.deleted) return revoke();
  if (!escrow) return revokeFirst(run.withoutEscrow);
  if (plan.replicated) return revokeFirst('it has replica regions, which CloudFormation removes before it deletes the secret');
  const deletion = step ?? await deleteAlone(plan, run);
  if ('outcome' in deletion) {
    if (deletion.failure) report.revocationFailures.push({ clientId: '(none: the secret\'s deletion)', reason: deletion.failure });
    return deletion.outcome;
  }
  return 'revokeFirst' in deletion ? revokeFirst(deletion.revokeFirst) : revoke();
}

/** What a batch of deletions shares with the secrets' turns: all of a turn but its report. */
type BatchRun = Omit<TeardownRun, 'report'>;

/** What deleting a secret came to: deleted (its tokens are revoked next), left as it is, or to be revoked first. */
type DeletionStep = { readonly deleted: true } | { readonly outcome: string; readonly failure?: string } | { readonly revokeFirst: string };

/** Whether a secret may be deleted in a batch: one the function deletes itself and that no leaving secret needs as its admin. */
function batchable(plan: GoingSecret, run: BatchRun): boolean {
  return !plan.deleted && !!run.escrow && !plan.replicated && !run.admins.has(plan.arn) && !run.deletions.has(plan.arn);
}

/**
 * Deletes the secrets from `plans[at]` on that may go together, with one escrow write before them all: each escrow
 * write is a version of the escrow, and Secrets Manager keeps only about 100 versions younger than a day, so one write
 * per secret would run a 245-secret deletion out of them. The secrets are deleted right after the write; their entries
 * are marked as written ahead until their DeleteSecrets are answered, for a kill in between, or a lost answer, leaves
 * entries of secrets that may still exist (planFor trusts those on NotFound alone). Their tokens are revoked in their
 * turns (deleteThenRevoke), so no more are deleted at once than get a turn in this invocation, judged by the turns so far.
 */
async function deleteAhead(plans: readonly GoingSecret[], at: number, run: BatchRun): Promise<void> {
  const { budget, config } = run.deps;
  if (!batchable(plans[at], run) || !budget.allows(config.httpTimeoutMs)) return;
  // Twice the time per turn so far, or a call's timeout before any: a batch's secrets are revoked in this invocation.
  const perSecretMs = run.turns.count ? Math.max(MIN_TURN_ESTIMATE_MS, 2 * run.turns.totalMs / run.turns.count) : config.httpTimeoutMs;
  // As many as get a turn in this invocation: a turn starts while a call's timeout is left.
  const fits = Math.floor((budget.remainingMs() - config.httpTimeoutMs) / perSecretMs);
  const size = Math.max(1, Math.min(MAX_DELETION_BATCH, fits));
  const batch: GoingSecret[] = [];
  for (let i = at; i < plans.length && batch.length < size && batchable(plans[i], run); i++) batch.push(plans[i]);
  await escrowThenDelete(batch, run);
}

/** The deletion of a secret that goes alone: an admin, in its turn, or one left over from a batch. */
async function deleteAlone(plan: GoingSecret, run: TeardownRun): Promise<DeletionStep> {
  await escrowThenDelete([plan], run);
  return takeDeletion(run, plan.arn)!;
}

/** The secret's deletion step made ahead of its turn, if any, taken out of the run. */
function takeDeletion(run: BatchRun, arn: string): DeletionStep | undefined {
  const step = run.deletions.get(arn);
  run.deletions.delete(arn);
  return step;
}

/**
 * Writes the escrow entries of as many of `batch` as fit (from the first), then deletes those secrets: a step for each
 * in `run.deletions`. The secrets left out get their own write in their turn.
 */
async function escrowThenDelete(batch: readonly GoingSecret[], run: BatchRun): Promise<void> {
  const { deps, escrow } = run;
  let written = batch;
  // A secret whose DeleteSecret was sent already (its answer lost) keeps its entry's word: deleted or not, it was sent.
  for (const plan of batch) plan.writtenAhead ??= true;
  for (;;) {
    try {
      await escrow!.write([...new Map([...run.inFlight, ...written.map((p) => [p.arn, p] as const)]).values()], run.done, run.finished);
      break;
    } catch (error) {
      if (error instanceof EscrowFull && written.length > 1) {
        written = written.slice(0, Math.ceil(written.length / 2));
        continue;
      }
      // A refusal will not pass: the batch goes the old way. Other invocations writing the escrow, or a failure that may pass
      // (a timeout, a server error), hold back only the first secret of the batch: the others try their own write in their
      // turns, so one failure costs one secret. That one waits, undeleted with its tokens, for the second round or a retry
      // while the operation is young (only then is one sure to come: the turns after this one may use the time up), and
      // otherwise goes the old way, as it did before batches.
      // Full of this invocation's own entries, whose secrets' turns are under way: their entries leave it as they end.
      if (error instanceof EscrowFull && !run.lastRound && [...run.inFlight.keys()].some((arn) => !written.some((p) => p.arn === arn))) {
        for (const plan of written) run.deletions.set(plan.arn, { outcome: ESCROW_FULL_FOR_NOW });
        return;
      }
      const refused = error instanceof EscrowFull || (error instanceof SecretsManagerFailure && error.refused);
      // One secret an invocation: an outage that lasts would otherwise hold every secret back, at a timeout each.
      const waits = !refused && !run.lastRound && run.young && !run.escrowProblem.heldBack;
      if (waits && !(error instanceof EscrowBusy)) run.escrowProblem.heldBack = true;
      const passing = error instanceof EscrowBusy ? ESCROW_BUSY : waits ? `${ESCROW_UNWRITTEN} (${messageOf(error)})` : undefined;
      const step = passing ? { outcome: passing } : { revokeFirst: `the escrow could not be written (${messageOf(error)})` };
      if (!passing && !run.escrowProblem.reported) {
        run.escrowProblem.reported = true;
        // Once per invocation: every secret after this one goes the old way, and a deletion that then fails half-way leaves
        // secrets with revoked tokens. A full escrow stays full until its entries' tokens are revoked.
        writeLogLine({
          level: 'ERROR',
          step: 'teardown',
          outcome: `the escrow ${escrow!.arn} could not be written (${messageOf(error)}): secrets are revoked before CloudFormation deletes them. `
            + 'If it is full, the function\'s log names the secrets whose tokens it holds (TokensLeftLiveOnDeletion): revoke them, then empty the escrow: '
            + 'its resource policy lets only the function\'s role write it, so delete that policy (DeleteResourcePolicy), put {}, and put the policy back '
            + '(PutResourcePolicy, with the document in the stack\'s template). '
            + 'If it is out of versions (LimitExceededException: Secrets Manager keeps about 100 younger than a day), it takes writes again as they age.',
        }, deps.redactor);
      }
      for (const plan of refused ? written : written.slice(0, 1)) run.deletions.set(plan.arn, step);
      return;
    }
  }
  for (const plan of written) run.inFlight.set(plan.arn, plan);
  for (const plan of written) run.deletions.set(plan.arn, await deleteEscrowed(plan, run));
  // In a cleanup a deleted secret answers AccessDenied (its tags are gone, and so is its ARN from the role's policy), which
  // an entry written ahead does not count on: the entries say at once that their DeleteSecrets were sent. In a stack
  // deletion or create rollback the role still names the secrets, so a deleted one is not found, and the next write says so.
  if (!run.wholeStack) await keepInEscrow(escrow, run, deps.redactor);
}

/**
 * What a DeleteSecret that failed did: Secrets Manager says, where it can. A secret still there (its deletion under way,
 * with a DeletedDate, or not done) gets the DeleteSecret again, once, and its answer, or Secrets Manager's after it,
 * says. Unanswered: the entry stays marked, and counts only where the secret is not found.
 */
async function settleDeletion(plan: GoingSecret, run: BatchRun, error: unknown): Promise<Deletion | { outcome: string; failure: string }> {
  const { deps } = run;
  const unanswered = { outcome: DELETION_UNANSWERED, failure: deps.redactor.redact(messageOf(error)) };
  for (let sentAgain = false; ; sentAgain = true) {
    const answer = await deps.store.describeIfAllowed(plan.arn).catch(() => undefined);
    if (!answer) return unanswered;
    if ('missing' in answer) return { deleted: 'now' };
    if (sentAgain) return unanswered;
    const again = await deps.store.deleteForever(plan.arn).catch(() => undefined);
    if (again) return again;
  }
}

/** DeleteSecret on a secret whose escrow entry is written, and what came of it. */
async function deleteEscrowed(plan: GoingSecret, run: BatchRun): Promise<DeletionStep> {
  const { deps, staying } = run;
  let deletion;
  try {
    deletion = await deps.store.deleteForever(plan.arn);
  } catch (error) {
    deletion = await settleDeletion(plan, run, error);
    if ('outcome' in deletion) return deletion;
  }
  if ('refused' in deletion && deletion.refused === 'cannot-delete') {
    // A secret being deleted (by an earlier DeleteSecret of ours, or scheduled by someone) is refused too: only one that
    // shows no DeletedDate stays. Not found since: deleted. Otherwise nothing says: the second round asks again, and in
    // the last it stays (admins held, FAILED in a stack deletion) with its entry kept, for a retry to find it gone.
    const answer = await deps.store.describeIfAllowed(plan.arn).catch(() => undefined);
    if (answer && 'missing' in answer && answer.missing === 'not-found') {
      deletion = { deleted: 'now' as const };
    } else if (!answer || 'missing' in answer || answer.found.DeletedDate) {
      if (!run.lastRound) return { outcome: DELETION_UNANSWERED, failure: deps.redactor.redact(deletion.why) };
      run.kept.add(plan.arn);
      staying.set(plan.arn, plan.adminSecretArn);
      return { outcome: `left live: Secrets Manager refused to delete it (${deletion.why}) while its deletion may be under way; it stays for now, and so do its tokens` };
    }
  }
  if ('refused' in deletion) {
    settle(run, plan.arn);
    if (deletion.refused === 'access-denied') return { revokeFirst: `the function may not delete it (${deletion.why})` };
    staying.set(plan.arn, plan.adminSecretArn);
    return { outcome: `left live: Secrets Manager refused to delete it (${deletion.why}); it stays, and so do its tokens` };
  }
  plan.deleted = true;
  plan.deletedAt = run.lists.moment();
  plan.writtenAhead = false;
  return { deleted: true };
}

/**
 * AWSCURRENT's and AWSPREVIOUS's tokens, every token marked as the secret's, and what AWSCURRENT still owes, each
 * under the revocation rule. A self-rotating secret's last token can only revoke itself: that is the one
 * self-revocation the design allows. One token list per authority serves every secret it minted.
 */
async function revokeSecretTokens(
  plan: GoingSecret, deps: TeardownDeps, report: StepReport, lists: OrgTokenLists, adminTokens: Map<string, Promise<Authority>>,
): Promise<string> {
  // First: what they revoke leaves the lists, so the stages' search judges only what is left.
  const pushed = plan.pushedOut?.length ? await searchPushedOut(plan, { astra: deps.astra, report, redactor: deps.redactor }, lists) : undefined;
  let outcome = await searchWith(plan, deps, report, lists, adminTokens);
  if (!outcome.startsWith('left live')) {
    if (pushed?.unread.length) outcome = PUSHED_OUT_UNREAD;
    else if (pushed?.unproven.length) outcome = PUSHED_OUT_UNPROVEN;
    else if (plan.pushedOutUnread) outcome = PUSHED_OUT_VERSIONS_UNREAD;
  }
  // Nothing comes back to a secret whose work is over: an authority kept to ask Astra for an org again goes now.
  if (!outcome.startsWith('left live')) await revokeKept(plan, deps);
  return outcome;
}

/**
 * One authority's search of its token list: what it shows of the secret is revoked, the authority last. `chosen`: the
 * token of a stage its first list did not show, which searches its own org's list.
 */
async function searchWith(
  plan: GoingSecret, deps: TeardownDeps, report: StepReport, lists: OrgTokenLists, adminTokens: Map<string, Promise<Authority>>,
  chosen?: Authority,
): Promise<string> {
  const context = { astra: deps.astra, report, redactor: deps.redactor };
  let authority: Authority | undefined = chosen;
  try {
    const admin = plan.adminSecretArn;
    if (admin && !adminTokens.has(admin)) adminTokens.set(admin, adminAuthority(deps, admin));
    authority ??= admin ? await adminTokens.get(admin)! : selfTeardownAuthority(plan, lists);
  } catch (error) {
    return `left live: ${messageOf(error)}`;
  }
  if (!authority) {
    // A self-rotating secret that never held a token (the bootstrap was never stored) has nothing to revoke.
    return plan.current?.astraKey || plan.previous?.astraKey ? 'left live: AWSCURRENT holds no token to revoke with' : 'nothing to revoke: the secret never held a token';
  }
  let listed: AstraClientEntry[];
  let listedWithIt: boolean;
  let listOrg: string | undefined;
  let stale: true | undefined;
  const recordedOrg = orgOf(plan, authority);
  try {
    ({ listed, listedWithIt, listOrg, stale } = await lists.listFor(authority, recordedOrg, plan.deletedAt));
  } catch (error) {
    if (!(error instanceof DeadAuthority)) return `left live: the token list could not be read (${messageOf(error)})`;
    // The other stage's token searches its own list (a value writer may have put a dead token in AWSCURRENT, moving the
    // secret's live one to AWSPREVIOUS). What that list shows is judged as any list is: Astra's word on its org or an alert.
    const other = otherStageAuthority(plan, authority, chosen);
    if (other) return searchWith(plan, deps, report, lists, adminTokens, other);
    // A list of its org, as Astra named it, read with another token says whether anything of the secret is left.
    const left = lists.shown(namedTokens(plan), plan.arn, recordedOrg)?.filter((c) => !keptLive(plan).has(c));
    plan.markedLeftLive = [...new Set([...plan.markedLeftLive ?? [], ...lists.markedLive(plan.arn)])];
    const markedOthers = plan.markedLeftLive.filter((c) => !keptLive(plan).has(c));
    if (left === undefined) return markedOthers.length ? MARKED_LEFT_LIVE : AUTHORITY_DEAD_UNSEEN;
    return left.length === 0 && markedOthers.length === 0 ? 'revoked: nothing of the secret is live any more'
      : `left live: ${authority.description} no longer authenticates, so it cannot revoke the secret's tokens`;
  }
  // Before the revocations take their tokens out of it (OrgTokenLists.forget).
  const searched = new Set(listed.map((c) => c.clientId));
  const held = new HeldTokens(deps.store, plan.arn, deps.redactor);
  for (const token of plan.held) held.add({ clientId: token.clientId, astraKey: token.token }, token.versionId);
  // A self-rotating secret's token that just listed the org's tokens authenticated: possession is proven.
  const evidence = { secretArn: plan.arn, listed, held, proven: listedWithIt && !plan.adminSecretArn ? [authority.clientId] : [] };
  const candidates = [...markedTokens(listed, plan.arn), ...namedTokens(plan)];
  await revokeOwned(context, authority, candidates, evidence);
  // Every stage that holds a token; those whose value records an org were written by a rotation.
  const stages = [plan.current, plan.previous].filter((v): v is NonNullable<typeof v> => !!v?.astraKey);
  const recorded = stages.filter((v) => !!v.orgId);
  // The authority goes last, and only once the rest is gone: a failure keeps it for the second round or Lambda's retry,
  // and at the end of the invocation it goes whatever failed, unless a retry follows (keptAuthoritiesLast).
  const failed = report.clientIds.revocationFailed;
  // A list not read again since the deletion needs the authority for the read that comes next.
  const keep = failed.length > 0 || !!stale;
  if (!plan.adminSecretArn) {
    // Kept from an earlier round, it is kept with what this round read, or leaves the kept ones once revoked.
    plan.keptAuthorities = (plan.keptAuthorities ?? []).filter((k) => k.authority.bearer !== authority!.bearer);
    if (keep) plan.keptAuthorities.push({ authority, evidence, report });
    else await revokeOwned(context, authority, [authority.clientId], evidence, { revokeAuthority: true });
  }
  const revokedHere = plan.revokedHere ??= new Set();
  for (const c of [...report.clientIds.revoked, ...report.clientIds.alreadyRevoked]) revokedHere.add(c);
  lists.forget([...revokedHere]);
  const judged = new Set([...report.revocationsRefused.map((r) => r.clientId), ...failed]);
  // Kept, and proven by the list it read: one to revoke, if no later round or retry does (an unproven one is named as a claim).
  const keptProven = keep && !plan.adminSecretArn && listedWithIt && authority.clientId ? [authority.clientId] : [];
  const before = chosen ? plan.markedLeftLive ?? [] : [];
  plan.markedLeftLive = [...new Set([...before, ...lists.markedLive(plan.arn), ...keptProven])].filter((c) => !judged.has(c));
  if (failed.length > 0) return REVOCATIONS_FAILED;
  // What it showed is revoked; what a rotation stored after it was read, before the deletion, is not seen yet.
  if (stale) return LIST_NOT_READ_AGAIN;
  // The list may be of another org than the one the values record: the authority another org's token (a value writer
  // may have put one in AWSCURRENT), which found nothing of the secret's there. Where Astra names the list's org: the
  // stages if none records it, else those that record another and whose token the list neither showed nor revoked.
  // Where it did not: the stages whose token the list neither showed nor revoked (those are of another org for certain).
  // A self-rotating secret's token of such a stage searches its own list in turn, once; otherwise it is reported.
  // A kept authority searched its own list as the others did: its stage is searched, though the token stays live for now.
  const done = new Set([...revokedHere, ...keptLive(plan)]);
  // A dead token (the authority a search began with) has nothing to search.
  const left = (v: NonNullable<GoingSecret['current']>) => !searched.has(v.clientId ?? '') && !done.has(v.clientId ?? '') && !lists.isDead(v.astraKey);
  // A stage that records no org (the bootstrap token, moved to AWSPREVIOUS by a value put over it) is unsearched
  // wherever the list neither showed nor revoked its token. Where no stage records the org Astra named for the list, every
  // stage that records one is. Where one does, the stages the list neither showed nor revoked are, whatever org they
  // record: a value writer may relabel the real token's stage with the org of the list their own token read. An admin
  // mints in its own org: there only a stage that records another org is. A record can raise doubt, never settle it.
  const unrecordedLeft = stages.filter((v) => !v.orgId && left(v));
  let unsearched = [...recorded, ...unrecordedLeft];
  if (listOrg === undefined) unsearched = plan.adminSecretArn ? [] : stages.filter(left);
  else if (recorded.some((v) => v.orgId === listOrg)) unsearched = stages.filter((v) => (!plan.adminSecretArn || v.orgId !== listOrg) && left(v));
  // Where Astra did not name the list's org, nothing says it is the org the values record: a value writer may have put a
  // token of their own org in both stages (with one that cannot read its org, currentOrg never answers for it).
  const orgUnread = listOrg === undefined && !plan.adminSecretArn && stages.length > 0;
  if (unsearched.length === 0) return orgUnread ? ORG_UNREAD : plan.markedLeftLive.some((c) => !keptLive(plan).has(c)) ? MARKED_LEFT_LIVE : 'revoked';
  const other = otherStageAuthority(plan, authority, chosen, unsearched);
  if (!other) return OTHER_ORG;
  const outcome = await searchWith(plan, deps, report, lists, adminTokens, other);
  // Its token dead, and no list of its org named: what is left is as unconfirmed as the first list's org.
  return orgUnread && outcome === AUTHORITY_DEAD_UNSEEN ? ORG_UNREAD : outcome;
}

/** A self-rotating secret's token of another stage than the authority's (of `among`), for a search of its own: once. */
function otherStageAuthority(
  plan: GoingSecret, authority: Authority, chosen: Authority | undefined, among: ReadonlyArray<GoingSecret['current']> = [plan.current, plan.previous],
): Authority | undefined {
  if (plan.adminSecretArn || chosen) return undefined;
  return among.map((v) => v && selfAuthority(v, v === plan.current ? 'current' : 'previous')).find((a) => a && a.bearer !== authority.bearer);
}

/**
 * The authorities a secret's search kept revoke themselves: once nothing else will come back to the secret (its work
 * is over, or the invocation answers). Each is named in the alert while it stays live.
 */
async function revokeKept(plan: GoingSecret, deps: TeardownDeps): Promise<void> {
  for (const { authority, evidence, report } of plan.keptAuthorities ?? []) {
    await revokeOwned({ astra: deps.astra, report, redactor: deps.redactor }, authority, [authority.clientId], evidence, { revokeAuthority: true });
    for (const c of [...report.clientIds.revoked, ...report.clientIds.alreadyRevoked]) (plan.revokedHere ??= new Set()).add(c);
    plan.markedLeftLive = plan.markedLeftLive?.filter((c) => !plan.revokedHere!.has(c));
  }
  plan.keptAuthorities = [];
}

/** The clientIds of the authorities a secret's search keeps live for now. */
function keptLive(plan: GoingSecret): Set<string> {
  return new Set((plan.keptAuthorities ?? []).map((k) => k.authority.clientId).filter((c): c is string => !!c));
}

/** The org of the secret's tokens, as the mint answer recorded it in the value (the authority's own stage's, if it is one). */
function orgOf(plan: GoingSecret, authority?: Authority): string | undefined {
  const stage = authority && [plan.current, plan.previous].find((v) => v?.astraKey === authority.bearer);
  return stage?.orgId ?? plan.current?.orgId ?? plan.previous?.orgId;
}

/** The clientIds the secret's values name (beside the tokens marked as its own): claims the revocation rule judges. */
function namedTokens(plan: EscrowEntry): Array<string | undefined> {
  // AWSPREVIOUS's too: a value put over AWSCURRENT moves what it still owes there; and what values put over both moved
  // out of every stage.
  return [
    plan.current?.clientId, plan.previous?.clientId, ...plan.current?.pendingRevocations ?? [], ...plan.previous?.pendingRevocations ?? [],
    ...(plan.pushedOut ?? []).map((t) => t.clientId),
  ];
}

/**
 * A self-rotating secret's own token revokes its tokens: AWSCURRENT's, or AWSPREVIOUS's when only that one carries the
 * function's mark in a list already read (a value writer may have put a forged token in AWSCURRENT).
 */
function selfTeardownAuthority(plan: GoingSecret, lists: OrgTokenLists): Authority | undefined {
  const current = plan.current && selfAuthority(plan.current, 'current');
  const previous = plan.previous && selfAuthority(plan.previous, 'previous');
  // The function's own mark beats a value's word: a token it minted for the secret is the secret's.
  const minted = (a: Authority | undefined) => !!a?.clientId && markedAsSecrets(lists.find(a.clientId), plan.arn);
  if (!minted(current) && minted(previous)) return previous;
  return current ?? previous;
}

function leftLiveAlert(
  secretArn: string, clientIds: string[], why: string, when = 'is being deleted by CloudFormation, but', notProven: string[] = [],
): Record<string, unknown> {
  return tokensLeftLiveAlert({
    step: 'teardown',
    secretArn,
    clientIds,
    notProvenClientIds: notProven,
    what: `The secret ${secretArn} ${when} not all of its tokens are known to be revoked (${why}). The deletion went on.`,
  });
}
