import type { RevocationPolicy } from './rotation';
import { ALERT_NAMES } from '../../src/shared/alert-names';
import { MAX_TOKEN_LIFETIME_TAG } from '../../src/shared/secret-tags';
import { StoredRotationRules, intervalsOfUse, rateHours, tokenLifetimeFloor, windowHours } from '../../src/shared/token-grace';
import { RotationFailure } from '../logging/errors';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The rotation rules as DescribeSecret returns them. */
export type RotationRulesView = StoredRotationRules;

/** When the secret rotates next and how long a token must live, as far as its rotation rules tell. */
export interface TokenNeed {
  /** When the next rotation is due (its window may run on past this). */
  readonly nextRotation?: Date;
  /** Until when the new token must work: the end of its grace under the policy. Undefined when the rules do not say. */
  readonly neededUntil?: Date;
}

/**
 * The new token is AWSCURRENT until the next rotation and, under AT_NEXT_ROTATION, AWSPREVIOUS until the one after:
 * it must work until the end of the window of the rotation that ends its grace. `NextRotationDate` is used when it
 * lies ahead of the rotation in progress; otherwise the rules' interval counts from now.
 */
export function tokenNeed(
  rules: RotationRulesView | undefined, nextRotationDate: Date | undefined, policy: RevocationPolicy, now: Date,
): TokenNeed {
  const intervalMs = intervalOf(rules);
  const scheduled = nextRotationDate && nextRotationDate.getTime() > now.getTime() + HOUR_MS ? nextRotationDate : undefined;
  const next = scheduled ?? (intervalMs !== undefined ? new Date(now.getTime() + intervalMs) : undefined);
  if (!next) return {};
  // A cron schedule has no fixed interval: the time to its next run stands in for it.
  const graceIntervalMs = intervalMs ?? next.getTime() - now.getTime();
  const windowMs = windowOf(rules, graceIntervalMs);
  const graceEnd = next.getTime() + (intervalsOfUse(policy) - 1) * graceIntervalMs + windowMs;
  return { nextRotation: next, neededUntil: new Date(graceEnd) };
}

/** A rate's interval (the expression wins over the AutomaticallyAfterDays DescribeSecret calculates from it), else the days. */
function intervalOf(rules: RotationRulesView | undefined): number | undefined {
  const rate = rateHours(rules?.ScheduleExpression);
  if (rate !== undefined) return rate * HOUR_MS;
  return rules?.AutomaticallyAfterDays ? rules.AutomaticallyAfterDays * DAY_MS : undefined;
}

/** Secrets Manager's window: `Duration` ("3h"), else to the end of the UTC day (at most 24 h) for daily schedules. */
function windowOf(rules: RotationRulesView | undefined, intervalMs: number): number {
  return windowHours(rules, intervalMs / HOUR_MS) * HOUR_MS;
}

/**
 * Refuses, before anything is minted or written, a lifetime tag below the floor synth enforces on `maxTokenLifetime`
 * (the same `tokenLifetimeFloor`, here on the rules DescribeSecret reports): a token given less would expire before
 * its replacement, or within seconds. A tag with rules that give no interval is refused too, as synth refuses it.
 */
export function checkLifetimeFloor(
  lifetimeSeconds: number | undefined, rules: RotationRulesView | undefined, policy: RevocationPolicy, secretArn: string,
): void {
  if (lifetimeSeconds === undefined) return;
  const floor = tokenLifetimeFloor(rules, policy);
  const untag = `aws secretsmanager untag-resource --secret-id ${secretArn} --tag-keys ${MAX_TOKEN_LIFETIME_TAG}`;
  if (floor === undefined) {
    throw new RotationFailure(`the tag ${MAX_TOKEN_LIFETIME_TAG} (${lifetimeSeconds} s) cannot be checked: the secret's rotation rules `
      + `(${JSON.stringify(rules ?? {})}) give no interval to check it against, so nothing was minted or written.`,
    `Give the secret a rate(...) or cron(...) schedule (automaticallyAfter or schedule), or ask for no expiry: remove maxTokenLifetime and deploy, or ${untag}.`);
  }
  if (lifetimeSeconds < floor.seconds) {
    throw new RotationFailure(`the tag ${MAX_TOKEN_LIFETIME_TAG} is ${lifetimeSeconds} s, below the floor of ${floor.seconds} s (${floor.hours} hours) `
      + `a token needs to outlive its replacement under the secret's rotation rules and ${policy}: ${floor.why}. Nothing was minted or written.`,
    `Set maxTokenLifetime to at least ${floor.duration} (${floor.seconds} s) and deploy (synth refuses less), or rotate more often, `
      + `or ask for no expiry: remove maxTokenLifetime and deploy, or ${untag}.`);
  }
}

const EXPIRES_BEFORE_REPLACEMENT = ALERT_NAMES.EXPIRES_BEFORE_REPLACEMENT;

/** The ERROR line for a token that will stop working before the rotation that replaces it (and its grace) is over. */
export function expiresBeforeReplacement(
  where: { step: string; secretArn: string; version: string; clientId: string }, expiry: Date, need: TokenNeed,
): Record<string, unknown> | undefined {
  if (!need.neededUntil || expiry.getTime() >= need.neededUntil.getTime()) return undefined;
  return {
    level: 'ERROR',
    alert: EXPIRES_BEFORE_REPLACEMENT,
    ...where,
    tokenExpiry: expiry.toISOString(),
    nextRotation: need.nextRotation?.toISOString(),
    neededUntil: need.neededUntil.toISOString(),
    message: `The new token ${where.clientId} of ${where.secretArn} expires at ${expiry.toISOString()}, before ${need.neededUntil.toISOString()}, `
      + `when the rotation due at ${need.nextRotation?.toISOString()} and its grace will have replaced it: clients will get 401s in between. `
      + 'It was promoted all the same (it is the best token there is). Rotate more often (automaticallyAfter or schedule), '
      + 'raise the organization\'s maximum token lifetime, or raise maxTokenLifetime.',
  };
}

/** How recent a mint without an expiry must be to show that the org sets none (see noExpiryShownByRecentMint). */
export const RECENT_MINT_MS = HOUR_MS;

/**
 * Whether the org's token list, read just before the mint, already shows that a token minted without asking for an
 * expiry gets none: its newest token with no expiry was minted within the hour, and none minted since has one. Astra
 * gives such a mint the org's maximum lifetime when the org sets one, so none was set then; the list after the mint
 * is saved (one Astra call of five). A maximum set within that hour is missed until a later rotation lists again.
 */
export function noExpiryShownByRecentMint(listed: ReadonlyArray<{ generatedOn?: string; tokenExpiry?: string | null }>, now: Date): boolean {
  const mintedAt = (entry: { generatedOn?: string }) => (entry.generatedOn ? Date.parse(entry.generatedOn) : Number.NaN);
  let newestWithout = Number.NEGATIVE_INFINITY;
  for (const entry of listed) {
    const at = mintedAt(entry);
    // A mint dated in the future (a skewed or wrong clock) shows nothing about now.
    if (entry.tokenExpiry === null && !Number.isNaN(at) && at <= now.getTime()) newestWithout = Math.max(newestWithout, at);
  }
  if (now.getTime() - newestWithout > RECENT_MINT_MS) return false;
  return !listed.some((entry) => entry.tokenExpiry !== null && !(mintedAt(entry) < newestWithout));
}
