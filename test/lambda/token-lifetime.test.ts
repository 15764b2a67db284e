import { expiresBeforeReplacement, tokenNeed } from '../../lambda/token-lifetime';

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

  test('a cron schedule without NextRotationDate, or no rules: nothing to judge by', () => {
    expect(tokenNeed({ ScheduleExpression: 'cron(0 4 ? * MON *)' }, undefined, 'IMMEDIATELY', NOW)).toEqual({});
    expect(tokenNeed(undefined, undefined, 'IMMEDIATELY', NOW)).toEqual({});
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
