import { ALERT_NAMES } from '../../src/shared/alert-names';
import { ROLE_ID_TAG } from '../../src/shared/secret-tags';
import { Description, rotatedByAnotherFunction } from '../clients/secret-store';
import { Redactor } from '../logging/redact';
import { writeLogLine } from '../logging/step-report';

/**
 * A Secrets Manager event that EventBridge forwards from CloudTrail: a failed rotation (a service event) or a
 * DeleteSecret call. One rule per rotation function sends every such event of the account and region here; the
 * function keeps those about its own secrets (see `judge`), so that the alarm fires for exactly the managed secrets.
 */
export interface SecretEvent {
  readonly 'source': 'aws.secretsmanager';
  readonly 'detail-type': string;
  readonly 'time'?: string;
  readonly 'detail': {
    readonly eventName?: string;
    readonly eventTime?: string;
    readonly sourceIPAddress?: string;
    readonly userIdentity?: { readonly arn?: string; readonly invokedBy?: string };
    readonly additionalEventData?: { readonly SecretId?: string };
    readonly requestParameters?: { readonly secretId?: string; readonly forceDeleteWithoutRecovery?: boolean } | null;
    readonly responseElements?: { readonly arn?: string; readonly deletionDate?: string } | null;
  };
}

export interface SecretEventDeps {
  /** This function's ARN, to tell its secrets from those another function rotates. */
  readonly functionArn?: string;
  /** The name of this function's role (the construct sets FUNCTION_ROLE_NAME): its own deletions raise no alert. */
  readonly roleName?: string;
  /** DescribeSecret, told apart: the role may describe only this function's secrets, so access-denied means "not ours". */
  describe(secretArn: string): Promise<Description>;
}

const CLOUDFORMATION = 'cloudformation.amazonaws.com';

/** The secret a failed rotation or a deletion is about. */
export function secretArnOf(event: SecretEvent): string | undefined {
  return event.detail.eventName === 'RotationFailed' ? event.detail.additionalEventData?.SecretId : event.detail.responseElements?.arn;
}

export function isSecretEvent(event: unknown): event is SecretEvent {
  const e = (event ?? {}) as Record<string, unknown>;
  return e.source === 'aws.secretsmanager' && typeof e['detail-type'] === 'string' && typeof e.detail === 'object' && e.detail !== null;
}

/**
 * Writes one line per event: an ERROR alert line when the event is about one of this function's secrets and needs a
 * person, else an INFO line saying why it was let go. Throws only when Secrets Manager could not be asked (Lambda then
 * retries the asynchronous invocation, and the function's error alarm fires).
 */
export async function handleSecretEvent(event: SecretEvent, deps: SecretEventDeps, redactor: Redactor): Promise<void> {
  const kind = event.detail.eventName;
  const secretArn = secretArnOf(event);
  const base = { step: 'secret-event', event: kind ?? event['detail-type'], secretArn: secretArn ?? '(none)' };
  const letGo = (why: string) => writeLogLine({ level: 'INFO', ...base, outcome: `ignored: ${why}` }, redactor);
  if (kind !== 'RotationFailed' && kind !== 'DeleteSecret') return letGo('not a failed rotation or a deletion');
  if (!secretArn) return letGo('the event names no secret ARN');
  const description = await deps.describe(secretArn);
  const why = judge(description, deps.functionArn);
  // An event is a claim: one that says a secret of this function was deleted while Secrets Manager shows it live and
  // not scheduled for deletion was forged or misdirected (anyone allowed lambda:InvokeFunction can send one).
  if (!why && kind === 'DeleteSecret' && 'found' in description && !description.found.DeletedDate) {
    writeLogLine({
      level: 'ERROR',
      ...base,
      alert: ALERT_NAMES.EVENT_NOT_CONFIRMED,
      message: `An event says ${secretArn} was deleted, but Secrets Manager shows it live and not scheduled for deletion. Nothing was done. `
        + 'If nobody deleted it, someone allowed lambda:InvokeFunction on the rotation function sent it: find them in CloudTrail (Invoke).',
    }, redactor);
    return;
  }
  // A stack that deletes its own secrets runs the token teardown; that deletion is meant.
  if (kind === 'DeleteSecret' && (event.detail.sourceIPAddress === CLOUDFORMATION || event.detail.userIdentity?.invokedBy === CLOUDFORMATION)) {
    return letGo('CloudFormation deleted it (its stack\'s token teardown revokes the tokens)');
  }
  // The teardown deletes a secret CloudFormation is deleting before it revokes its tokens: the function's own session.
  if (kind === 'DeleteSecret' && deletedByThisFunction(event.detail.userIdentity?.arn, deps.functionArn, deps.roleName)) {
    return letGo('the rotation function deleted it (its stack\'s token teardown, which revokes the tokens)');
  }
  if (why) return letGo(why);
  const alert = kind === 'RotationFailed' ? rotationFailedAlert(secretArn, event) : deletedAlert(secretArn, event);
  writeLogLine({ level: 'ERROR', ...base, ...alert }, redactor);
}

/**
 * Whether CloudTrail's caller is this function: its own role (the construct's `FUNCTION_ROLE_NAME`), in the session
 * Lambda names after the function. A session name alone is anyone's to choose.
 */
function deletedByThisFunction(callerArn: string | undefined, functionArn: string | undefined, roleName: string | undefined): boolean {
  const functionName = functionArn?.split(':')[6];
  const [, role, session] = /^arn:[^:]+:sts::\d+:assumed-role\/([^/]+)\/(.+)$/.exec(callerArn ?? '') ?? [];
  return !!functionName && !!roleName && role === roleName && session === functionName;
}

/** Why the secret is not this function's to report on; undefined when it is. */
function judge(description: Description, functionArn: string | undefined): string | undefined {
  if ('missing' in description) {
    // The role may describe the managed secrets by ARN and its stack's others only by their tags, which a deleted secret
    // no longer has: a secret it may describe that is gone was a managed one.
    return description.missing === 'access-denied' ? 'not a secret of this function (its role may not describe it)' : undefined;
  }
  const secret = description.found;
  if (!secret.Tags?.some((t) => t.Key === ROLE_ID_TAG)) return `the secret has no ${ROLE_ID_TAG} tag, so no AstraTokenSecret manages it`;
  return rotatedByAnotherFunction(secret, functionArn) ? 'another function rotates the secret' : undefined;
}

function rotationFailedAlert(secretArn: string, event: SecretEvent): Record<string, unknown> {
  return {
    alert: ALERT_NAMES.ROTATION_FAILED,
    eventTime: event.detail.eventTime ?? event.time,
    message: `Secrets Manager reports that a rotation of ${secretArn} failed. Its clients keep the AWSCURRENT token. `
      + 'The step lines of this log group for that secret say which step failed and what to do; once fixed, rotate it: '
      + `aws secretsmanager rotate-secret --secret-id ${secretArn}`,
  };
}

function deletedAlert(secretArn: string, event: SecretEvent): Record<string, unknown> {
  const forced = event.detail.requestParameters?.forceDeleteWithoutRecovery === true;
  const deletionDate = event.detail.responseElements?.deletionDate;
  return {
    alert: ALERT_NAMES.SECRET_DELETED,
    eventTime: event.detail.eventTime ?? event.time,
    deletedBy: event.detail.userIdentity?.arn,
    ...(deletionDate ? { deletionDate } : {}),
    message: `${secretArn} was ${forced ? 'deleted without recovery' : 'scheduled for deletion'} outside CloudFormation, and its `
      + 'Astra tokens stay live. '
      + (forced
        ? 'Revoke them in the Astra Portal (Settings > Tokens; their descriptions name the secret) or with DELETE /v2/clientIdSecrets/{clientId}.'
        : `If it was a mistake, restore it before the deletion date: aws secretsmanager restore-secret --secret-id ${secretArn}; `
          + 'else revoke its tokens in the Astra Portal (their descriptions name the secret).'),
  };
}
