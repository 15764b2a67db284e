import { Authority, adminAuthority, revokeAll, selfAuthority } from '../authority';
import { RotationFailure, messageOf } from '../errors';
import { Rotation } from '../rotation';
import { parseSecretString } from '../secret-value';
import { AWSPENDING } from '../secrets';

/** Promote first, revoke after: AWSCURRENT always holds a live token, and a failed revocation waits for the next rotation. */
export async function finishSecret(rotation: Rotation): Promise<string> {
  const { store, event, report, redactor } = rotation;
  const text = await store.valueOf(event.secretId, { versionId: event.token, stage: AWSPENDING });
  if (text === undefined) {
    throw new RotationFailure('this AWSPENDING version has no value: createSecret has not stored a token.', 'Let Secrets Manager retry the rotation from createSecret.');
  }
  const pending = parseSecretString(text, 'AWSPENDING', redactor);
  report.clientIds.pending = pending.clientId;
  report.mode = pending.rootarn ? 'admin' : 'self-rotation';

  // Resolved before the promotion so its failure is reported, but it never blocks promoting a tested token.
  let authority: Authority | undefined;
  let authorityProblem: string | undefined;
  if (pending.pendingRevocations.length > 0) {
    try {
      authority = pending.rootarn ? await adminAuthority(rotation, pending.rootarn) : selfAuthority(pending, 'new');
      if (!authority) authorityProblem = 'the new version holds no token to revoke with';
    } catch (error) {
      authorityProblem = messageOf(error);
    }
  }

  await store.promote(event.secretId, event.token, rotation.currentVersionId);
  report.clientIds.current = pending.clientId;

  if (authority) {
    await revokeAll(rotation, authority, pending.pendingRevocations, [pending.clientId]);
  } else if (authorityProblem) {
    for (const clientId of pending.pendingRevocations.filter((c) => c !== pending.clientId)) {
      report.clientIds.revocationFailed.push(clientId);
      report.revocationFailures.push({ clientId, reason: redactor.redact(authorityProblem) });
    }
  }
  return 'finished';
}
