import { Authority } from './authority';
import { Rotation } from './rotation';
import { AstraClientEntry } from '../clients/astra-client';
import { AstraApiError, RotationFailure, messageOf, rateLimitRemedy } from '../logging/errors';

/** What a self-rotating secret's token does in the next rotation: list the org's tokens, mint one, revoke old ones. */
export const TOKEN_ACTIONS = ['org-token-read', 'org-token-write'] as const;

/**
 * Before a self-rotating secret mints, proves that tokens of the bound role may list, mint and revoke tokens: otherwise
 * the new token would pass testSecret, be promoted, and every later rotation would fail with the old (often admin)
 * token never revoked. When the minting token has exactly that role, the list it has just read and the mint it is
 * about to make are the proof; otherwise the role's policy is read. Nothing is minted or revoked before this passes.
 */
export async function proveRoleRotatesItself(rotation: Rotation, authority: Authority, roleId: string, listed: AstraClientEntry[]): Promise<void> {
  const own = listed.find((c) => c.clientId === authority.clientId)?.roles ?? [];
  if (own.length === 1 && own[0].toLowerCase() === roleId.toLowerCase()) return;

  let actions: string[];
  try {
    actions = await rotation.astra.roleActions(authority.bearer, roleId);
  } catch (error) {
    if (error instanceof AstraApiError && error.status === 429) {
      throw new RotationFailure(`Astra's rate limit stopped the check that this secret's tokens may mint their successors: ${messageOf(error)}; nothing was minted.`,
        rateLimitRemedy('Astra'));
    }
    const forbidden = error instanceof AstraApiError && (error.status === 401 || error.status === 403);
    throw new RotationFailure(
      `the policy of role ${roleId} could not be read with ${authority.description} (${messageOf(error)}), so nothing proves that tokens of that role `
      + 'may mint and revoke their successors; nothing was minted.',
      forbidden
        ? `Give that token's role org-role-read, or bootstrap with a token of role ${roleId} itself, or let an admin secret mint (adminSecret).`
        : 'Rotation will be retried.',
    );
  }
  const missing = TOKEN_ACTIONS.filter((a) => !actions.includes(a));
  if (missing.length > 0) {
    throw new RotationFailure(
      `role ${roleId} does not allow ${missing.join(' and ')}, and a self-rotating secret's token must list, mint and revoke its successors: `
      + 'a token of that role would be promoted and every later rotation would fail. Nothing was minted.',
      'Bind a role that allows org-token-read and org-token-write (Organization Administrator, Database Administrator or a custom role), '
      + 'or give the construct an adminSecret whose token mints.',
    );
  }
  rotation.report.notes.push(`role ${roleId} allows ${TOKEN_ACTIONS.join(' and ')} (read from its policy)`);
}
