import { Duration, Token, aws_events as events } from 'aws-cdk-lib';

/** The schedule props shared by the construct and this module. */
export interface RotationRulesInput {
  readonly automaticallyAfter?: Duration;
  readonly schedule?: events.Schedule;
  readonly window?: Duration;
}

/** What CloudFormation's `RotationRules` gets. */
export interface RotationRules {
  readonly scheduleExpression: string;
  readonly duration?: string;
}

const MIN_HOURS = 4;
const MAX_DAYS = 1000;
const DEFAULT_INTERVAL = Duration.days(30);

/**
 * Turns the construct's schedule props into `RotationRules`, refusing at synth time what
 * Secrets Manager would refuse at deploy time (when the stack is half-updated).
 */
export function renderRotationRules(input: RotationRulesInput): RotationRules {
  if (input.automaticallyAfter && input.schedule) {
    throw new Error('AstraTokenSecret: set either `automaticallyAfter` or `schedule`, not both.');
  }
  let scheduleExpression: string;
  let intervalHours: number | undefined;
  let windowMustEndByHour: number | undefined;

  if (input.schedule) {
    scheduleExpression = input.schedule.expressionString;
    if (!Token.isUnresolved(scheduleExpression)) {
      const parsed = parseExpression(scheduleExpression);
      intervalHours = parsed.intervalHours;
      windowMustEndByHour = parsed.startHour !== undefined ? 24 - parsed.startHour : undefined;
    }
  } else {
    const after = input.automaticallyAfter ?? DEFAULT_INTERVAL;
    const rendered = rateFromDuration(after, '`automaticallyAfter`');
    scheduleExpression = rendered.expression;
    intervalHours = rendered.hours;
  }

  if (input.window === undefined) {
    return { scheduleExpression };
  }
  const hoursOfWindow = input.window.toHours({ integral: false });
  if (!Number.isInteger(hoursOfWindow) || hoursOfWindow < 1 || hoursOfWindow > 24) {
    throw new Error(`AstraTokenSecret: \`window\` must be a whole number of hours from 1 to 24 (got ${input.window.toHumanString()}).`);
  }
  if (intervalHours !== undefined && intervalHours < 24 && hoursOfWindow > intervalHours) {
    throw new Error(
      `AstraTokenSecret: \`window\` (${hoursOfWindow} hours) must fit inside the rotation interval (${intervalHours} hours): ` +
      'Secrets Manager refuses a window that runs into the next one.',
    );
  }
  if (windowMustEndByHour !== undefined && hoursOfWindow > windowMustEndByHour) {
    throw new Error(
      `AstraTokenSecret: \`window\` (${hoursOfWindow} hours) must end by midnight UTC: the schedule starts at hour ${24 - windowMustEndByHour}, ` +
      `so the window can be at most ${windowMustEndByHour} hours.`,
    );
  }
  return { scheduleExpression, duration: `${hoursOfWindow}h` };
}

function rateFromDuration(after: Duration, prop: string): { expression: string; hours: number } {
  if (after.isUnresolved()) {
    throw new Error(`AstraTokenSecret: ${prop} must be a concrete duration, not a token.`);
  }
  const hours = after.toHours({ integral: false });
  if (hours < MIN_HOURS || hours > MAX_DAYS * 24) {
    throw new Error(`AstraTokenSecret: ${prop} must be between 4 hours and 1000 days (got ${after.toHumanString()}).`);
  }
  if (hours < 24) {
    if (!Number.isInteger(hours)) {
      throw new Error(`AstraTokenSecret: ${prop} below one day must be a whole number of hours (got ${after.toHumanString()}).`);
    }
    return { expression: `rate(${hours} hours)`, hours };
  }
  const days = hours / 24;
  if (!Number.isInteger(days)) {
    throw new Error(`AstraTokenSecret: ${prop} of a day or more must be a whole number of days (got ${after.toHumanString()}).`);
  }
  return { expression: `rate(${days} ${days === 1 ? 'day' : 'days'})`, hours };
}

function parseExpression(expression: string): { intervalHours?: number; startHour?: number } {
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2].replace(/s$/, '');
    const duration = unit === 'minute' ? Duration.minutes(value) : unit === 'hour' ? Duration.hours(value) : Duration.days(value);
    return { intervalHours: rateFromDuration(duration, '`schedule`').hours };
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (cron) {
    const fields = cron[1].trim().split(/\s+/);
    if (fields.length !== 6) {
      throw new Error(`AstraTokenSecret: \`schedule\` cron expression "${expression}" must have 6 fields (minutes hours day-of-month month day-of-week year).`);
    }
    if (fields[0] !== '0') {
      throw new Error(
        `AstraTokenSecret: \`schedule\` cron expression "${expression}" must have 0 in its minutes field: ` +
        'Secrets Manager rotates within hour-long windows, e.g. events.Schedule.cron({ minute: \'0\', hour: \'4\' }).',
      );
    }
    const hour = /^\d+$/.test(fields[1]) ? Number(fields[1]) : undefined;
    return { startHour: hour };
  }
  throw new Error(`AstraTokenSecret: \`schedule\` "${expression}" is neither a rate(...) nor a cron(...) expression.`);
}
