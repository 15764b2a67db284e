import type { RevocationPolicy } from './rotation';
import { TOKEN_ALERTS } from '../src/token-alerts';
import { defaultWindowHours, intervalsOfUse } from '../src/token-grace';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The rotation rules as DescribeSecret returns them. */
export interface RotationRulesView {
  readonly AutomaticallyAfterDays?: number;
  readonly Duration?: string;
  readonly ScheduleExpression?: string;
}

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

function intervalOf(rules: RotationRulesView | undefined): number | undefined {
  if (rules?.AutomaticallyAfterDays) return rules.AutomaticallyAfterDays * DAY_MS;
  const rate = /^rate\((\d+) (hours?|days?)\)$/.exec(rules?.ScheduleExpression?.trim() ?? '');
  if (!rate) return undefined;
  return Number(rate[1]) * (rate[2].startsWith('hour') ? HOUR_MS : DAY_MS);
}

/** Secrets Manager's window: `Duration` ("3h"), else to the end of the UTC day (at most 24 h) for daily schedules. */
function windowOf(rules: RotationRulesView | undefined, intervalMs: number): number {
  const hours = /^(\d+)h$/.exec(rules?.Duration?.trim() ?? '');
  return (hours ? Number(hours[1]) : defaultWindowHours(intervalMs / HOUR_MS)) * HOUR_MS;
}

const EXPIRES_BEFORE_REPLACEMENT = TOKEN_ALERTS.EXPIRES_BEFORE_REPLACEMENT;

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
