import { handler } from '../../../lambda';
import { isSecretEvent } from '../../../lambda/events/secret-events';
import { awsError } from '../support/fake-secrets-manager';
import { useHarness } from '../support/harness';

/**
 * The function's judgement of Secrets Manager's events where moto cannot show it: IAM. The role may describe only its
 * own secrets, so Secrets Manager's AccessDeniedException means "not ours", and any other failure is retried.
 */
const h = useHarness();

const rotationFailed = (secretArn: string) => ({
  'source': 'aws.secretsmanager',
  'detail-type': 'AWS Service Event via CloudTrail',
  'time': '2026-11-23T04:00:00Z',
  'detail': { eventName: 'RotationFailed', additionalEventData: { SecretId: secretArn } },
});

const THIS_FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:rotation';
const context = { invokedFunctionArn: `${THIS_FUNCTION}:$LATEST`, getRemainingTimeInMillis: () => 60_000 };
const deleteSecret = (secretArn: string, detail: Record<string, unknown> = {}) => ({
  'source': 'aws.secretsmanager',
  'detail-type': 'AWS API Call via CloudTrail',
  'time': '2026-11-23T04:00:00Z',
  'detail': {
    eventName: 'DeleteSecret',
    sourceIPAddress: '198.51.100.7',
    userIdentity: { arn: 'arn:aws:iam::123456789012:user/alice' },
    requestParameters: { secretId: secretArn, recoveryWindowInDays: 7 },
    responseElements: { arn: secretArn, deletionDate: 'Dec 1, 2026 3:00:00 AM' },
    ...detail,
  },
});

describe('deletions', () => {
  test('scheduled: an alert line with who, when and how to restore', async () => {
    const { arn } = h.selfSecret();
    h.sm.secrets.get(arn)!.deletedDate = new Date('2026-11-23T04:00:00Z');
    await handler(deleteSecret(arn), context);
    expect(h.lastLine()).toMatchObject({
      level: 'ERROR',
      alert: 'ManagedSecretDeletedOutsideStack',
      secretArn: arn,
      eventTime: '2026-11-23T04:00:00Z',
      deletedBy: 'arn:aws:iam::123456789012:user/alice',
      deletionDate: 'Dec 1, 2026 3:00:00 AM',
    });
    expect(h.lastLine().message).toContain('aws secretsmanager restore-secret');
  });

  test('without recovery: the secret is gone, but the role could describe it, so it was ours', async () => {
    const { arn } = h.selfSecret();
    h.sm.failNext('DescribeSecret', awsError('ResourceNotFoundException', 'Secrets Manager can\'t find the specified secret.', 'client'));
    await handler(deleteSecret(arn, { requestParameters: { secretId: arn, forceDeleteWithoutRecovery: true }, responseElements: { arn } }), context);
    expect(h.lastLine()).toMatchObject({ level: 'ERROR', alert: 'ManagedSecretDeletedOutsideStack', secretArn: arn });
    expect(h.lastLine().message).toMatch(/deleted without recovery/);
    expect(h.lastLine().deletionDate).toBeUndefined();
  });

  test.each([
    ['sourceIPAddress', { sourceIPAddress: 'cloudformation.amazonaws.com' }],
    ['userIdentity.invokedBy', { userIdentity: { invokedBy: 'cloudformation.amazonaws.com' } }],
  ])('by CloudFormation (%s): the stack\'s teardown handles it, no alert', async (_, detail) => {
    const { arn } = h.selfSecret();
    h.sm.failNext('DescribeSecret', awsError('ResourceNotFoundException', 'Secrets Manager can\'t find the specified secret.', 'client'));
    await handler(deleteSecret(arn, detail), context);
    expect(h.lastLine()).toMatchObject({ level: 'INFO', outcome: expect.stringMatching(/^ignored: CloudFormation deleted it/) });
  });

  test.each([
    ['this function\'s role session (the teardown deletes before it revokes)', 'arn:aws:sts::123456789012:assumed-role/AstraTokenRotationRole/rotation', 'INFO'],
    ['another session of the same role', 'arn:aws:sts::123456789012:assumed-role/AstraTokenRotationRole/someone', 'ERROR'],
    ['another role, in a session named after the function (anyone may choose a session name)', 'arn:aws:sts::123456789012:assumed-role/SomeAdminRole/rotation', 'ERROR'],
    ['a person', 'arn:aws:iam::123456789012:user/rotation', 'ERROR'],
  ])('deleted by %s: no alert only for the function itself', async (_, callerArn, level) => {
    const { arn } = h.selfSecret();
    process.env.FUNCTION_ROLE_NAME = 'AstraTokenRotationRole';
    h.sm.failNext('DescribeSecret', awsError('ResourceNotFoundException', 'Secrets Manager can\'t find the specified secret.', 'client'));
    await handler(deleteSecret(arn, { userIdentity: { arn: callerArn } }), context);
    delete process.env.FUNCTION_ROLE_NAME;
    expect(h.lastLine()).toMatchObject(level === 'INFO'
      ? { level, outcome: expect.stringMatching(/^ignored: the rotation function deleted it/) }
      : { level, alert: 'ManagedSecretDeletedOutsideStack' });
  });

  test.each([
    ['a person', {}],
    ['CloudFormation', { sourceIPAddress: 'cloudformation.amazonaws.com' }],
  ])('claimed by %s about a secret Secrets Manager shows live: forged or misdirected, an ERROR alert, nothing done', async (_, detail) => {
    const { arn } = h.selfSecret();
    await handler(deleteSecret(arn, detail), context);
    expect(h.lastLine()).toMatchObject({ level: 'ERROR', alert: 'SecretEventNotConfirmedBySecretsManager', secretArn: arn });
    expect(h.lastLine().message).toMatch(/shows it live and not scheduled for deletion\. Nothing was done/);
  });
});

describe('whose secret', () => {
  test('rotated by another function: let go', async () => {
    const { arn } = h.selfSecret();
    h.sm.secrets.get(arn)!.rotationLambdaArn = 'arn:aws:lambda:us-east-1:123456789012:function:other';
    await handler(rotationFailed(arn), context);
    expect(h.lastLine()).toMatchObject({ level: 'INFO', outcome: 'ignored: another function rotates the secret' });
  });

  test('rotated by this function (its ARN qualified or not): an alert', async () => {
    const { arn } = h.selfSecret();
    h.sm.secrets.get(arn)!.rotationLambdaArn = THIS_FUNCTION;
    await handler(rotationFailed(arn), context);
    expect(h.lastLine()).toMatchObject({ level: 'ERROR', alert: 'ManagedSecretRotationFailed' });
  });

  test('without the role tag: no AstraTokenSecret manages it', async () => {
    const arn = h.sm.create('someone-elses', '{"password":"x"}');
    await handler(rotationFailed(arn), context);
    expect(h.lastLine()).toMatchObject({ level: 'INFO', outcome: expect.stringMatching(/^ignored: the secret has no astra-token-secret:role-id tag/) });
  });

  test('an event other than a failed rotation or a deletion: let go without a call', async () => {
    const { arn } = h.selfSecret();
    await handler({ ...rotationFailed(arn), detail: { eventName: 'PutSecretValue' } }, context);
    expect(h.lastLine()).toMatchObject({ level: 'INFO', event: 'PutSecretValue', outcome: 'ignored: not a failed rotation or a deletion' });
    await handler({ ...rotationFailed(arn), detail: {} }, context);
    expect(h.lastLine()).toMatchObject({ event: 'AWS Service Event via CloudTrail', secretArn: '(none)' });
    expect(h.sm.count('DescribeSecret')).toBe(0);
  });
});

test('a secret the role may not describe is another team\'s: let go, no alert', async () => {
  const { arn } = h.selfSecret();
  h.sm.failNext('DescribeSecret', awsError('AccessDeniedException', 'not authorized to perform secretsmanager:DescribeSecret', 'client'));
  await handler(rotationFailed(arn));
  expect(h.lastLine()).toMatchObject({ level: 'INFO', outcome: 'ignored: not a secret of this function (its role may not describe it)' });
});

test('a managed secret\'s failed rotation is an alert line', async () => {
  const { arn } = h.selfSecret();
  await handler(rotationFailed(arn));
  expect(h.lastLine()).toMatchObject({ level: 'ERROR', alert: 'ManagedSecretRotationFailed', secretArn: arn, eventTime: '2026-11-23T04:00:00Z' });
});

test('Secrets Manager failing otherwise fails the invocation, so that Lambda retries it', async () => {
  const { arn } = h.selfSecret();
  h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'try again'));
  await expect(handler(rotationFailed(arn))).rejects.toThrow(/DescribeSecret on .* failed: InternalServiceError/);
});

test('an event without a secret ARN is let go', async () => {
  await handler({ ...rotationFailed(''), detail: { eventName: 'DeleteSecret', responseElements: null } });
  expect(h.lastLine()).toMatchObject({ level: 'INFO', outcome: 'ignored: the event names no secret ARN' });
});

test('only Secrets Manager\'s events with a detail are taken for one', () => {
  expect(isSecretEvent(rotationFailed('x'))).toBe(true);
  expect(isSecretEvent({ ...rotationFailed('x'), source: 'aws.events' })).toBe(false);
  expect(isSecretEvent({ ...rotationFailed('x'), detail: null })).toBe(false);
  expect(isSecretEvent(undefined)).toBe(false);
});
