import { checkLifetimeFloor, expiresBeforeReplacement, tokenNeed, noExpiryShownByRecentMint } from '../../../lambda/rotation/token-expiry';
import { tokenLifetimeFloor } from '../../../src/shared/token-grace';

const NOW = new Date('2026-03-01T10:00:00Z');
const at = (iso: string) => new Date(iso);

describe('tokenNeed: until when a new token must work', () => {
  test('AT_NEXT_ROTATION, every 30 days, 4-hour window: the rotation after next, plus its window', () => {
    const need = tokenNeed({ ScheduleExpression: 'rate(30 days)', Duration: '4h' }, undefined, 'AT_NEXT_ROTATION', NOW);
    expect(need).toEqual({ nextRotation: at('2026-03-31T10:00:00Z'), neededUntil: at('2026-04-30T14:00:00Z') });
  });

  test('IMMEDIATELY: only until the next rotation\'s window ends', () => {
    const need = tokenNeed({ ScheduleExpression: 'rate(30 days)', Duration: '4h' }, undefined, 'IMMEDIATELY', NOW);
    expect(need.neededUntil).toEqual(at('2026-03-31T14:00:00Z'));
  });

  test('AutomaticallyAfterDays without a window: a whole day of window', () => {
    const need = tokenNeed({ AutomaticallyAfterDays: 7 }, undefined, 'IMMEDIATELY', NOW);
    expect(need.neededUntil).toEqual(at('2026-03-09T10:00:00Z'));
  });

  test('an hourly rate without a window: one hour of window', () => {
    const need = tokenNeed({ ScheduleExpression: 'rate(6 hours)' }, undefined, 'AT_NEXT_ROTATION', NOW);
    expect(need.neededUntil).toEqual(at('2026-03-01T23:00:00Z'));
  });

  test('NextRotationDate ahead of the rotation in progress wins over the interval', () => {
    const need = tokenNeed({ ScheduleExpression: 'rate(30 days)', Duration: '2h' }, at('2026-03-20T00:00:00Z'), 'IMMEDIATELY', NOW);
    expect(need).toEqual({ nextRotation: at('2026-03-20T00:00:00Z'), neededUntil: at('2026-03-20T02:00:00Z') });
  });

  test('a NextRotationDate that is the rotation in progress (now or past) is not taken for the next one', () => {
    const need = tokenNeed({ ScheduleExpression: 'rate(10 days)', Duration: '1h' }, at('2026-03-01T09:30:00Z'), 'IMMEDIATELY', NOW);
    expect(need.nextRotation).toEqual(at('2026-03-11T10:00:00Z'));
  });

  test('a cron schedule: the time to NextRotationDate (18 hours here) stands in for the interval', () => {
    const need = tokenNeed({ ScheduleExpression: 'cron(0 4 ? * MON *)', Duration: '3h' }, at('2026-03-02T04:00:00Z'), 'AT_NEXT_ROTATION', NOW);
    expect(need.neededUntil).toEqual(at('2026-03-03T01:00:00Z'));
  });

  test('a rate beside the whole-day AutomaticallyAfterDays DescribeSecret calculates: the rate counts', () => {
    const need = tokenNeed({ ScheduleExpression: 'rate(4 hours)', AutomaticallyAfterDays: 1 }, undefined, 'IMMEDIATELY', NOW);
    expect(need.neededUntil).toEqual(at('2026-03-01T15:00:00Z'));
  });

  test('a cron schedule without NextRotationDate, or no rules: nothing to judge by', () => {
    expect(tokenNeed({ ScheduleExpression: 'cron(0 4 ? * MON *)' }, undefined, 'IMMEDIATELY', NOW)).toEqual({});
    expect(tokenNeed(undefined, undefined, 'IMMEDIATELY', NOW)).toEqual({});
  });
});

describe('the lifetime floor at run time (the one synth enforces, on the rules DescribeSecret reports)', () => {
  const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf';
  const HOUR = 3600;

  test.each([
    // [rules, policy, floor in hours]
    [{ ScheduleExpression: 'rate(30 days)' }, 'AT_NEXT_ROTATION', 61 * 24],
    [{ ScheduleExpression: 'rate(30 days)' }, 'IMMEDIATELY', 31 * 24],
    [{ AutomaticallyAfterDays: 30 }, 'AT_NEXT_ROTATION', 61 * 24],
    [{ ScheduleExpression: 'rate(1 day)', Duration: '3h' }, 'AT_NEXT_ROTATION', 51],
    [{ ScheduleExpression: 'rate(12 hours)', Duration: '2h' }, 'AT_NEXT_ROTATION', 26],
    [{ ScheduleExpression: 'rate(240 minutes)' }, 'IMMEDIATELY', 5],
    // DescribeSecret reports a whole-day AutomaticallyAfterDays beside the expression: the expression wins.
    [{ ScheduleExpression: 'rate(4 hours)', AutomaticallyAfterDays: 1 }, 'AT_NEXT_ROTATION', 9],
    [{ ScheduleExpression: 'cron(0 4 ? * MON *)', Duration: '3h', AutomaticallyAfterDays: 7 }, 'AT_NEXT_ROTATION', 339],
    [{ ScheduleExpression: 'cron(0 4 1 * ? *)' }, 'IMMEDIATELY', 31 * 24 + 24],
    [{ ScheduleExpression: 'cron(0 4 1 JAN ? *)' }, 'IMMEDIATELY', 366 * 24 + 24],
    [{ ScheduleExpression: 'cron(0 4 * * ? *)', Duration: '2h' }, 'AT_NEXT_ROTATION', 50],
  ] as const)('%j under %s: %i hours; the floor is accepted, one second less refused', (rules, policy, hours) => {
    expect(tokenLifetimeFloor(rules, policy)?.seconds).toBe(hours * HOUR);
    expect(() => checkLifetimeFloor(hours * HOUR, rules, policy, ARN)).not.toThrow();
    expect(() => checkLifetimeFloor(hours * HOUR - 1, rules, policy, ARN)).toThrow(`below the floor of ${hours * HOUR} s (${hours} hours)`);
  });

  test('the refusal names the tag, its value, the floor, why, and what to do', () => {
    expect(() => checkLifetimeFloor(1, { ScheduleExpression: 'rate(30 days)' }, 'AT_NEXT_ROTATION', ARN)).toThrow(
      'the tag astra-token-secret:max-token-lifetime-seconds is 1 s, below the floor of 5270400 s (1464 hours) a token needs to outlive its '
      + 'replacement under the secret\'s rotation rules and AT_NEXT_ROTATION: two intervals (AT_NEXT_ROTATION keeps the previous token valid for '
      + 'one more) of at most 720 hours, plus a 24-hour window. Nothing was minted or written. Set maxTokenLifetime to at least Duration.days(61) '
      + '(5270400 s) and deploy (synth refuses less), or rotate more often, or ask for no expiry: remove maxTokenLifetime and deploy, or '
      + `aws secretsmanager untag-resource --secret-id ${ARN} --tag-keys astra-token-secret:max-token-lifetime-seconds.`);
  });

  test('rules that give no interval: a tag is refused (as synth refuses it), no tag is fine', () => {
    for (const rules of [undefined, {}, { ScheduleExpression: 'every day' }, { ScheduleExpression: 'cron(0 4 * *)' }]) {
      expect(tokenLifetimeFloor(rules, 'IMMEDIATELY')).toBeUndefined();
      expect(() => checkLifetimeFloor(90 * 86_400, rules, 'IMMEDIATELY', ARN)).toThrow(/cannot be checked: the secret's rotation rules .* give no interval.*untag-resource/);
      expect(() => checkLifetimeFloor(undefined, rules, 'IMMEDIATELY', ARN)).not.toThrow();
    }
  });
});

describe('expiresBeforeReplacement', () => {
  const where = { step: 'createSecret', secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf', version: 'v1', clientId: 'abc' };
  const need = { nextRotation: at('2026-03-31T10:00:00Z'), neededUntil: at('2026-04-30T14:00:00Z') };

  test('an expiry before the need: an ERROR line naming both dates and what to do', () => {
    const alert = expiresBeforeReplacement(where, at('2026-03-02T10:00:00Z'), need)!;
    expect(alert).toMatchObject({
      level: 'ERROR',
      alert: 'TokenExpiresBeforeReplacement',
      secretArn: where.secretArn,
      tokenExpiry: '2026-03-02T10:00:00.000Z',
      nextRotation: '2026-03-31T10:00:00.000Z',
      neededUntil: '2026-04-30T14:00:00.000Z',
    });
    expect(alert.message).toMatch(/expires at 2026-03-02T10:00:00.000Z, before 2026-04-30T14:00:00.000Z.*Rotate more often.*maximum token lifetime/);
  });

  test('an expiry at or after the need, or no need known: no alert', () => {
    expect(expiresBeforeReplacement(where, at('2026-04-30T14:00:00Z'), need)).toBeUndefined();
    expect(expiresBeforeReplacement(where, at('2026-03-02T10:00:00Z'), {})).toBeUndefined();
  });
});

describe('noExpiryShownByRecentMint', () => {
  const now = new Date('2026-12-03T08:00:00Z');
  const later = (minutes: number) => new Date(now.getTime() + minutes * 60_000).toISOString();

  test('GIVEN a token minted within the hour without an expiry and none with one since, THEN the org sets none', () => {
    const listed = [{ generatedOn: later(-10), tokenExpiry: null }, { generatedOn: later(-90), tokenExpiry: later(600) }];
    expect(noExpiryShownByRecentMint(listed, now)).toBe(true);
  });

  test('GIVEN the only token without an expiry dated in the future (a skewed clock), THEN nothing is shown', () => {
    const listed = [{ generatedOn: later(30), tokenExpiry: null }, { generatedOn: later(-5), tokenExpiry: later(600) }];
    expect(noExpiryShownByRecentMint(listed, now)).toBe(false);
    expect(noExpiryShownByRecentMint([{ generatedOn: later(30), tokenExpiry: null }], now)).toBe(false);
  });
});
