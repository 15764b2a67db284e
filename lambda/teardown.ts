import { AstraClient, AstraClientEntry } from './astra-client';
import { Authority, adminAuthority, selfAuthority } from './authority';
import { readBinding } from './binding';
import type { StackState } from './cloudformation';
import { answerCloudFormation } from './cloudformation-answer';
import { RotationConfig } from './config';
import { CommittedPhase, confirmDeletion, secretFate } from './end-of-life';
import { AstraApiError, messageOf } from './errors';
import { StepReport, writeLogLine } from './log';
import { Redactor } from './redact';
import { HeldTokens, revokeOwned } from './revocation-rule';
import { AstraSecretValue, parseSecretString } from './secret-value';
import { AWSCURRENT, AWSPREVIOUS, SecretStore, versionWithStage } from './secrets';
import { markedTokens } from './sweep';
import { TimeBudget } from './time-budget';
import { TOKEN_ALERTS } from '../src/token-alerts';

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
  const raw = properties?.Secrets;
  if (!Array.isArray(raw)) return [];
  return [...new Set(raw.flatMap((entry) => {
    const arn = (entry ?? {} as { Arn?: unknown }).Arn;
    return typeof arn === 'string' ? [arn] : [];
  }))];
}

/**
 * Create and Update revoke nothing: each answers a new physical id, so that CloudFormation deletes the old one in the
 * update's cleanup, once the update can no longer roll back (or the new one in the rollback's cleanup). A Delete
 * revokes only what CloudFormation's own state shows it is deleting (end-of-life.ts), leaves first along admin
 * chains, and answers SUCCESS whatever happened: a deletion is never blocked. Whatever stays live is an ERROR line.
 */
export async function handleTeardown(event: CustomResourceEvent, makeDeps: () => TeardownDeps, redactor: Redactor): Promise<void> {
  if (event.RequestType !== 'Delete') {
    await answerCloudFormation(event, `${event.LogicalResourceId}-${event.RequestId}`, 'nothing to revoke: tokens are revoked only when CloudFormation deletes', redactor);
    return;
  }
  const physicalId = event.PhysicalResourceId ?? `${event.LogicalResourceId}-${event.RequestId}`;
  const listed = listedSecretArns(event.ResourceProperties);
  let reason: string;
  try {
    reason = await tearDown(event, listed, makeDeps(), redactor);
  } catch (error) {
    if (error instanceof ContinueLater) throw error;
    reason = `teardown failed: ${messageOf(error)}`;
    writeLogLine(leftLiveAlert('(every secret the request lists)', listed, reason, 'may be being deleted by CloudFormation, but'), redactor);
  }
  await answerCloudFormation(event, physicalId, reason, redactor);
}

async function tearDown(event: CustomResourceEvent, listed: string[], deps: TeardownDeps, redactor: Redactor): Promise<string> {
  const notConfirmed = (why: string) => {
    writeLogLine({
      level: 'ERROR',
      alert: TOKEN_ALERTS.TEARDOWN_NOT_CONFIRMED,
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

  const plans: SecretPlan[] = [];
  for (const arn of listed) plans.push(await planFor(arn, confirmed.phase, state, deps, redactor));
  const going = plans.filter((p): p is GoingSecret => 'going' in p);
  const lists = new OrgTokenLists(deps.astra);
  const results: Array<{ plan: GoingSecret; report: StepReport; outcome: string; durationMs: number }> = [];
  for (const plan of leavesFirst(going)) {
    const report = new StepReport('teardown', plan.arn, `${event.RequestType} ${event.RequestId}`);
    const started = Date.now();
    const outcome = deps.budget.allows(deps.config.httpTimeoutMs) ? await revokeSecretTokens(plan, deps, report, lists) : OUT_OF_TIME;
    results.push({ plan, report, outcome, durationMs: Date.now() - started });
  }
  // Work left for lack of time continues in Lambda's retry of this request (CloudFormation still waits for the answer;
  // the secrets still exist), while the operation is young enough for CloudFormation to wait for it.
  const timeIsUp = !deps.budget.allows(deps.config.httpTimeoutMs);
  const unfinished = results.filter((r) => r.outcome === OUT_OF_TIME || (timeIsUp && r.outcome.startsWith('left live')));
  if (unfinished.length > 0 && state.operationStartedAt && Date.now() - state.operationStartedAt.getTime() < CONTINUATION_WINDOW_MS) {
    for (const r of results.filter((x) => !unfinished.includes(x))) writeLogLine(r.report.toLogLine(r.outcome, r.durationMs), redactor);
    throw new ContinueLater(`${unfinished.length} of ${going.length} secrets not reached in this invocation; Lambda's retry of the request continues`);
  }
  const left: string[] = [];
  for (const { plan, report, outcome, durationMs } of results) {
    writeLogLine(report.toLogLine(outcome, durationMs), redactor);
    const stillLive = [...report.clientIds.revocationFailed, ...report.revocationsRefused.map((r) => r.clientId)];
    if (outcome.startsWith('left live') || stillLive.length > 0) {
      left.push(plan.arn);
      writeLogLine(leftLiveAlert(plan.arn, stillLive, outcome), redactor);
    }
  }
  for (const plan of plans) {
    if ('leftLive' in plan) {
      left.push(plan.arn);
      writeLogLine(leftLiveAlert(plan.arn, [], plan.leftLive), redactor);
    }
  }
  return `${confirmed.phase}: ${going.length} of ${listed.length} secrets deleted by CloudFormation, ${going.length - left.length} with every token revoked`
    + (left.length ? `; tokens left live for ${left.join(', ')} (see the function's log)` : '');
}

const OUT_OF_TIME = 'left live: the invocation ran out of time before this secret';

/**
 * How long after the operation began a teardown that ran out of time leaves the rest to Lambda's retry rather than
 * answering: well inside the resource's ServiceTimeout (15 minutes), so CloudFormation gets its answer in time.
 */
export const CONTINUATION_WINDOW_MS = 10 * 60_000;

/** Thrown, unanswered, so that Lambda retries the request and the next invocation goes on from Astra's state. */
export class ContinueLater extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContinueLater';
  }
}

/**
 * The org's token list, read once per invocation and shared: any token that may read tokens lists the whole org, so
 * a secret whose authority the list already shows needs no list of its own (245 self-rotating secrets: one list, not
 * 245). Revocations are taken out of it as they happen.
 */
class OrgTokenLists {
  private readonly lists: AstraClientEntry[][] = [];

  constructor(private readonly astra: AstraClient) {}

  /** The list that shows the authority; `listedWithIt` when it was read with the authority itself (which proves it). */
  public async listFor(authority: Authority): Promise<{ listed: AstraClientEntry[]; listedWithIt: boolean }> {
    const known = authority.clientId && this.lists.find((l) => l.some((c) => c.clientId === authority.clientId));
    if (known) return { listed: known, listedWithIt: false };
    const listed = await this.astra.listClients(authority.bearer);
    this.lists.push(listed);
    return { listed, listedWithIt: true };
  }

  /** Which of these clientIds, or of the tokens marked as the secret's, a list already read shows live; undefined: none read. */
  public shown(clientIds: ReadonlyArray<string | undefined>, secretArn: string): string[] | undefined {
    if (this.lists.length === 0) return undefined;
    const wanted = new Set(clientIds.filter((c): c is string => !!c));
    return this.lists.flatMap((l) => [...l.filter((c) => wanted.has(c.clientId)).map((c) => c.clientId), ...markedTokens(l, secretArn)]);
  }

  public forget(clientIds: readonly string[]): void {
    const gone = new Set(clientIds);
    for (const list of this.lists) {
      for (let i = list.length - 1; i >= 0; i--) if (gone.has(list[i].clientId)) list.splice(i, 1);
    }
  }
}

interface GoingSecret {
  readonly arn: string;
  readonly going: true;
  readonly adminSecretArn?: string;
  readonly current?: AstraSecretValue;
  readonly previous?: AstraSecretValue;
  readonly versions: { readonly current?: string; readonly previous?: string };
}

type SecretPlan = GoingSecret | { readonly arn: string; readonly stays: string } | { readonly arn: string; readonly leftLive: string };

/** What CloudFormation does to one listed secret, and what its tokens' revocation needs, read while it still exists. */
async function planFor(arn: string, phase: CommittedPhase, state: StackState, deps: TeardownDeps, redactor: Redactor): Promise<SecretPlan> {
  const log = (outcome: string) => writeLogLine({ level: 'INFO', step: 'teardown', secretArn: arn, outcome }, redactor);
  let answer;
  try {
    answer = await deps.store.describeIfAllowed(arn);
  } catch (error) {
    return { arn, leftLive: `the secret could not be described (${messageOf(error)})` };
  }
  if ('missing' in answer) {
    if (answer.missing === 'not-found') {
      log('skipped: the secret no longer exists');
      return { arn, stays: 'gone' };
    }
    return { arn, leftLive: 'the secret could not be described (AccessDeniedException: the rotation function\'s role may not read it)' };
  }
  const description = answer.found;
  const fate = secretFate(phase, { arn, tags: description.Tags }, state);
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
      return text ? parseSecretString(text, stage, redactor) : undefined;
    };
    const [current, previous] = [await read(AWSCURRENT, versions.current), await read(AWSPREVIOUS, versions.previous)];
    return { arn, going: true, adminSecretArn, current, previous, versions };
  } catch (error) {
    // A failure to read is a failure: the secret's tokens cannot be found without its values.
    return { arn, leftLive: `its values could not be read (${messageOf(error)})` };
  }
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

/**
 * AWSCURRENT's and AWSPREVIOUS's tokens, every token marked as the secret's, and what AWSCURRENT still owes, each
 * under the revocation rule. A self-rotating secret's last token can only revoke itself: that is the one
 * self-revocation the design allows. One token list per authority serves every secret it minted.
 */
async function revokeSecretTokens(plan: GoingSecret, deps: TeardownDeps, report: StepReport, lists: OrgTokenLists): Promise<string> {
  const context = { astra: deps.astra, report, redactor: deps.redactor };
  let authority: Authority | undefined;
  try {
    authority = plan.adminSecretArn ? await adminAuthority(deps, plan.adminSecretArn) : plan.current && selfAuthority(plan.current, 'current');
  } catch (error) {
    return `left live: ${messageOf(error)}`;
  }
  if (!authority) {
    // A self-rotating secret that never held a token (the bootstrap was never stored) has nothing to revoke.
    return plan.current?.astraKey || plan.previous?.astraKey ? 'left live: AWSCURRENT holds no token to revoke with' : 'nothing to revoke: the secret never held a token';
  }
  let listed: AstraClientEntry[];
  let listedWithIt: boolean;
  try {
    ({ listed, listedWithIt } = await lists.listFor(authority));
  } catch (error) {
    const dead = error instanceof AstraApiError && error.status === 401 && !plan.adminSecretArn;
    // Its last token revoked itself in an earlier attempt of this request: the org's list says whether anything is left.
    const own = [...plan.current?.pendingRevocations ?? [], plan.current?.clientId, plan.previous?.clientId];
    const left = dead ? lists.shown(own, plan.arn) : undefined;
    if (left?.length === 0) return 'revoked: nothing of the secret is live any more';
    return dead
      ? 'left live: its AWSCURRENT token no longer authenticates, so it cannot revoke its tokens'
      : `left live: the token list could not be read (${messageOf(error)})`;
  }
  const held = new HeldTokens(deps.store, plan.arn, deps.redactor, plan.current?.pendingRevocationVersions)
    .add(plan.current, plan.versions.current).add(plan.previous, plan.versions.previous);
  // A self-rotating secret's token that just listed the org's tokens authenticated: possession is proven.
  const evidence = { secretArn: plan.arn, listed, held, proven: listedWithIt && !plan.adminSecretArn ? [authority.clientId] : [] };
  const candidates = [...markedTokens(listed, plan.arn), plan.current?.clientId, plan.previous?.clientId, ...plan.current?.pendingRevocations ?? []];
  await revokeOwned(context, authority, candidates, evidence);
  if (!plan.adminSecretArn) await revokeOwned(context, authority, [authority.clientId], evidence, { revokeAuthority: true });
  lists.forget([...report.clientIds.revoked, ...report.clientIds.alreadyRevoked]);
  return report.clientIds.revocationFailed.length > 0 ? 'left live: some revocations failed' : 'revoked';
}

function leftLiveAlert(secretArn: string, clientIds: string[], why: string, when = 'is being deleted by CloudFormation, but'): Record<string, unknown> {
  return {
    level: 'ERROR',
    alert: TOKEN_ALERTS.TOKENS_LEFT_LIVE,
    step: 'teardown',
    secretArn,
    clientIds,
    message: `The secret ${secretArn} ${when} not all of its tokens were revoked (${why}). The deletion went on. `
      + 'Revoke them in the Astra Portal (Settings > Tokens; their descriptions name the secret) or with DELETE /v2/clientIdSecrets/{clientId}.',
  };
}
