import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, DeleteSecretCommand, DescribeSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { useE2EEnvironment } from './harness/e2e-environment';
import { expectNoViolations } from './harness/scenario';

/**
 * Secrets Manager's events through the one EventBridge rule of a rotation function: every failed rotation and every
 * DeleteSecret of the account arrives, and the function writes an alert line for exactly its own secrets (counted by
 * the token-alerts alarm), never touching a secret or a token.
 */
const e = useE2EEnvironment('e2e-secret-events');
afterEach(() => expectNoViolations(e));

const ACCOUNT = '123456789012';
const USER = `arn:aws:iam::${ACCOUNT}:user/alice`;

function rotationFailed(secretArn: string) {
  return envelope('AWS Service Event via CloudTrail', {
    userIdentity: { accountId: ACCOUNT, invokedBy: 'secretsmanager.amazonaws.com' },
    eventName: 'RotationFailed',
    sourceIPAddress: 'secretsmanager.amazonaws.com',
    requestParameters: null,
    responseElements: null,
    additionalEventData: { SecretId: secretArn },
    eventType: 'AwsServiceEvent',
  });
}

function deleteSecret(secretArn: string, options: { by: 'user' | 'cloudformation'; force: boolean }) {
  const viaCloudFormation = options.by === 'cloudformation';
  return envelope('AWS API Call via CloudTrail', {
    userIdentity: {
      type: viaCloudFormation ? 'AssumedRole' : 'IAMUser',
      arn: viaCloudFormation ? `arn:aws:sts::${ACCOUNT}:assumed-role/cdk-hnb659fds-cfn-exec-role/AWSCloudFormation` : USER,
      ...(viaCloudFormation ? { invokedBy: 'cloudformation.amazonaws.com' } : {}),
    },
    eventName: 'DeleteSecret',
    sourceIPAddress: viaCloudFormation ? 'cloudformation.amazonaws.com' : '198.51.100.7',
    requestParameters: { secretId: secretArn, ...(options.force ? { forceDeleteWithoutRecovery: true } : { recoveryWindowInDays: 7 }) },
    responseElements: { arn: secretArn, name: secretArn.split(':')[6], deletionDate: 'Dec 1, 2026 3:00:00 AM' },
    eventType: 'AwsApiCall',
  });
}

function envelope(detailType: string, detail: Record<string, unknown>) {
  return {
    'version': '0',
    'id': randomUUID(),
    'detail-type': detailType,
    'source': 'aws.secretsmanager',
    'account': ACCOUNT,
    'time': '2026-11-23T04:00:00Z',
    'region': 'us-east-1',
    'resources': [],
    'detail': { eventVersion: '1.08', eventTime: '2026-11-23T04:00:00Z', eventSource: 'secretsmanager.amazonaws.com', awsRegion: 'us-east-1', ...detail },
  };
}

/** Invokes the function with the event; its lines, and that nothing in Secrets Manager or Astra changed. */
async function deliver(event: Record<string, any>, secretArn: string) {
  const from = e.logs.lines.length;
  const callsBefore = (await e.astra.records()).requests.length;
  const versionsBefore = await e.secrets.versionValues(secretArn).catch(() => undefined);
  const error = await e.driver.invoke(event);
  expect(error).toBeUndefined();
  expect((await e.astra.records()).requests.length).toBe(callsBefore);
  expect(await e.secrets.versionValues(secretArn).catch(() => undefined)).toEqual(versionsBefore);
  const lines = e.logs.lines.slice(from).flatMap((l) => (l.startsWith('{') ? [JSON.parse(l)] : []));
  expect(lines).toHaveLength(1);
  return lines[0];
}

test('a failed rotation of a managed secret is an alert line naming it and what to do', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
  const line = await deliver(rotationFailed(secret.arn), secret.arn);
  expect(line).toMatchObject({ level: 'ERROR', alert: 'ManagedSecretRotationFailed', step: 'secret-event', secretArn: secret.arn });
  expect(line.message).toContain(`aws secretsmanager rotate-secret --secret-id ${secret.arn}`);
});

test('a deletion scheduled by a person is an alert line saying how to restore the secret', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
  await e.sm.send(new DeleteSecretCommand({ SecretId: secret.arn, RecoveryWindowInDays: 7 }));
  const line = await deliver(deleteSecret(secret.arn, { by: 'user', force: false }), secret.arn);
  expect(line).toMatchObject({ level: 'ERROR', alert: 'ManagedSecretDeletedOutsideStack', secretArn: secret.arn, deletedBy: USER });
  expect(line.message).toContain(`aws secretsmanager restore-secret --secret-id ${secret.arn}`);
});

test('a deletion without recovery is an alert line although the secret is gone', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
  await e.sm.send(new DeleteSecretCommand({ SecretId: secret.arn, ForceDeleteWithoutRecovery: true }));
  const line = await deliver(deleteSecret(secret.arn, { by: 'user', force: true }), secret.arn);
  expect(line).toMatchObject({ level: 'ERROR', alert: 'ManagedSecretDeletedOutsideStack', secretArn: secret.arn });
  expect(line.message).toMatch(/deleted without recovery.*Revoke them/);
});

test('a deletion by CloudFormation is left to the token teardown', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
  await e.sm.send(new DeleteSecretCommand({ SecretId: secret.arn, ForceDeleteWithoutRecovery: true }));
  const line = await deliver(deleteSecret(secret.arn, { by: 'cloudformation', force: true }), secret.arn);
  expect(line).toMatchObject({ level: 'INFO', outcome: expect.stringMatching(/^ignored: CloudFormation deleted it/) });
  expect(line.alert).toBeUndefined();
});

test.each(['user', 'cloudformation'] as const)('a forged DeleteSecret event (by %s) about a live managed secret: nothing done, an ERROR alert, every token live', async (by) => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
  const seed = (await e.astra.token(secret.seedClientIds[0]))!;
  const line = await deliver(deleteSecret(secret.arn, { by, force: true }), secret.arn);
  expect(line).toMatchObject({ level: 'ERROR', alert: 'SecretEventNotConfirmedBySecretsManager', secretArn: secret.arn });
  expect(line.message).toMatch(/shows it live and not scheduled for deletion\. Nothing was done/);
  expect(await e.astra.isLive(seed.token)).toBe(true);
});

test('a secret that another function rotates is not this function\'s alert', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
  await e.sm.send(new RotateSecretCommand({
    SecretId: secret.arn, RotationLambdaARN: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:another-rotation-function`, RotateImmediately: false,
  })).catch(() => undefined); // moto records the function, then fails to find it in its own Lambda
  expect((await e.sm.send(new DescribeSecretCommand({ SecretId: secret.arn }))).RotationLambdaARN).toMatch(/another-rotation-function$/);
  const line = await deliver(rotationFailed(secret.arn), secret.arn);
  expect(line).toMatchObject({ level: 'INFO', outcome: 'ignored: another function rotates the secret' });
});

test('a secret no AstraTokenSecret manages is not an alert', async () => {
  const other = await e.sm.send(new CreateSecretCommand({ Name: `unrelated-${randomUUID()}`, SecretString: '{"password":"x"}' }));
  const line = await deliver(rotationFailed(other.ARN!), other.ARN!);
  expect(line).toMatchObject({ level: 'INFO', outcome: expect.stringMatching(/^ignored: the secret has no astra-token-secret:role-id tag/) });
  const deleted = await deliver(deleteSecret(other.ARN!, { by: 'user', force: false }), other.ARN!);
  expect(deleted.alert).toBeUndefined();
});

test('other Secrets Manager events are let go', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'self' });
  const event = rotationFailed(secret.arn);
  const line = await deliver({ ...event, detail: { ...event.detail, eventName: 'RotationSucceeded' } }, secret.arn);
  expect(line).toMatchObject({ level: 'INFO', outcome: 'ignored: not a failed rotation or a deletion' });
});
