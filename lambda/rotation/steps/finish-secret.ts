import { AWSCURRENT, AWSPENDING } from '../../clients/secret-store';
import { RotationFailure, messageOf } from '../../logging/errors';
import { AstraSecretValue, parseSecretString } from '../../value/secret-value';
import { Authority, adminAuthority, selfAuthority } from '../authority';
import { HeldTokens, revokeOwned } from '../revocation-rule';
import { Rotation, bindingOf } from '../rotation';
import { markedTokens } from '../sweep';

/**
 * Promote first, revoke after: AWSCURRENT always holds a live token. The revocations the promotion owes (the version's
 * `pendingRevocations`) run on every call, also when a retry finds the version AWSCURRENT already; one that fails
 * fails the step after the promotion, so that Secrets Manager retries it (404 counts as revoked). The version's record
 * is a claim (a value writer could have put it there): the token list says which pending revocations are live and marked as
 * the secret's, and an unmarked one is revoked only when its full token, held in a version of the secret, authenticates.
 * With them go the tokens marked with this version that it does not hold: no version will ever hold them.
 */
/**
 * The versions that were AWSCURRENT and AWSPREVIOUS before this promotion. A retry after it knows the first when it is
 * AWSPREVIOUS now; the others have no label left, so every version the record names counts (a claim carried from earlier rotations
 * is counted too, which only makes a retry within the window ask again; a value writer's key carried for a debt must
 * not take it off the list).
 */
function stagesBefore(rotation: Rotation, version: AstraSecretValue): Array<string | undefined> {
  if (!promotedBefore(rotation)) return [rotation.currentVersionId, rotation.previousVersionId];
  return [rotation.previousVersionId, ...version.pendingRevocations.map((c) => version.pendingRevocationVersions[c])];
}

/**
 * Whether an earlier call promoted this version: it is AWSCURRENT, or a value put since moved AWSCURRENT off it and left
 * it AWSPREVIOUS. Either way the labels no longer show the stages it moved on from.
 */
function promotedBefore(rotation: Rotation): boolean {
  return rotation.alreadyCurrent || rotation.event.token === rotation.previousVersionId;
}

/** When the version's token was minted (Astra's answer, as the version records it; Java's `...Z[UTC]` form too); NaN if unknown. */
function mintedAt(version: AstraSecretValue): number {
  return Date.parse(String(version.raw.generatedOn).replace(/\[[^\]]*\]$/, ''));
}

/** How long after the mint a retry of finishSecret still fails on a stage token Astra could not judge: its retries ask again. */
export const RECHECK_WINDOW_MS = 20 * 60 * 1000;

export async function finishSecret(rotation: Rotation): Promise<string> {
  const { store, event, report, redactor } = rotation;
  const stage = rotation.alreadyCurrent ? AWSCURRENT : AWSPENDING;
  const text = await store.valueOf(event.secretId, { versionId: event.token, stage });
  if (text === undefined) {
    throw new RotationFailure('this AWSPENDING version has no value: createSecret has not stored a token.', 'Let Secrets Manager retry the rotation from createSecret.');
  }
  const version = parseSecretString(text, stage, redactor);
  report.clientIds.pending = version.clientId;
  const pendingRevocations = version.pendingRevocations.filter((c) => c !== version.clientId);

  // Resolved before the promotion so that its failure is reported, but it never blocks promoting a tested token.
  let authority: Authority | undefined;
  let authorityProblem: string | undefined;
  try {
    const binding = bindingOf(rotation);
    authority = binding.adminSecretArn ? await adminAuthority(rotation, binding.adminSecretArn) : selfAuthority(version, 'new');
    if (!authority) authorityProblem = 'the new version holds no token to revoke with';
  } catch (error) {
    authorityProblem = messageOf(error);
  }

  if (!rotation.alreadyCurrent) await store.promote(event.secretId, event.token, rotation.currentVersionId);
  report.clientIds.current = version.clientId;

  let listed;
  if (authority) {
    try {
      listed = await rotation.astra.listClients(authority.bearer);
    } catch (error) {
      authorityProblem = `the token list, which shows what is live and whose it is, could not be read: ${messageOf(error)}`;
    }
  }
  let failed: string[] = [];
  if (authority && listed) {
    // Tokens minted for this version by invocations of createSecret whose store did not win (killed, failed, or beaten by
    // a duplicate): the version holds another token, and its value is never replaced.
    const leftovers = markedTokens(listed, rotation.secretArn, event.token).filter((c) => c !== version.clientId);
    const held = new HeldTokens(store, rotation.secretArn, redactor, version.pendingRevocationVersions).add(version, event.token);
    failed = await revokeOwned(rotation, authority, [...pendingRevocations, ...leftovers], { secretArn: rotation.secretArn, listed, held },
      { keep: [version.clientId] });
    // A deferral is no failure for a claim carried from earlier rotations, but the token of a stage this promotion moves on
    // from (AWSCURRENT's or AWSPREVIOUS's before it), held there and Astra answering 403 to every ask, or held in a stage
    // version that could not be read, is owed now: the step fails, and Secrets Manager's retry asks again, for
    // RECHECK_WINDOW_MS after the mint (a retry after a kill or a failed list may be the first call that judges it). After
    // that a retry carries it (WARN): a steady 403, or a version no key decrypts, would fail every retry for good.
    const stages = new Set(stagesBefore(rotation, version).filter((v): v is string => !!v));
    const recent = !promotedBefore(rotation) || Date.now() - mintedAt(version) < RECHECK_WINDOW_MS;
    const owedNow = (r: { recheckIn?: string }) => !!r.recheckIn && stages.has(r.recheckIn) && recent;
    for (const owed of report.revocationsRefused.filter(owedNow)) {
      failed.push(owed.clientId);
      report.clientIds.revocationFailed.push(owed.clientId);
      report.revocationFailures.push({ clientId: owed.clientId, reason: owed.why });
    }
  } else if (pendingRevocations.length > 0) {
    failed = pendingRevocations;
    for (const clientId of pendingRevocations) report.revocationFailures.push({ clientId, reason: redactor.redact(authorityProblem ?? '') });
    report.clientIds.revocationFailed.push(...pendingRevocations);
  } else {
    report.notes.push(`tokens of this version that no invocation stored were not looked for (${redactor.redact(authorityProblem ?? '')}); the next rotation's sweep revokes any`);
  }
  if (failed.length > 0) {
    const reasons = report.revocationFailures.map((f) => f.reason).join('; ');
    throw new RotationFailure(`the new token is AWSCURRENT, but the revocation of ${failed.join(', ')} that its promotion owes failed: ${reasons}.`,
      'Secrets Manager retries finishSecret, which revokes what is left; if it keeps failing, the next rotation\'s sweep does.');
  }
  return rotation.alreadyCurrent ? 'already-current, revocations settled' : 'finished';
}
