import { randomBytes } from 'node:crypto';
import { Authority, mintFailure } from './authority';
import { ownershipMark } from './ownership-mark';
import { Rotation } from './rotation';
import { sweep } from './sweep';
import { MintedToken } from '../clients/astra-client';
import { AstraApiError, RotationFailure, messageOf } from '../logging/errors';

/**
 * Mints the version's token, marked as the secret's, the version's and this invocation's. A mint whose outcome is unknown
 * (no answer, 5xx, an unusable 2xx) may have created a token: this invocation's marks are swept before the next try, so
 * a retry never leaves two; another invocation's marks on the version are never touched here (it may be storing its
 * token). 429s are retried inside the client, after their Retry-After.
 */
export async function mintMarked(
  rotation: Rotation, authority: Authority, roles: string[], keep: ReadonlyArray<string | undefined>, lifetimeSeconds?: number,
): Promise<MintedToken> {
  const { astra, event, config, report } = rotation;
  const mint = randomBytes(4).toString('hex');
  const description = ownershipMark(rotation.secretArn, event.token, mint);
  for (let attempt = 1; ; attempt++) {
    try {
      // Asked on each attempt: a retry's token must not outlive the lifetime either.
      const tokenExpiry = lifetimeSeconds === undefined ? undefined : new Date(Date.now() + lifetimeSeconds * 1000).toISOString();
      return await astra.mint(authority.bearer, roles, description, tokenExpiry);
    } catch (error) {
      if (!outcomeUnknown(error)) throw mintFailure(error, authority, lifetimeSeconds);
      report.notes.push(`mint attempt ${attempt}: ${rotation.redactor.redact(messageOf(error))}; sweeping this invocation's tokens of the version before trying again`);
      let failed: string[];
      try {
        ({ failed } = await sweep(rotation, authority, { keep, version: event.token, mint }));
      } catch (sweepError) {
        throw new RotationFailure(`${messageOf(error)}, and the token list could not be read to revoke what that mint may have created (${messageOf(sweepError)}).`,
          'Rotation will be retried; its next attempt revokes any token this one created before it mints.');
      }
      if (failed.length > 0 || attempt >= config.httpMaxAttempts) {
        throw new RotationFailure(`${messageOf(error)} (mint attempt ${attempt}).`,
          'Astra did not answer usably. Rotation will be retried; its next attempt revokes any token this one created before it mints.');
      }
    }
  }
}

/** Whether Astra may have created a token although the mint did not return one. */
function outcomeUnknown(error: unknown): boolean {
  if (!(error instanceof AstraApiError) || !error.sent) return false;
  return error.status === undefined || error.status >= 500 || (error.status >= 200 && error.status < 300);
}
