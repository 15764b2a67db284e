import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutFailure, SecretStore, regionOf } from '../../../lambda/clients/secret-store';
import { awsError, FakeSecretsManager } from '../support/fake-secrets-manager';

describe('regionOf', () => {
  test('regionOf: AWS_REGION, then AWS_DEFAULT_REGION, then the ARN\'s', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:x-AbCdEf';
    expect(regionOf(arn, { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-west-2' })).toBe('us-east-1');
    expect(regionOf(arn, { AWS_DEFAULT_REGION: 'us-west-2' })).toBe('us-west-2');
    expect(regionOf(arn, {})).toBe('eu-west-3');
    expect(regionOf('astra/app-token', {})).toBeUndefined();
  });
});

describe('SecretStore.deleteForever', () => {
  let sm: FakeSecretsManager;
  const store = () => new SecretStore(new SecretsManagerClient({ region: 'us-east-1' }));
  beforeEach(() => {
    sm = new FakeSecretsManager();
  });
  afterEach(() => sm.restore());

  test('GIVEN a secret WHEN deleted THEN it is gone at once, with no recovery window; deleted again THEN already gone', async () => {
    const arn = sm.create('app', '{}');
    await expect(store().deleteForever(arn)).resolves.toEqual({ deleted: 'now' });
    expect(sm.secrets.has(arn)).toBe(false);
    expect(sm.calls.find((c) => c.operation === 'DeleteSecret')!.input).toEqual({ SecretId: arn, ForceDeleteWithoutRecovery: true });
    await expect(store().deleteForever(arn)).resolves.toEqual({ deleted: 'already-gone' });
  });

  test.each([
    ['AccessDeniedException', 400, 'access-denied'],
    ['InvalidRequestException', 400, 'cannot-delete'],
  ])('GIVEN Secrets Manager answers %s THEN refused (%s), and the secret stays', async (name, status, refused) => {
    const arn = sm.create('app', '{}');
    sm.failNext('DeleteSecret', awsError(name, 'no', 'client', status));
    await expect(store().deleteForever(arn)).resolves.toEqual({ refused, why: expect.stringMatching(/no/) });
    expect(sm.secrets.has(arn)).toBe(true);
  });

  test('GIVEN a server error (the outcome unknown) THEN it throws, naming the call and the secret', async () => {
    const arn = sm.create('app', '{}');
    sm.failNext('DeleteSecret', awsError('InternalServiceError', 'injected'));
    await expect(store().deleteForever(arn)).rejects.toThrow(/DeleteSecret on .*app.* failed/);
  });
});

describe('SecretStore.putPending', () => {
  let sm: FakeSecretsManager;
  const store = () => new SecretStore(new SecretsManagerClient({ region: 'us-east-1' }), undefined, async () => undefined);
  const attempted = (error: Error, attempts: number) => Object.assign(error, { $metadata: { ...(error as any).$metadata, attempts } });
  const failure = (arn: string) => store().putPending(arn, 'v2', '{}').then(() => undefined, (e: unknown) => e as PutFailure);
  beforeEach(() => {
    sm = new FakeSecretsManager();
  });
  afterEach(() => sm.restore());

  test('GIVEN a put refused on its only request THEN rejected, and not resent: nothing can have stored the version', async () => {
    const arn = sm.create('app', '{}');
    sm.failNext('PutSecretValue', attempted(awsError('AccessDeniedException', 'no', 'client'), 1));
    expect(await failure(arn)).toMatchObject({ rejected: true, resent: false });
  });

  test.each([
    ['the SDK retried a request before the refusal', [attempted(awsError('InvalidRequestException', 'marked for deletion', 'client'), 2)]],
    ['a throttled round went before the refused one', [
      attempted(awsError('ThrottlingException', 'slow down', 'client'), 1),
      attempted(awsError('InvalidRequestException', 'marked for deletion', 'client'), 1),
    ]],
  ])('GIVEN %s THEN rejected but resent: an earlier request may have stored the version', async (_how, errors) => {
    const arn = sm.create('app', '{}');
    for (const error of errors) sm.failNext('PutSecretValue', error);
    expect(await failure(arn)).toMatchObject({ rejected: true, resent: true });
  });
});
