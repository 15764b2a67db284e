import { AstraClient } from './astra-client';
import { Authority, adminAuthority, selfAuthority } from './authority';
import { readBinding } from './binding';
import { RotationConfig } from './config';
import { messageOf } from './errors';
import { StepReport, writeLogLine } from './log';
import { Redactor } from './redact';
import { HeldTokens, revokeOwned } from './revocation-rule';
import { AstraSecretValue, parseSecretString } from './secret-value';
import { AWSCURRENT, AWSPREVIOUS, SecretStore, rotatedByAnotherFunction, versionWithStage } from './secrets';
import { markedTokens } from './sweep';
import { TimeBudget } from './time-budget';
import { isSecureOrLoopback } from '../src/base-url';
import { TOKEN_ALERTS } from '../src/token-alerts';

/** The custom resource's view of a managed secret: its ARN, and whether its removal policy destroys it. */
interface ManagedSecret {
  readonly arn: string;
  readonly destroy: boolean;
}

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
  /** This function's ARN: a secret rotated by another function (it moved) is not this teardown's to revoke. */
  readonly functionArn?: string;
}

export function isCustomResourceEvent(event: unknown): event is CustomResourceEvent {
  const e = (event ?? {}) as Record<string, unknown>;
  return typeof e.RequestType === 'string' && typeof e.ResponseURL === 'string' && typeof e.RequestId === 'string';
}

/**
 * Which secrets leave: on Delete (the stack, or this function, goes) every destroyed one; on Update those that were
 * destroyed-on-removal and are no longer listed. A secret whose removal policy retains it is never among them.
 */
export function leavingSecrets(event: CustomResourceEvent): ManagedSecret[] {
  const now = secretsOf(event.ResourceProperties?.Secrets);
  if (event.RequestType === 'Delete') return now.filter((s) => s.destroy);
  if (event.RequestType === 'Create') return [];
  const stay = new Set(now.map((s) => s.arn));
  return secretsOf(event.OldResourceProperties?.Secrets).filter((s) => s.destroy && !stay.has(s.arn));
}

function secretsOf(raw: unknown): ManagedSecret[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((entry) => {
    const e = (entry ?? {}) as { Arn?: unknown; Destroy?: unknown };
    // CloudFormation hands every property over as a string.
    return typeof e.Arn === 'string' ? [{ arn: e.Arn, destroy: e.Destroy === true || e.Destroy === 'true' }] : [];
  });
}

/**
 * Revokes the tokens of every secret that leaves, admin-minted ones first (a self-rotating secret may be their admin),
 * then answers CloudFormation SUCCESS whatever happened: a deletion is never blocked. What could not be revoked is an
 * ERROR alert line, which the construct's alarm counts.
 */
export async function handleTeardown(event: CustomResourceEvent, makeDeps: () => TeardownDeps, redactor: Redactor): Promise<void> {
  const physicalId = event.PhysicalResourceId ?? `${event.LogicalResourceId}-astra-token-teardown`;
  let reason = 'nothing to revoke';
  try {
    const leaving = leavingSecrets(event);
    const deps = makeDeps();
    const plans = await Promise.all(leaving.map(async (s) => ({ secret: s, plan: await planFor(s.arn, deps) })));
    plans.sort((a, b) => Number(a.plan.selfRotating) - Number(b.plan.selfRotating));
    const left: string[] = [];
    for (const { secret, plan } of plans) {
      const report = new StepReport('teardown', secret.arn, `${event.RequestType} ${event.RequestId}`);
      const started = Date.now();
      const outcome = plan.skip ?? await revokeSecretTokens(secret.arn, plan, deps, report);
      writeLogLine(report.toLogLine(outcome, Date.now() - started), redactor);
      if (outcome.startsWith('left live')) {
        left.push(secret.arn);
        writeLogLine(leftLiveAlert(secret.arn, report.clientIds.revocationFailed, outcome), redactor);
      }
    }
    reason = leaving.length === 0 ? reason : `${leaving.length - left.length} of ${leaving.length} secrets' tokens revoked`
      + (left.length ? `; tokens left live for ${left.join(', ')} (see the function's log)` : '');
  } catch (error) {
    reason = `teardown failed: ${redactor.redact(messageOf(error))}`;
    writeLogLine(leftLiveAlert('(every leaving secret)', [], reason), redactor);
  }
  await answerCloudFormation(event, physicalId, reason, redactor);
}

interface TeardownPlan {
  readonly skip?: string;
  readonly selfRotating: boolean;
  readonly adminSecretArn?: string;
  readonly current?: AstraSecretValue;
  readonly previous?: AstraSecretValue;
  readonly versions?: { readonly current?: string; readonly previous?: string };
}

async function planFor(arn: string, deps: TeardownDeps): Promise<TeardownPlan> {
  let answer;
  try {
    answer = await deps.store.describeIfAllowed(arn);
  } catch (error) {
    return { skip: `left live: the secret could not be described (${messageOf(error)})`, selfRotating: false };
  }
  if ('missing' in answer) {
    return answer.missing === 'not-found'
      ? { skip: 'skipped: the secret no longer exists', selfRotating: false }
      : { skip: 'left live: the secret could not be described (AccessDeniedException: the rotation function\'s role may not describe it)', selfRotating: false };
  }
  const description = answer.found;
  // Moved to another rotation function (its settings changed): its tokens stay, that function serves it now.
  if (rotatedByAnotherFunction(description, deps.functionArn)) {
    return { skip: 'skipped: another function rotates the secret now', selfRotating: false };
  }
  let binding;
  try {
    binding = readBinding(description.Tags, arn);
  } catch (error) {
    return { skip: `left live: ${messageOf(error)}`, selfRotating: false };
  }
  const read = async (stage: string) => {
    const versionId = versionWithStage(description.VersionIdsToStages, stage);
    if (!versionId) return undefined;
    try {
      const text = await deps.store.valueOf(arn, { versionId, stage });
      return text ? parseSecretString(text, stage, deps.redactor) : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    selfRotating: !binding.adminSecretArn,
    adminSecretArn: binding.adminSecretArn,
    current: await read(AWSCURRENT),
    previous: await read(AWSPREVIOUS),
    versions: {
      current: versionWithStage(description.VersionIdsToStages, AWSCURRENT),
      previous: versionWithStage(description.VersionIdsToStages, AWSPREVIOUS),
    },
  };
}

/**
 * AWSCURRENT's and AWSPREVIOUS's tokens, every token marked as the secret's, and what AWSCURRENT still owes. A
 * self-rotating secret's last token can only revoke itself: that is the one self-revocation the design allows.
 */
async function revokeSecretTokens(arn: string, plan: TeardownPlan, deps: TeardownDeps, report: StepReport): Promise<string> {
  const rotation = { astra: deps.astra, report, redactor: deps.redactor, store: deps.store };
  let authority: Authority | undefined;
  try {
    authority = plan.adminSecretArn ? await adminAuthority(rotation, plan.adminSecretArn) : plan.current && selfAuthority(plan.current, 'current');
  } catch (error) {
    return `left live: ${messageOf(error)}`;
  }
  if (!authority) return 'skipped: the secret holds no token';
  if (!deps.budget.allows(deps.config.httpTimeoutMs)) return 'left live: the invocation ran out of time before this secret';
  let listed;
  try {
    listed = await deps.astra.listClients(authority.bearer);
  } catch (error) {
    return `left live: the token list could not be read (${messageOf(error)})`;
  }
  const held = new HeldTokens(deps.store, arn, deps.redactor, plan.current?.pendingRevocationVersions)
    .add(plan.current, plan.versions?.current).add(plan.previous, plan.versions?.previous);
  // A self-rotating secret's token just listed the org's tokens: it authenticated, so possession is proven.
  const evidence = { secretArn: arn, listed, held, proven: plan.selfRotating ? [authority.clientId] : [] };
  const candidates = [...markedTokens(listed, arn), plan.current?.clientId, plan.previous?.clientId, ...plan.current?.pendingRevocations ?? []];
  await revokeOwned(rotation, authority, candidates, evidence);
  if (plan.selfRotating) await revokeOwned(rotation, authority, [authority.clientId], evidence, { revokeAuthority: true });
  return report.clientIds.revocationFailed.length > 0 ? 'left live: some revocations failed' : 'revoked';
}

function leftLiveAlert(secretArn: string, clientIds: string[], why: string): Record<string, unknown> {
  return {
    level: 'ERROR',
    alert: TOKEN_ALERTS.TOKENS_LEFT_LIVE,
    step: 'teardown',
    secretArn,
    clientIds,
    message: `The secret ${secretArn} left the stack but not all of its tokens were revoked (${why}). The deletion went on. `
      + 'Revoke them in the Astra Portal (Settings > Tokens; their descriptions name the secret) or with DELETE /v2/clientIdSecrets/{clientId}.',
  };
}

/** The answer CloudFormation waits for, PUT to the pre-signed URL; always SUCCESS, so a deletion is never blocked. */
async function answerCloudFormation(event: CustomResourceEvent, physicalId: string, reason: string, redactor: Redactor): Promise<void> {
  const body = JSON.stringify({
    Status: 'SUCCESS',
    Reason: reason.slice(0, 1000),
    PhysicalResourceId: physicalId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  const url = new URL(event.ResponseURL);
  if (!isSecureOrLoopback(url, { loopbackHttp: true })) {
    writeLogLine({ level: 'ERROR', step: 'teardown', outcome: 'not answered', error: `ResponseURL of ${url.host} is not https` }, redactor);
    return;
  }
  let problem = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const response = await fetch(event.ResponseURL, {
        method: 'PUT', body, headers: { 'Content-Type': '' }, redirect: 'error', signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) return;
      problem = `HTTP ${response.status}`;
      await response.text();
    } catch (error) {
      problem = messageOf(error);
    }
  }
  // CloudFormation waits for the answer until its own timeout; the line says why it never came.
  writeLogLine({ level: 'ERROR', step: 'teardown', outcome: 'not answered', error: `PUT to the ResponseURL failed 3 times: ${problem}` }, redactor);
}
