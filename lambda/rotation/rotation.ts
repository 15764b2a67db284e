import { PreviousTokenRevocation } from '../../src/shared/previous-token-revocation';
import { ADMIN_SECRET_ARN_TAG, PREVIOUS_TOKEN_REVOCATION_TAG as REVOCATION_POLICY_TAG } from '../../src/shared/secret-tags';
import type { StoredRotationRules } from '../../src/shared/token-grace';
import { AstraClient } from '../clients/astra-client';
import { RotationConfig } from '../clients/config';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretStore, versionWithStage } from '../clients/secret-store';
import { TimeBudget } from '../clients/time-budget';
import { RotationFailure } from '../logging/errors';
import { Redactor } from '../logging/redact';
import { StepReport } from '../logging/step-report';
import { SecretBinding, SecretTags, readBinding } from '../value/binding';

export const STEP_NAMES = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type StepName = typeof STEP_NAMES[number];

// The construct writes the tag (src/ modules that import nothing, so the bundle takes them as they are).
export const REVOCATION_POLICIES = Object.values(PreviousTokenRevocation);
export type RevocationPolicy = `${PreviousTokenRevocation}`;

export interface RotationEvent {
  readonly step: StepName;
  readonly secretId: string;
  readonly token: string;
}

/** Everything a step needs, established by the checks every step shares. */
export interface Rotation {
  readonly event: RotationEvent;
  readonly secretArn: string;
  readonly secretName: string;
  readonly currentVersionId?: string;
  readonly previousVersionId?: string;
  /** The version is AWSCURRENT already: only finishSecret has work left (the revocations its promotion owes). */
  readonly alreadyCurrent: boolean;
  readonly policy: RevocationPolicy;
  /** The rotation rules and next rotation, as DescribeSecret told: how long a new token must live. */
  readonly schedule: { readonly rules?: StoredRotationRules; readonly nextRotationDate?: Date };
  /** The secret's tags, where its binding is; read with `bindingOf`, which refuses a missing or malformed one. */
  readonly tags: SecretTags;
  readonly store: SecretStore;
  readonly astra: AstraClient;
  readonly config: RotationConfig;
  readonly redactor: Redactor;
  readonly report: StepReport;
  readonly budget: TimeBudget;
}

export function parseEvent(event: unknown): RotationEvent {
  const fields = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const remedy = 'The function expects a Secrets Manager rotation event {"Step", "SecretId", "ClientRequestToken"}; invoke it through Secrets Manager rotation.';
  for (const key of ['Step', 'SecretId', 'ClientRequestToken']) {
    if (typeof fields[key] !== 'string' || !(fields[key] as string).trim()) {
      throw new RotationFailure(`the event has no valid "${key}".`, remedy);
    }
  }
  const step = fields.Step as string;
  if (!(STEP_NAMES as readonly string[]).includes(step)) {
    throw new RotationFailure(`"${step}" is not a rotation step (expected ${STEP_NAMES.join(', ')}).`, remedy);
  }
  return { step: step as StepName, secretId: fields.SecretId as string, token: fields.ClientRequestToken as string };
}

/** The checks of AWS's rotation template, except that a version already AWSCURRENT is reported, not refused. */
export async function openRotation(
  event: RotationEvent,
  deps: Pick<Rotation, 'store' | 'astra' | 'config' | 'redactor' | 'report' | 'budget'>,
): Promise<Rotation> {
  const description = await deps.store.describe(event.secretId);
  const secretArn = description.ARN ?? event.secretId;
  deps.report.secretArn = secretArn;
  if (!description.RotationEnabled) {
    throw new RotationFailure('rotation is not enabled on the secret.', 'Enable rotation (RotateSecret with a RotationLambdaARN) before invoking the function.');
  }
  const versions = description.VersionIdsToStages ?? {};
  const stages = versions[event.token];
  if (!stages) {
    throw new RotationFailure('the ClientRequestToken is not a version of the secret.', 'Start the rotation with RotateSecret, which creates the version first.');
  }
  const alreadyCurrent = stages.includes(AWSCURRENT);
  if (!alreadyCurrent && !stages.includes(AWSPENDING)) {
    throw new RotationFailure(`the version is not AWSPENDING (its stages: ${stages.join(', ')}).`,
      'Start a new rotation with RotateSecret; this version belongs to a rotation that is over.');
  }
  const policy = revocationPolicy(description.Tags);
  deps.report.policy = policy;
  deps.report.mode = description.Tags?.some((t) => t.Key === ADMIN_SECRET_ARN_TAG) ? 'admin' : 'self-rotation';
  return {
    ...deps,
    event,
    secretArn,
    secretName: description.Name ?? secretArn,
    currentVersionId: versionWithStage(versions, AWSCURRENT),
    previousVersionId: versionWithStage(versions, AWSPREVIOUS),
    alreadyCurrent,
    policy,
    tags: description.Tags,
    schedule: { rules: description.RotationRules, nextRotationDate: description.NextRotationDate },
  };
}

/** The deployed settings of the rotation's secret (see binding.ts); the steps that mint or revoke need them. */
export function bindingOf(rotation: Rotation): SecretBinding {
  return readBinding(rotation.tags, rotation.secretArn);
}

function revocationPolicy(tags: Array<{ Key?: string; Value?: string }> | undefined): RevocationPolicy {
  const value = tags?.find((tag) => tag.Key === REVOCATION_POLICY_TAG)?.Value?.trim();
  if (!value) return 'AT_NEXT_ROTATION';
  if (!(REVOCATION_POLICIES as readonly string[]).includes(value)) {
    throw new RotationFailure(`the tag ${REVOCATION_POLICY_TAG} is "${value}".`, `Set it to ${REVOCATION_POLICIES.join(' or ')}, or remove it (default AT_NEXT_ROTATION).`);
  }
  return value as RevocationPolicy;
}
