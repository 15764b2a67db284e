import { CfnParameter, Duration, aws_events as events } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ROLE_ID, newStack } from './fixtures';
import { checkLifetimeFloor } from '../../lambda/rotation/token-expiry';
import { AstraTokenSecret, AstraTokenSecretProps, PreviousTokenRevocation } from '../../src';
import { MAX_TOKEN_LIFETIME_TAG } from '../../src/shared/secret-tags';

const TAG = MAX_TOKEN_LIFETIME_TAG;

function lifetimeTag(props: Omit<AstraTokenSecretProps, 'roleId'>): unknown {
  const stack = newStack();
  new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, ...props });
  const secret = Object.values(Template.fromStack(stack).findResources('AWS::SecretsManager::Secret'))[0];
  return secret.Properties.Tags.find((t: { Key: string }) => t.Key === TAG)?.Value;
}

describe('maxTokenLifetime', () => {
  test('is bound to the secret as a tag in whole seconds', () => {
    expect(lifetimeTag({ maxTokenLifetime: Duration.days(90) })).toBe(String(90 * 86_400));
  });

  test('without it, no expiry is asked for: no tag', () => {
    expect(lifetimeTag({})).toBeUndefined();
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::Secret', {
      Tags: Match.not(Match.arrayWith([Match.objectLike({ Key: TAG })])),
    });
  });

  const CASES = [
    // [what, props, shortest accepted, message]
    ['30 days, AT_NEXT_ROTATION: two intervals and a day of window', {}, Duration.days(61), /1464 hours \(Duration\.days\(61\)\).*two intervals/],
    ['30 days, IMMEDIATELY: one interval and a day of window', { previousTokenRevocation: PreviousTokenRevocation.IMMEDIATELY }, Duration.days(31),
      /744 hours \(Duration\.days\(31\)\).*one interval \(IMMEDIATELY\)/],
    ['every 12 hours with a 2-hour window', { automaticallyAfter: Duration.hours(12), window: Duration.hours(2) }, Duration.hours(26),
      /26 hours \(Duration\.hours\(26\)\)/],
    ['weekly cron with a 3-hour window', { schedule: events.Schedule.cron({ minute: '0', hour: '4', weekDay: 'MON' }), window: Duration.hours(3) },
      Duration.hours(339), /339 hours .*at most 168 hours, plus a 3-hour window/],
  ] as const;

  test.each(CASES)('%s: the shortest safe lifetime is accepted, one hour less is refused, naming it', (_what, props, shortest, message) => {
    expect(lifetimeTag({ ...props, maxTokenLifetime: shortest })).toBe(String(shortest.toSeconds()));
    const stack = newStack();
    expect(() => new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, ...props, maxTokenLifetime: Duration.hours(shortest.toHours() - 1) }))
      .toThrow(message);
  });

  test.each(CASES)('%s: the function, on the deployed rotation rules, accepts exactly what synth accepts', (_what, props, shortest) => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, ...props, maxTokenLifetime: shortest });
    const schedule = Object.values(Template.fromStack(stack).findResources('AWS::SecretsManager::RotationSchedule'))[0];
    const rules = schedule.Properties.RotationRules as { ScheduleExpression: string; Duration?: string };
    const policy = (props as AstraTokenSecretProps).previousTokenRevocation ?? PreviousTokenRevocation.AT_NEXT_ROTATION;
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:t-AbCdEf';
    expect(() => checkLifetimeFloor(shortest.toSeconds(), rules, policy, arn)).not.toThrow();
    expect(() => checkLifetimeFloor(shortest.toSeconds() - 1, rules, policy, arn)).toThrow(`below the floor of ${shortest.toSeconds()} s`);
  });

  test('a schedule that is a token: synth cannot check the lifetime, and says so', () => {
    const stack = newStack();
    const expression = new CfnParameter(stack, 'Schedule', { type: 'String' }).valueAsString;
    expect(() => new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, schedule: events.Schedule.expression(expression), maxTokenLifetime: Duration.days(90) }))
      .toThrow(/`maxTokenLifetime` needs a schedule known at synth time/);
  });

  test('refuses a lifetime that is not whole seconds', () => {
    const stack = newStack();
    expect(() => new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, maxTokenLifetime: Duration.millis(90 * 86_400_000 + 1) }))
      .toThrow(/`maxTokenLifetime` must be a whole number of seconds/);
  });
});
