/**
 * How long a new token must work, as the construct's `maxTokenLifetime` floor and the handler's expiry check both count
 * it. Imports nothing, so the handler's bundle shares it: the floor synth enforces, the floor the function enforces on
 * the tag, and the need the function reports cannot drift apart. Both sides read the rotation rules as Secrets Manager
 * keeps them: the template's `RotationRules` at synth, DescribeSecret's at run time.
 */

/** The rotation rules as Secrets Manager keeps them (CloudFormation's `RotationRules`, DescribeSecret's answer). */
export interface StoredRotationRules {
  readonly AutomaticallyAfterDays?: number;
  readonly ScheduleExpression?: string;
  /** The window, e.g. `3h`. */
  readonly Duration?: string;
}

/** Intervals a new token must outlive: the next rotation under IMMEDIATELY, one more under AT_NEXT_ROTATION (as AWSPREVIOUS). */
export function intervalsOfUse(policy: string): number {
  return policy === 'IMMEDIATELY' ? 1 : 2;
}

/** Secrets Manager's rotation window when none is given: to the end of the UTC day (at most 24 h) for daily schedules, else an hour. */
export function defaultWindowHours(intervalHours: number): number {
  return intervalHours >= 24 ? 24 : 1;
}

/** The interval of a `rate(...)` expression in hours; undefined for anything else. */
export function rateHours(expression: string | undefined): number | undefined {
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression?.trim() ?? '');
  if (!rate) return undefined;
  const value = Number(rate[1]);
  return rate[2].startsWith('minute') ? value / 60 : rate[2].startsWith('hour') ? value : value * 24;
}

/**
 * The longest time between two rotations the rules allow, in hours: a rate's interval; for a cron expression a bound
 * from its coarsest restricted field (a month: 366 days, a day of the month: 31, a day of the week: 7, else 1 day);
 * without an expression, `AutomaticallyAfterDays` (DescribeSecret also reports one calculated from the expression, in
 * whole days: the expression wins). Undefined when the rules say nothing this can read.
 */
export function longestIntervalHours(rules: StoredRotationRules | undefined): number | undefined {
  const expression = rules?.ScheduleExpression?.trim();
  if (!expression) return rules?.AutomaticallyAfterDays ? rules.AutomaticallyAfterDays * 24 : undefined;
  const rate = rateHours(expression);
  if (rate !== undefined) return rate;
  const cron = /^cron\((.+)\)$/.exec(expression);
  const fields = cron?.[1].trim().split(/\s+/);
  if (!fields || fields.length !== 6) return undefined;
  const [, , dayOfMonth, month, dayOfWeek] = fields;
  const any = (field: string) => field === '*' || field === '?';
  if (!any(month)) return 366 * 24;
  if (!any(dayOfMonth)) return 31 * 24;
  if (!any(dayOfWeek)) return 7 * 24;
  return 24;
}

/** The rotation window in hours: `Duration` (`3h`), else Secrets Manager's default for the interval. */
export function windowHours(rules: StoredRotationRules | undefined, intervalHours: number): number {
  const hours = /^(\d+)h$/.exec(rules?.Duration?.trim() ?? '');
  return hours ? Number(hours[1]) : defaultWindowHours(intervalHours);
}

/** The shortest lifetime a token may be given, and why. */
export interface LifetimeFloor {
  readonly hours: number;
  readonly seconds: number;
  /** As a CDK Duration, for the error's remedy: `Duration.days(61)` or `Duration.hours(26)`. */
  readonly duration: string;
  /** Why, in words: `two intervals (...) of at most 720 hours, plus a 24-hour window`. */
  readonly why: string;
}

/**
 * The shortest `maxTokenLifetime` that lets every token work until it is replaced: the intervals of use under the
 * policy (see `intervalsOfUse`) at the rules' longest interval, plus one window. Undefined when the rules give no
 * interval (a schedule that is a token at synth, or rules the function cannot read).
 */
export function tokenLifetimeFloor(rules: StoredRotationRules | undefined, policy: string): LifetimeFloor | undefined {
  const intervalHours = longestIntervalHours(rules);
  if (intervalHours === undefined) return undefined;
  const intervals = intervalsOfUse(policy);
  const window = windowHours(rules, intervalHours);
  const hours = intervals * intervalHours + window;
  const days = hours / 24;
  return {
    hours,
    seconds: Math.ceil(hours * 3600),
    duration: Number.isInteger(days) ? `Duration.days(${days})` : `Duration.hours(${hours})`,
    why: `${intervals === 2 ? 'two intervals (AT_NEXT_ROTATION keeps the previous token valid for one more)' : 'one interval (IMMEDIATELY)'} `
      + `of at most ${intervalHours} hours, plus a ${window}-hour window`,
  };
}
