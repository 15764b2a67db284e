import { AstraClientEntry, MintedToken } from '../../clients/astra-client';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, Description, PutFailure } from '../../clients/secret-store';
import { RotationFailure, messageOf, reasonOf } from '../../logging/errors';
import { tokensLeftLiveAlert } from '../../logging/left-live-alert';
import { writeLogLine } from '../../logging/step-report';
import { disagreements } from '../../value/binding';
import { AstraSecretValue, nextSecretString, parseSecretString, validateRotatable } from '../../value/secret-value';
import { Authority, adminAuthority, selfAuthority } from '../authority';
import { mintMarked } from '../mint';
import { HeldTokens, MAX_CARRIED_KEYS, alternating, markedAsSecrets, revokeOwned } from '../revocation-rule';
import { proveRoleRotatesItself } from '../role-proof';
import { Rotation, bindingOf } from '../rotation';
import { markedTokens, sweep } from '../sweep';
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
  // AWSPREVIOUS's too: a value put over AWSCURRENT moves what the secret still owes there, and would drop it from the carry.
  const held = new HeldTokens(store, rotation.secretArn, redactor, current.pendingRevocationVersions, previous?.pendingRevocationVersions)
    .add(current, rotation.currentVersionId).add(previous, rotation.previousVersionId);
  // Taken in turns: the function's own value, whichever stage a writer's put left it in, is among the first judged.
  const pendingRevocations = alternating(current.pendingRevocations, previous?.pendingRevocations ?? []);
  await sweepBeforeMint(rotation, authority, keep, { pendingRevocations, held }, listed);

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
  const keys = await carryClaims(rotation, { clientIds, versions }, { pendingRevocations, keep, held, listed });

  try {
    const next = nextSecretString(current, { ...minted, tokenExpiry: tokenExpiry ?? undefined }, { clientIds, versions, keys }, binding);
    await store.putPending(event.secretId, event.token, next);
  } catch (error) {
    // A version another invocation stored first holds its own token, and that invocation asks whether rotation ended.
    if (await settleFailedPut(rotation, authority, minted, error) === 'stored-by-another') return 'already-created';
  }
  await revokeVersionLeftovers(rotation, authority, minted, listed, keep);
  // Also after a failed put that stored the version all the same: the teardown may have listed before it committed.
  await revokeIfRotationEnded(rotation, authority, minted);
  return 'created';
}

/**
 * The claims the next version owes beside the stage tokens the promotion leaves behind (`pending`, filled here): those
 * the sweep could not judge (Astra answered 403 to every ask of their key; a version named for them could not be read),
 * and unmarked ones a value names that a stage keeps for now (a value put over a stage may name a token there). Each
 * goes on with the version that held it and, where a key of it is held elsewhere than that version (a writer's forged
 * stage may hold another), with that key in the value itself, so that it never depends on a version Secrets Manager
 * may remove or a writer may shadow. At most MAX_CARRIED_KEYS carry a key, in the order judged; the rest are noted.
 */
async function carryClaims(
  rotation: Rotation,
  pending: { clientIds: string[]; versions: Record<string, string> },
  seen: { pendingRevocations: string[]; keep: ReadonlyArray<string | undefined>; held: HeldTokens; listed: AstraClientEntry[] },
): Promise<Record<string, string>> {
  const { clientIds, versions } = pending;
  const live = new Map(seen.listed.map((c) => [c.clientId, c]));
  const unmarked = (c: string) => live.has(c) && !markedAsSecrets(live.get(c), rotation.secretArn);
  const add = (clientId: string, versionId: string | undefined) => {
    if (clientIds.includes(clientId)) return;
    clientIds.push(clientId);
    if (versionId) versions[clientId] = versionId;
  };
  // The version the judgement used (where the key Astra could not judge was held, or the one that could not be read), never
  // a value's first hint for it: a writer's may name a version that never existed.
  for (const { clientId, recheckIn } of rotation.report.revocationsRefused) if (recheckIn) add(clientId, recheckIn);
  const kept = new Set(seen.keep);
  for (const clientId of seen.pendingRevocations) if (kept.has(clientId) && unmarked(clientId)) add(clientId, seen.held.hintOf(clientId));
  const keys: Record<string, string> = {};
  const left: string[] = [];
  for (const clientId of clientIds.filter(unmarked)) {
    // The key Astra could not judge; else one held elsewhere than the version the claim names.
    const key = seen.held.deferredKeyOf(clientId) ?? (await seen.held.tokensOf(clientId)).find((k) => k.versionId !== versions[clientId]);
    if (!key) continue;
    if (Object.keys(keys).length < MAX_CARRIED_KEYS) keys[clientId] = key.token;
    else left.push(clientId);
  }
  if (left.length) rotation.report.notes.push(`claims carried without their key (at most ${MAX_CARRIED_KEYS} carry one): ${left.join(', ')}`);
  return keys;
}

/**
 * CloudFormation deletes a secret's rotation schedule (which turns rotation off) before the teardown revokes the
 * secret's tokens; a rotation already running when that happens may mint after the teardown's list. Asked after the
 * put, this closes the gap: rotation still on means the teardown has not listed yet and will see the new token;
 * rotation off (or the secret gone) means this step revokes it itself. Its own mint answer is the proof.
 */
async function revokeIfRotationEnded(rotation: Rotation, authority: Authority, minted: MintedToken): Promise<void> {
  const answer = await rotation.store.describeIfAllowed(rotation.event.secretId);
  if ('found' in answer && answer.found.RotationEnabled) return;
  const ending = endingOf(answer);
  // AWSPENDING holds the token now: a secret hidden from the role (a Deny) or restorable from its deletion needs it, or
  // Secrets Manager's retry finds the version stored and its token dead. Only one gone for good, or whose rotation was
  // turned off, gives it up.
  const mayComeBack = !!ending && !('missing' in answer && answer.missing === 'not-found');
  await cutShort(rotation, authority, minted, ending ?? { why: 'rotation is off', unretried: false }, mayComeBack ? { mayHold: true } : undefined);
}

/** Why a rotation ends here; `unretried` when no rotation comes back to the secret for a token left live. */
interface Ending {
  readonly why: string;
  readonly unretried: boolean;
  readonly hidden?: boolean;
}

/**
 * A secret gone, or hidden from the role (an update's cleanup removed its grant along with the secret), or marked for
 * deletion. Marked counts whatever its rotation setting says: Secrets Manager refuses its writes, so no retry of this
 * rotation stores the token while it is marked, whether the deletion is forced (the teardown's, CloudFormation's: gone
 * within moments) or a person's with a recovery window (restorable).
 */
function endingOf(answer: Description): Ending | undefined {
  if ('missing' in answer) {
    return answer.missing === 'not-found' ? { why: 'the secret is gone', unretried: true }
      : { why: 'the role may no longer describe the secret: it was deleted, or the role\'s access to it removed', unretried: true, hidden: true };
  }
  return answer.found.DeletedDate ? { why: 'the secret is marked for deletion', unretried: true } : undefined;
}

/**
 * Ends a rotation cut short. The new token is revoked unless a version of a secret that may come back may hold it (it
 * may still be needed there); one left live where no rotation comes back for it is the token alarm's to report.
 */
async function cutShort(
  rotation: Rotation, authority: Authority, minted: MintedToken, ending: Ending, failedPut?: { reason?: string; mayHold: boolean },
): Promise<never> {
  const live = failedPut?.mayHold ? [minted.clientId] : await revokeNewToken(rotation, authority, minted);
  const leftLive = failedPut?.mayHold ? 'was left live: the secret\'s version may hold it, and the secret, if it still exists or is restored, needs it'
    : 'could not be revoked';
  if (live.length && ending.unretried) {
    writeLogLine(tokensLeftLiveAlert({
      step: 'createSecret',
      secretArn: rotation.secretArn,
      clientIds: [minted.clientId],
      what: `The rotation of the secret ${rotation.secretArn} ended while it minted the token ${minted.clientId} (${ending.why}), which ${leftLive}.`,
      unless: failedPut?.mayHold ? ', unless the secret still exists or is restored' : undefined,
    }), rotation.redactor);
  }
  const done = 'Nothing to do: the rotation was cancelled or the secret deleted.';
  throw new RotationFailure(`${failedPut?.reason ? `${failedPut.reason} The r` : 'r'}otation of the secret ended while this step minted (${ending.why}): `
    + `the new token ${minted.clientId} ${live.length ? leftLive : 'was revoked'}.`,
  live.length ? `Revoke it in the Astra Portal (its description names the secret)${failedPut?.mayHold ? ', unless the secret still exists or is restored' : ''}.`
    : ending.hidden ? `${done} If it was not, give the rotation function's role its access back and rotate again.` : done,
  live.length > 0);
}

/**
 * Revokes the new token with the token that minted it, else with itself: the teardown may have revoked the authority
 * (a self-rotating secret's last token) first. Astra's mint answer to this invocation is the proof the rule asks for.
 * Returns the new token's clientId while it may be live.
 */
async function revokeNewToken(rotation: Rotation, authority: Authority, minted: MintedToken): Promise<string[]> {
  const proof = { secretArn: rotation.secretArn, proven: [minted.clientId] };
  if (!(await revokeOwned(rotation, authority, [minted.clientId], proof)).length) return [];
  const self: Authority = { bearer: minted.token, clientId: minted.clientId, description: 'the new token' };
  const live = await revokeOwned(rotation, self, [minted.clientId], proof, { revokeAuthority: true });
  if (live.length) return live;
  // The token is revoked: the first attempt is a note, not a failure the report would list beside the revocation.
  const { clientIds, revocationFailures, notes } = rotation.report;
  const first = revocationFailures.filter((f) => f.clientId === minted.clientId).map((f) => f.reason);
  clientIds.revocationFailed.splice(0, clientIds.revocationFailed.length, ...clientIds.revocationFailed.filter((c) => c !== minted.clientId));
  revocationFailures.splice(0, revocationFailures.length, ...revocationFailures.filter((f) => f.clientId !== minted.clientId));
  notes.push(`the new token revoked itself after ${authority.description} could not: ${first.join('; ')}`);
  return [];
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
  const { failed } = await sweep(rotation, authority, { keep, ...pending, exceptVersion: rotation.event.token }, listed);
  if (failed.length > 0) {
    throw new RotationFailure(`revoking ${failed.join(', ')} (tokens of this secret the policy no longer keeps) failed, so nothing was minted: `
      + `${rotation.report.revocationFailures.map((f) => f.reason).join('; ')}.`, sweepRemedy(authority));
  }
}

/**
 * The version holds this invocation's token now, and a version's value is never replaced: any other token the list
 * before the mint showed marked with the version (an earlier invocation's, killed before its put or whose put failed)
 * can never be stored. A failure here is a note: the next rotation's sweep revokes what is left, by its mark.
 */
async function revokeVersionLeftovers(
  rotation: Rotation, authority: Authority, minted: MintedToken, listed: AstraClientEntry[], keep: ReadonlyArray<string | undefined>,
): Promise<void> {
  if (!markedTokens(listed, rotation.secretArn, rotation.event.token).length) return;
  try {
    const { failed } = await sweep(rotation, authority, { keep: [...keep, minted.clientId], version: rotation.event.token }, listed);
    if (failed.length) rotation.report.notes.push(`left live for the next rotation's sweep: ${failed.join(', ')}, earlier tokens of this version`);
  } catch (error) {
    rotation.report.notes.push(`earlier tokens of this version were not revoked (${messageOf(error)}); the next rotation's sweep revokes them`);
  }
}

function sweepRemedy(authority: Authority): string {
  return `Rotation will be retried. If it keeps failing, check that ${authority.description} has a role that may read and write tokens (org-token-read, org-token-write).`;
}

/**
 * A put that reported a failure may have stored the version all the same: it is read back before anything is revoked.
 * The new token is revoked only when no version holds it (Secrets Manager refused the put, and the version reads back
 * without it) or the secret is gone; when the outcome stays unknown it is left to the retry, which finds the version
 * stored or, once it has stored its own, revokes the token by its mark; where no retry comes (the secret gone, going or
 * hidden), to the alert.
 */
async function settleFailedPut(
  rotation: Rotation, authority: Authority, minted: MintedToken, error: unknown,
): Promise<'stored' | 'stored-by-another'> {
  const { store, event, report, redactor } = rotation;
  const reason = `storing the new token as AWSPENDING failed: ${messageOf(error)}`;
  const retried = 'Rotation will be retried: it finds the version stored, or stores a token of its own and then revokes the new token by its mark.';
  let stored: string | undefined;
  let unread: { readonly error: unknown } | undefined;
  try {
    stored = await store.valueOf(event.secretId, { versionId: event.token, stage: AWSPENDING });
  } catch (readError) {
    // A secret marked for deletion, or hidden from the role, refuses the read too: whether the rotation ends decides.
    unread = { error: readError };
  }
  if (stored !== undefined && parseSecretString(stored, 'AWSPENDING', redactor).clientId === minted.clientId) {
    report.notes.push('PutSecretValue reported a failure but the version was stored: read back and kept');
    return 'stored';
  }
  const rejected = error instanceof PutFailure && error.rejected;
  // No version holds the token: a version's value is never replaced, so one holding another never holds it; a refused
  // put stored nothing unless a request before the refused one did, which the read-back, or a single request, rules out.
  const unstored = stored !== undefined || (rejected && (!unread || !(error as PutFailure).resent));
  const described = await store.describeIfAllowed(event.secretId).catch(() => undefined);
  const ending = described && endingOf(described);
  if (ending) {
    // A secret gone holds no version; one marked for deletion or hidden may come back, and needs a token it holds.
    const gone = 'missing' in described && described.missing === 'not-found';
    // The put's own remedy (check the secret exists, and the role's rights) is not this failure's: the secret is ending.
    const putReason = `storing the new token as AWSPENDING failed: ${reasonOf(error)}`;
    return cutShort(rotation, authority, minted, ending, { reason: putReason, mayHold: !unstored && !gone });
  }
  if (stored !== undefined) return settleStoredByAnother(rotation, authority, minted, reason, stored);
  if (unread) {
    throw new RotationFailure(
      `${reason} Reading the version back failed too (${messageOf(unread.error)}), so whether it was stored is unknown.`, retried);
  }
  if (!rejected) throw new RotationFailure(`${reason} The version does not hold the new token yet.`, retried);
  // Astra answered this invocation's mint with the full token: that is the proof the rule asks for. No version holds it,
  // so it may revoke itself where the authority cannot (the teardown revoked it, and nothing said the secret is going).
  const leaked = await revokeNewToken(rotation, authority, minted);
  // Refused for a cause only a person can fix, unless Secrets Manager refused it for the rate (then retrying is all).
  const handsOn = !rotation.store.throttledOut;
  throw leaked.length
    ? new RotationFailure(`${reason} Revoking the new token ${minted.clientId} failed too.`,
      'Fix the cause (permissions, KMS key, secret size); the next rotation revokes that token by its mark before it mints.', handsOn)
    : new RotationFailure(`${reason} The new token ${minted.clientId} was revoked.`, 'Fix the cause (permissions, KMS key, secret size); rotation will be retried.', handsOn);
}

/**
 * The version holds another token: two invocations of this step raced on one version (a duplicate delivery), and the
 * other stored first. A version's value is never replaced, so no version holds this invocation's token: it is revoked,
 * and the rotation goes on with the stored one, whether Secrets Manager answered the put ResourceExists or an error
 * whose request committed nothing.
 */
async function settleStoredByAnother(
  rotation: Rotation, authority: Authority, minted: MintedToken, reason: string, stored: string,
): Promise<'stored-by-another'> {
  const live = await revokeNewToken(rotation, authority, minted);
  if (live.length) {
    throw new RotationFailure(`${reason} Another invocation of this step stored the version first, and revoking this one's new token `
      + `${minted.clientId} failed.`, 'Rotation will be retried with the stored version; the next rotation revokes that token by its mark before it mints.');
  }
  rotation.report.clientIds.pending = parseSecretString(stored, 'AWSPENDING', rotation.redactor).clientId;
  rotation.report.notes.push(`another invocation of this step stored the version first: this one's new token ${minted.clientId} was revoked`);
  return 'stored-by-another';
}
