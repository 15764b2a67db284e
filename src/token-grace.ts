/**
 * How long a new token must work, as the construct's `maxTokenLifetime` floor and the handler's expiry check both count
 * it. Imports nothing, so the handler's bundle shares it: the floor synth enforces and the need the function reports
 * cannot drift apart.
 */

/** Intervals a new token must outlive: the next rotation under IMMEDIATELY, one more under AT_NEXT_ROTATION (as AWSPREVIOUS). */
export function intervalsOfUse(policy: string): number {
  return policy === 'IMMEDIATELY' ? 1 : 2;
}

/** Secrets Manager's rotation window when none is given: to the end of the UTC day (at most 24 h) for daily schedules, else an hour. */
export function defaultWindowHours(intervalHours: number): number {
  return intervalHours >= 24 ? 24 : 1;
}
