import { Duration, aws_events as events } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ROLE_ID, newStack } from './fixtures';
import { AstraTokenSecret, AstraTokenSecretProps } from '../../src';

function rulesOf(props: Partial<AstraTokenSecretProps>): unknown {
  const stack = newStack();
  new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, ...props });
  const schedules = Template.fromStack(stack).findResources('AWS::SecretsManager::RotationSchedule');
  return Object.values(schedules)[0].Properties.RotationRules;
}

function synthError(props: Partial<AstraTokenSecretProps>): () => void {
  return () => rulesOf(props);
}

describe('automaticallyAfter', () => {
  test.each([
    [Duration.hours(4), 'rate(4 hours)'],
    [Duration.hours(23), 'rate(23 hours)'],
    [Duration.days(1), 'rate(1 day)'],
    [Duration.hours(48), 'rate(2 days)'],
    [Duration.days(1000), 'rate(1000 days)'],
  ])('renders %s as %s', (after, expression) => {
    expect(rulesOf({ automaticallyAfter: after })).toEqual({ ScheduleExpression: expression });
  });

  test.each([
    [Duration.hours(3), /`automaticallyAfter` must be between 4 hours and 1000 days/],
    [Duration.days(1001), /`automaticallyAfter` must be between 4 hours and 1000 days/],
    [Duration.minutes(270), /`automaticallyAfter` below one day must be a whole number of hours/],
    [Duration.hours(36), /`automaticallyAfter` of a day or more must be a whole number of days/],
  ])('refuses %s', (after, message) => {
    expect(synthError({ automaticallyAfter: after })).toThrow(message);
  });

  test('cannot be given with schedule', () => {
    expect(synthError({ automaticallyAfter: Duration.days(7), schedule: events.Schedule.rate(Duration.days(7)) }))
      .toThrow(/either `automaticallyAfter` or `schedule`, not both/);
  });
});

describe('schedule', () => {
  test('takes a rate', () => {
    expect(rulesOf({ schedule: events.Schedule.rate(Duration.days(7)) })).toEqual({ ScheduleExpression: 'rate(7 days)' });
  });

  test('takes a cron expression with minute 0 and a window that ends by midnight', () => {
    expect(rulesOf({ schedule: events.Schedule.cron({ minute: '0', hour: '20', weekDay: 'SUN' }), window: Duration.hours(4) }))
      .toEqual({ ScheduleExpression: 'cron(0 20 ? * SUN *)', Duration: '4h' });
  });

  test.each([
    [events.Schedule.cron({ minute: '30', hour: '4' }), /cron expression "cron\(30 4 \* \* \? \*\)" must have 0 in its minutes field/],
    [events.Schedule.cron({ hour: '4' }), /must have 0 in its minutes field/],
    [events.Schedule.rate(Duration.hours(2)), /`schedule` must be between 4 hours and 1000 days/],
    [events.Schedule.rate(Duration.days(1500)), /`schedule` must be between 4 hours and 1000 days/],
    [events.Schedule.expression('at(2030-01-01T00:00:00)'), /neither a rate\(...\) nor a cron\(...\) expression/],
    [events.Schedule.expression('cron(0 4 * * ?)'), /must have 6 fields/],
  ])('refuses %p', (schedule, message) => {
    expect(synthError({ schedule })).toThrow(message);
  });
});

describe('window', () => {
  test.each([
    [{ window: Duration.minutes(90) }, /`window` must be a whole number of hours from 1 to 24/],
    [{ window: Duration.hours(25) }, /`window` must be a whole number of hours from 1 to 24/],
    [{ automaticallyAfter: Duration.hours(6), window: Duration.hours(8) }, /`window` \(8 hours\) must fit inside the rotation interval \(6 hours\)/],
    [{ schedule: events.Schedule.cron({ minute: '0', hour: '22' }), window: Duration.hours(3) }, /`window` \(3 hours\) must end by midnight UTC/],
  ])('refuses %p', (props, message) => {
    expect(synthError(props)).toThrow(message);
  });

  test('may take the whole interval of an hourly rate', () => {
    expect(rulesOf({ automaticallyAfter: Duration.hours(6), window: Duration.hours(6) }))
      .toEqual({ ScheduleExpression: 'rate(6 hours)', Duration: '6h' });
  });
});
