import { Duration } from 'aws-cdk-lib';
import { PreviousTokenRevocation } from './previous-token-revocation';
import { RotationRulesInput, longestIntervalHours, windowHours } from './rotation-rules';
import { intervalsOfUse } from './token-grace';

/**
 * Checks `maxTokenLifetime` against the schedule and returns it in whole seconds (the tag's value). A token must work
 * until the window of the rotation that ends its grace is over: the next one under IMMEDIATELY, the one after under
 * AT_NEXT_ROTATION (it stays valid as AWSPREVIOUS for one more interval).
 */
export function checkedTokenLifetimeSeconds(
  path: string, lifetime: Duration, schedule: RotationRulesInput, policy: PreviousTokenRevocation,
): number {
  if (lifetime.isUnresolved()) {
    throw new Error(`AstraTokenSecret ${path}: \`maxTokenLifetime\` must be a concrete duration, not a token.`);
  }
  const seconds = lifetime.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new Error(`AstraTokenSecret ${path}: \`maxTokenLifetime\` must be a whole number of seconds (got ${lifetime.toHumanString()}).`);
  }
  const intervalHours = longestIntervalHours(schedule);
  if (intervalHours === undefined) {
    throw new Error(`AstraTokenSecret ${path}: \`maxTokenLifetime\` needs a schedule known at synth time, to check that tokens outlive their replacement.`);
  }
  const rotations = intervalsOfUse(policy);
  const window = windowHours(schedule, intervalHours);
  const shortestHours = rotations * intervalHours + window;
  if (seconds < shortestHours * 3600) {
    const why = `${rotations === 2 ? 'two intervals (AT_NEXT_ROTATION keeps the previous token valid for one more)' : 'one interval (IMMEDIATELY)'} ` +
      `of at most ${intervalHours} hours, plus a ${window}-hour window`;
    throw new Error(
      `AstraTokenSecret ${path}: \`maxTokenLifetime\` (${lifetime.toHumanString()}) would let the current or the grace token expire before ` +
      `its replacement: the shortest lifetime accepted is ${shortestHours} hours (${formatDays(shortestHours)}): ${why}.`,
    );
  }
  return seconds;
}

function formatDays(hours: number): string {
  const days = hours / 24;
  return Number.isInteger(days) ? `Duration.days(${days})` : `Duration.hours(${hours})`;
}
