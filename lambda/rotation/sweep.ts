import { Authority } from './authority';
import { parseMark, secretDigest } from './ownership-mark';
import { HeldTokens, revokeOwned } from './revocation-rule';
import { Rotation } from './rotation';
import { AstraClientEntry } from '../clients/astra-client';

export interface SweepPlan {
  /** ClientIds the policy keeps live; never revoked, whatever their mark. */
  readonly keep: ReadonlyArray<string | undefined>;
  /**
   * ClientIds AWSCURRENT records as pending revocations: how a token without a mark (a bootstrap or DataStax-format one)
   * is found. A claim only: each is revoked only if the rule proves it the secret's (revocation-rule.ts).
   */
  readonly pendingRevocations?: readonly string[];
  /** The full tokens held in the secret's versions, to prove possession of an unmarked pending revocation. */
  readonly held?: HeldTokens;
  /** Only the marks of this version; otherwise every mark of the secret. */
  readonly version?: string;
  /** Only the marks of this invocation's mints (after a mint whose answer was lost). */
  readonly mint?: string;
  /**
   * Not the marks of this version minted within INVOCATION_SPAN_MS: the one this rotation creates, which another
   * invocation of the step may be storing its token in right now. Older ones were minted by invocations that have ended
   * without storing it (the caller read the version unstored), so no version will ever hold them. Once this invocation
   * has stored it, its other marks are leftovers (revokeVersionLeftovers).
   */
  readonly exceptVersion?: string;
}

/**
 * Lambda ends every invocation within 15 minutes, and a request it sent is answered within moments of that: a token
 * minted longer ago than this (by Astra's clock, which may differ from the function's by a little) was minted by an
 * invocation that is over.
 */
export const INVOCATION_SPAN_MS = 20 * 60 * 1000;

export interface SweepResult {
  /** The org's tokens as the list answered, before the sweep revoked any. */
  readonly listed: AstraClientEntry[];
  /** ClientIds whose revocation failed: still live, for certain or possibly. */
  readonly failed: string[];
}

/** The clientIds of the listed tokens marked as the secret's (only those of `version`, and of `mint`, when given). */
export function markedTokens(
  listed: AstraClientEntry[], secretArn: string, version?: string, which: Pick<SweepPlan, 'mint' | 'exceptVersion'> = {},
): string[] {
  const digest = secretDigest(secretArn);
  const now = Date.now();
  // No minting time (or one in the future) may be an invocation still running.
  const ended = (c: AstraClientEntry) => now - Date.parse(c.generatedOn ?? '') > INVOCATION_SPAN_MS;
  return listed.filter((c) => {
    const mark = parseMark(c.description);
    return mark?.secretDigest === digest && (version === undefined || mark.version === version)
      && (which.mint === undefined || mark.mint === which.mint)
      && (which.exceptVersion === undefined || mark.version !== which.exceptVersion || ended(c));
  }).map((c) => c.clientId);
}

/**
 * Lists the org's tokens with the minting authority and revokes every live token marked as this secret's (or this
 * version's) and every live pending revocation the rule proves the secret's, except those in `keep` and the authority
 * itself. A token marked for another secret, or not marked and not proven, is never touched. A failed list throws:
 * nothing was revoked. `alreadyListed` is a list the caller has just read with the same authority.
 */
export async function sweep(rotation: Rotation, authority: Authority, plan: SweepPlan, alreadyListed?: AstraClientEntry[]): Promise<SweepResult> {
  const listed = alreadyListed ?? await rotation.astra.listClients(authority.bearer);
  const marked = markedTokens(listed, rotation.secretArn, plan.version, plan);
  const failed = await revokeOwned(rotation, authority, [...marked, ...plan.pendingRevocations ?? []],
    { secretArn: rotation.secretArn, listed, held: plan.held }, { keep: plan.keep });
  return { listed, failed };
}
