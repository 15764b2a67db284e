import type { EscrowedToken } from './escrow';
import { DeadAuthority, OrgTokenLists } from './org-token-lists';
import { AstraClient } from '../clients/astra-client';
import { SecretGone, SecretStore } from '../clients/secret-store';
import { Redactor } from '../logging/redact';
import type { StepReport } from '../logging/step-report';
import { Authority, selfAuthority } from '../rotation/authority';
import { markedAsSecrets, revokeOwned } from '../rotation/revocation-rule';
import { markedTokens } from '../rotation/sweep';
import { AstraSecretValue, clientIdOfMintedToken, parseSecretString } from '../value/secret-value';

/**
 * The most earlier versions (neither AWSCURRENT nor AWSPREVIOUS on them) read, newest first, for the tokens a value writer put out of a self-rotating secret's
 * stages. Each costs a GetSecretValue now and, for a token not seen yet, an Astra call after the deletion. A writer who
 * puts more values than this over the secret (or more than Secrets Manager keeps) leaves its tokens out of reach.
 */
export const PUSHED_OUT_VERSIONS_READ = 10;

/**
 * Whether AWSCURRENT is provably the value a rotation stored: its token is live and Astra lists it with this secret's
 * mark for this very version (mint.ts marks each token with the version createSecret stores it in, and only createSecret
 * writes a managed secret's versions). Anything else (the bootstrap token, a dead token, a token of another org or one
 * without the mark) may be a value put over the secret's tokens, which then live on in its earlier versions.
 */
export async function currentIsRotations(
  secretArn: string, current: AstraSecretValue | undefined, versionId: string | undefined, lists: OrgTokenLists,
): Promise<boolean> {
  const authority = current && selfAuthority(current, 'current');
  if (!authority?.clientId || !versionId) return false;
  try {
    await lists.listFor(authority, current?.orgId);
  } catch {
    // Dead, or the list could not be read: nothing proves the value, so the earlier versions are read (reads only).
    return false;
  }
  const entry = lists.find(authority.clientId);
  return !!entry && markedTokens([entry], secretArn, versionId).length > 0;
}

/**
 * The full tokens the secret's earlier versions hold that no stage value names, newest first: read while the secret
 * exists, for the teardown to search with once it is gone. A version whose value is not in the schema holds no token.
 */
export async function readPushedOut(
  store: SecretStore, secretArn: string, known: ReadonlySet<string>, redactor: Redactor,
): Promise<EscrowedToken[]> {
  const found: EscrowedToken[] = [];
  for (const versionId of (await store.versionsOutsideStages(secretArn)).slice(0, PUSHED_OUT_VERSIONS_READ)) {
    const text = await store.valueOf(secretArn, { versionId });
    // Secrets Manager lists only versions that hold a value: a listed one without is a secret deleted since.
    if (text === undefined) throw new SecretGone(secretArn, `GetSecretValue(version ${versionId})`);
    let value: AstraSecretValue | undefined;
    try {
      value = text ? parseSecretString(text, `version ${versionId}`, redactor) : undefined;
    } catch {
      continue;
    }
    const [clientId, token] = [value?.clientId, value?.astraKey];
    // Only a token in the exact form Astra mints, whose clientId it carries: a rotation writes no other, and anything
    // else (a key of any size, or with characters no request carries) would take the escrow's room for good.
    if (!clientId || !token || clientIdOfMintedToken(token) !== clientId) continue;
    if (known.has(clientId) || found.some((t) => t.clientId === clientId)) continue;
    found.push({ clientId, token, versionId });
  }
  return found;
}

export interface PushedOutSearch {
  /** Live, and not marked as the secret's: named in the alert as claims. */
  readonly unproven: string[];
  /** Whose list could not be read: a later round may. */
  readonly unread: string[];
}

/**
 * Each pushed-out token searches its own org's list: a dead one has nothing to say; a live one revokes the tokens that
 * list marks as the secret's, then itself if marked. An unmarked live one stays live, named as a claim: possession is
 * no proof here, for the writer who put the values over the secret may have put a sibling's, an admin's or another
 * team's working token in the version first, and no stage names it any more.
 */
export async function searchPushedOut(
  plan: { readonly arn: string; readonly pushedOut?: readonly EscrowedToken[]; readonly deletedAt?: number; revokedHere?: Set<string> },
  context: { readonly astra: AstraClient; readonly report: StepReport; readonly redactor: Redactor },
  lists: OrgTokenLists,
): Promise<PushedOutSearch> {
  const revokedHere = plan.revokedHere ??= new Set();
  const result: PushedOutSearch = { unproven: [], unread: [] };
  for (const token of plan.pushedOut ?? []) {
    if (revokedHere.has(token.clientId)) continue;
    const authority: Authority = { bearer: token.token, clientId: token.clientId, description: `the token of the secret's earlier version ${token.versionId}` };
    let listed;
    try {
      ({ listed } = await lists.listFor(authority, undefined, plan.deletedAt));
    } catch (error) {
      // Dead: this key has nothing to revoke. Its clientId is not therefore revoked: a writer can pair a live token's
      // clientId with a key that never authenticated.
      if (!(error instanceof DeadAuthority)) result.unread.push(token.clientId);
      continue;
    }
    const evidence = { secretArn: plan.arn, listed };
    await revokeOwned(context, authority, markedTokens(listed, plan.arn), evidence);
    // The list it was given (its own, or its org's where it is that clientId's token), never another org's: its DELETEs
    // reach only its own org, and another org answers 404, which counts as revoked.
    if (markedAsSecrets(listed.find((c) => c.clientId === token.clientId), plan.arn)) {
      await revokeOwned(context, authority, [token.clientId], evidence, { revokeAuthority: true });
    }
    const { revoked, alreadyRevoked, revocationFailed } = context.report.clientIds;
    for (const c of [...revoked, ...alreadyRevoked]) revokedHere.add(c);
    lists.forget([...revokedHere]);
    if (!revokedHere.has(token.clientId) && !revocationFailed.includes(token.clientId)) result.unproven.push(token.clientId);
  }
  return result;
}
