import { ALERT_NAMES } from '../../../src/shared/alert-names';
import { AstraClientEntry, MintedToken } from '../../clients/astra-client';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, Description, PutFailure } from '../../clients/secret-store';
import { RotationFailure, messageOf } from '../../logging/errors';
import { writeLogLine } from '../../logging/step-report';
import { disagreements } from '../../value/binding';
import { AstraSecretValue, nextSecretString, parseSecretString, validateRotatable } from '../../value/secret-value';
import { Authority, adminAuthority, selfAuthority } from '../authority';
import { mintMarked } from '../mint';
import { HeldTokens, revokeOwned } from '../revocation-rule';
import { proveRoleRotatesItself } from '../role-proof';
import { Rotation, bindingOf } from '../rotation';
import { sweep } from '../sweep';
import { checkLifetimeFloor, expiresBeforeReplacement, noExpiryShownByRecentMint, tokenNeed } from '../token-expiry';

export async function createSecret(rotation: Rotation): Promise<string> {
  const { store, event, report, redactor } = rotation;
  const pendingText = await store.valueOf(event.secretId, { versionId: event.token, stage: AWSPENDING });
  if (pendingText !== undefined) {
    const pending = parseSecretString(pendingText, 'AWSPENDING', redactor);
    if (pending.astraKey) {
      report.clientIds.pending = pending.clientId;
      return 'already-created';
    }
    throw new RotationFailure('this AWSPENDING version already holds a value without a token, and a version\'s value cannot be replaced.',
      `Remove the label (aws secretsmanager update-secret-version-stage --secret-id ${rotation.secretArn} --version-stage AWSPENDING --remove-from-version-id ${event.token}) and rotate again.`);
  }

  const binding = bindingOf(rotation);
  checkLifetimeFloor(binding.maxTokenLifetimeSeconds, rotation.schedule.rules, rotation.policy, rotation.secretArn);
  const current = await readCurrent(rotation);
  validateRotatable(current, !binding.adminSecretArn);
  report.warnings.push(...disagreements(current, binding, 'AWSCURRENT'));
  report.clientIds.current = current.clientId;
  const previous = await readPrevious(rotation);
  report.clientIds.previous = previous?.clientId;

  const authority: Authority = binding.adminSecretArn ? await adminAuthority(rotation, binding.adminSecretArn) : selfAuthority(current, 'current')!;
  // What the policy keeps live until finishSecret promotes the new token: nothing before the promotion may revoke it.
  const keep = [current.clientId, rotation.policy === 'AT_NEXT_ROTATION' ? previous?.clientId : undefined];
  const listed = await listTokens(rotation, authority);
  if (!binding.adminSecretArn) await proveRoleRotatesItself(rotation, authority, binding.roleId, listed);
  const held = new HeldTokens(store, rotation.secretArn, redactor, current.pendingRevocationVersions)
    .add(current, rotation.currentVersionId).add(previous, rotation.previousVersionId);
  await sweepBeforeMint(rotation, authority, keep, { pendingRevocations: current.pendingRevocations, held }, listed);

  const minted = await mintMarked(rotation, authority, [binding.roleId], keep, binding.maxTokenLifetimeSeconds);
  report.clientIds.pending = minted.clientId;
  const expiresNever = binding.maxTokenLifetimeSeconds === undefined && noExpiryShownByRecentMint(listed, new Date());
  const tokenExpiry = minted.tokenExpiry ?? (expiresNever ? null : await listedExpiry(rotation, authority, minted.clientId));
  judgeLifetime(rotation, minted.clientId, tokenExpiry);

  // What the promotion owes: the tokens that leave the policy's keep set, and the versions that hold them. Recorded in
  // the version, because after the promotion the one before AWSPREVIOUS has no label left to find it by, and an
  // unmarked one has no mark; finishSecret still judges each by the revocation rule (a value is only a claim).
  // Only tokens the list showed live: one already revoked (AWSPREVIOUS's, under IMMEDIATELY) costs no DELETE.
  const live = new Set(listed.map((c) => c.clientId));
  const pendingBy: Array<[string | undefined, string | undefined]> = rotation.policy === 'IMMEDIATELY'
    ? [[current.clientId, rotation.currentVersionId], [previous?.clientId, rotation.previousVersionId]]
    : [[previous?.clientId, rotation.previousVersionId]];
  const versions: Record<string, string> = {};
  for (const [clientId, versionId] of pendingBy) if (clientId && versionId && !versions[clientId]) versions[clientId] = versionId;
  const clientIds = Object.keys(versions)
    .filter((c) => live.has(c) && c !== minted.clientId && (rotation.policy === 'IMMEDIATELY' || c !== current.clientId));

  try {
    const next = nextSecretString(current, { ...minted, tokenExpiry: tokenExpiry ?? undefined }, { clientIds, versions }, binding);
    await store.putPending(event.secretId, event.token, next);
  } catch (error) {
    return settleFailedPut(rotation, authority, minted, error);
  }
  await revokeIfRotationEnded(rotation, authority, minted);
  return 'created';
}

/**
 * CloudFormation deletes a secret's rotation schedule (which turns rotation off) before the teardown revokes the
 * secret's tokens; a rotation already running when that happens may mint after the teardown's list. Asked after the
 * put, this closes the gap: rotation still on means the teardown has not listed yet and will see the new token;
 * rotation off (or the secret gone) means this step revokes it itself. Its own mint answer is the proof.
 */
async function revokeIfRotationEnded(
  rotation: Rotation, authority: Authority, minted: MintedToken, described?: Description,
): Promise<void> {
  const answer = described ?? await rotation.store.describeIfAllowed(rotation.event.secretId);
  if ('found' in answer && answer.found.RotationEnabled) return;
  const proof = { secretArn: rotation.secretArn, proven: [minted.clientId] };
  let failed = await revokeOwned(rotation, authority, [minted.clientId], proof);
  // The teardown may have revoked the authority (a self-rotating secret's last token) before this step revoked: the new
  // token then revokes itself, if its role may.
  if (failed.length) failed = await revokeOwned(rotation, { bearer: minted.token, clientId: minted.clientId, description: 'the new token' }, [minted.clientId], proof, { revokeAuthority: true });
  if (failed.length && !('found' in answer)) {
    // The secret is gone: no rotation comes back to it, so the token is the token alarm's to report.
    writeLogLine({
      level: 'ERROR',
      alert: ALERT_NAMES.TOKENS_LEFT_LIVE,
      step: 'createSecret',
      secretArn: rotation.secretArn,
      clientIds: [minted.clientId],
      message: `The secret ${rotation.secretArn} was deleted while its rotation minted the token ${minted.clientId}, which could not be revoked. `
        + 'Revoke it in the Astra Portal (Settings > Tokens; its description names the secret) or with DELETE /v2/clientIdSecrets/{clientId}.',
    }, rotation.redactor);
  }
  throw new RotationFailure(`rotation of the secret ended while this step minted (${'found' in answer ? 'rotation is off' : 'the secret is gone'}): `
    + `the new token ${minted.clientId} ${failed.length ? 'could not be revoked' : 'was revoked'}.`,
  failed.length ? 'Revoke it in the Astra Portal (its description names the secret).' : 'Nothing to do: the rotation was cancelled or the secret deleted.',
  failed.length > 0);
}

async function readCurrent(rotation: Rotation): Promise<AstraSecretValue> {
  const text = await rotation.store.valueOf(rotation.event.secretId, { versionId: rotation.currentVersionId, stage: AWSCURRENT });
  if (text === undefined) {
    throw new RotationFailure('the secret has no AWSCURRENT value.', 'Put an initial value ({"roleID": ..., "engine": "AstraDB", ...}) before rotating.');
  }
  return parseSecretString(text, 'AWSCURRENT', rotation.redactor);
}

/** AWSPREVIOUS only matters for whose token to keep or revoke; an unreadable or placeholder one has no token. */
async function readPrevious(rotation: Rotation): Promise<AstraSecretValue | undefined> {
  if (!rotation.previousVersionId || rotation.previousVersionId === rotation.currentVersionId) return undefined;
  try {
    const text = await rotation.store.valueOf(rotation.event.secretId, { versionId: rotation.previousVersionId, stage: AWSPREVIOUS });
    return text === undefined ? undefined : parseSecretString(text, 'AWSPREVIOUS', rotation.redactor);
  } catch (error) {
    rotation.report.notes.push(`AWSPREVIOUS ignored: ${messageOf(error)}`);
    return undefined;
  }
}

/**
 * The mint answer may not carry the expiry (the SDKs' response types have none), and the organization may have capped
 * or shortened it: the list says. Undefined when the list could not be read (the token is fine; its expiry is unknown).
 */
async function listedExpiry(rotation: Rotation, authority: Authority, clientId: string): Promise<string | null | undefined> {
  try {
    const entry = (await rotation.astra.listClients(authority.bearer)).find((c) => c.clientId === clientId);
    if (entry) return entry.tokenExpiry ?? null;
    rotation.report.notes.push('the new token\'s expiry is unknown: the token list does not show it yet');
  } catch (error) {
    rotation.report.notes.push(`the new token's expiry is unknown: ${rotation.redactor.redact(messageOf(error))}`);
  }
  return undefined;
}

/** Records the token's expiry beside the rotation rules' need, and raises the alert when it will not last. */
function judgeLifetime(rotation: Rotation, clientId: string, tokenExpiry: string | null | undefined): void {
  const need = tokenNeed(rotation.schedule.rules, rotation.schedule.nextRotationDate, rotation.policy, new Date());
  rotation.report.token = {
    // null: the token does not expire; absent: its expiry is unknown.
    ...(tokenExpiry !== undefined ? { expiry: tokenExpiry } : {}),
    nextRotation: need.nextRotation?.toISOString(),
    neededUntil: need.neededUntil?.toISOString(),
  };
  const expiry = tokenExpiry ? new Date(tokenExpiry) : undefined;
  if (!expiry || Number.isNaN(expiry.getTime())) return;
  const alert = expiresBeforeReplacement(
    { step: rotation.event.step, secretArn: rotation.secretArn, version: rotation.event.token, clientId }, expiry, need);
  if (alert) rotation.report.alerts.push(alert);
}

async function listTokens(rotation: Rotation, authority: Authority): Promise<AstraClientEntry[]> {
  try {
    return await rotation.astra.listClients(authority.bearer);
  } catch (error) {
    throw new RotationFailure(`the org's token list could not be read, so nothing was minted: ${messageOf(error)}.`, sweepRemedy(authority));
  }
}

/**
 * Before anything is minted: revoke every token marked as this secret's that the policy does not keep (left by a lost
 * mint answer, a killed invocation, an abandoned rotation or a failed revocation) and AWSCURRENT's pending revocations. If
 * any stays live, nothing is minted: a rotation completes only with the secret's tokens in order.
 */
async function sweepBeforeMint(
  rotation: Rotation, authority: Authority, keep: Array<string | undefined>,
  pending: { pendingRevocations: string[]; held: HeldTokens }, listed: AstraClientEntry[],
): Promise<void> {
  const { failed } = await sweep(rotation, authority, { keep, ...pending }, listed);
  if (failed.length > 0) {
    throw new RotationFailure(`revoking ${failed.join(', ')} (tokens of this secret the policy no longer keeps) failed, so nothing was minted: `
      + `${rotation.report.revocationFailures.map((f) => f.reason).join('; ')}.`, sweepRemedy(authority));
  }
}

function sweepRemedy(authority: Authority): string {
  return `Rotation will be retried. If it keeps failing, check that ${authority.description} has a role that may read and write tokens (org-token-read, org-token-write).`;
}

/**
 * A put that reported a failure may have stored the version all the same: it is read back before anything is revoked.
 * The new token is revoked only when Secrets Manager refused the put and the version holds nothing; when the outcome
 * stays unknown it is left to the retry, which finds the version stored or sweeps the token by its mark.
 */
async function settleFailedPut(rotation: Rotation, authority: Authority, minted: MintedToken, error: unknown): Promise<string> {
  const { store, event, report, redactor } = rotation;
  const reason = `storing the new token as AWSPENDING failed: ${messageOf(error)}`;
  let stored: string | undefined;
  try {
    stored = await store.valueOf(event.secretId, { versionId: event.token, stage: AWSPENDING });
  } catch (readError) {
    throw new RotationFailure(`${reason} Reading the version back failed too (${messageOf(readError)}), so whether it was stored is unknown.`,
      'Rotation will be retried: it finds the version stored, or revokes the new token by its mark before it mints again.');
  }
  if (stored !== undefined) {
    if (parseSecretString(stored, 'AWSPENDING', redactor).clientId === minted.clientId) {
      report.notes.push('PutSecretValue reported a failure but the version was stored: read back and kept');
      return 'created';
    }
  }
  // The secret is gone (its teardown deleted it while this step minted): no rotation will be retried to store or revoke
  // the token, so it goes now.
  const described = await rotation.store.describeIfAllowed(event.secretId).catch(() => undefined);
  if (described && 'missing' in described && described.missing === 'not-found') await revokeIfRotationEnded(rotation, authority, minted, described);
  if (!(error instanceof PutFailure) || !error.rejected) {
    throw new RotationFailure(`${reason} The version does not hold the new token yet.`,
      'Rotation will be retried: it finds the version stored, or revokes the new token by its mark before it mints again.');
  }
  // Astra answered this invocation's mint with the full token: that is the proof the rule asks for.
  const leaked = await revokeOwned(rotation, authority, [minted.clientId], { secretArn: rotation.secretArn, proven: [minted.clientId] });
  // Refused for a cause only a person can fix, unless Secrets Manager refused it for the rate (then retrying is all).
  const handsOn = !rotation.store.throttledOut;
  throw leaked.length
    ? new RotationFailure(`${reason} Revoking the new token ${minted.clientId} failed too.`,
      'Fix the cause (permissions, KMS key, secret size); the next rotation revokes that token by its mark before it mints.', handsOn)
    : new RotationFailure(`${reason} The new token ${minted.clientId} was revoked.`, 'Fix the cause (permissions, KMS key, secret size); rotation will be retried.', handsOn);
}
