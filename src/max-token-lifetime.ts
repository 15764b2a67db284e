import { Duration } from 'aws-cdk-lib';
import { RotationRules } from './rotation-rules';
import { PreviousTokenRevocation } from './shared/previous-token-revocation';
import { tokenLifetimeFloor } from './shared/token-grace';

/**
 * Checks `maxTokenLifetime` against the rotation rules the secret is deployed with, and returns it in whole seconds
 * (the tag's value). A token must work until the window of the rotation that ends its grace is over: the next one
 * under IMMEDIATELY, the one after under AT_NEXT_ROTATION (it stays valid as AWSPREVIOUS for one more interval). The
 * function applies the same floor (`tokenLifetimeFloor`) to the tag and to the rules DescribeSecret reports.
 */
export function checkedTokenLifetimeSeconds(
  path: string, lifetime: Duration, rules: RotationRules, policy: PreviousTokenRevocation,
): number {
  if (lifetime.isUnresolved()) {
    throw new Error(`AstraTokenSecret ${path}: \`maxTokenLifetime\` must be a concrete duration, not a token.`);
  }
  const seconds = lifetime.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new Error(`AstraTokenSecret ${path}: \`maxTokenLifetime\` must be a whole number of seconds (got ${lifetime.toHumanString()}).`);
  }
  // An unresolved schedule renders as a token string, which no rate(...) or cron(...) pattern reads: no floor.
  const floor = tokenLifetimeFloor({ ScheduleExpression: rules.scheduleExpression, Duration: rules.duration }, policy);
  if (floor === undefined) {
    throw new Error(`AstraTokenSecret ${path}: \`maxTokenLifetime\` needs a schedule known at synth time, to check that tokens outlive their replacement.`);
  }
  if (seconds < floor.seconds) {
    throw new Error(
      `AstraTokenSecret ${path}: \`maxTokenLifetime\` (${lifetime.toHumanString()}) would let the current or the grace token expire before ` +
      `its replacement: the shortest lifetime accepted is ${floor.hours} hours (${floor.duration}): ${floor.why}.`,
    );
  }
  return seconds;
}
