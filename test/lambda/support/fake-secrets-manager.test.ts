import {
  DeleteSecretCommand, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { FakeSecretsManager, VERSIONS_KEPT } from './fake-secrets-manager';

/** The fake's version quota: tests of the teardown's escrow rely on it refusing what Secrets Manager refuses. */
describe('FakeSecretsManager: the version quota', () => {
  let sm: FakeSecretsManager;
  const client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const put = (arn: string, value: string, stages?: string[]) =>
    client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: value, VersionStages: stages }));
  beforeEach(() => {
    sm = new FakeSecretsManager();
  });
  afterEach(() => sm.restore());

  test(`GIVEN ${VERSIONS_KEPT} versions younger than a day WHEN another is written THEN it is refused, and the value stays`, async () => {
    const arn = sm.create('busy', 'v0');
    for (let i = 1; i < VERSIONS_KEPT; i++) await put(arn, `v${i}`);
    await expect(put(arn, 'one too many')).rejects.toMatchObject({ name: 'LimitExceededException' });
    expect(sm.valueOf(arn, sm.versionWith(arn, 'AWSCURRENT')!)).toBe(`v${VERSIONS_KEPT - 1}`);
  });

  test('GIVEN the oldest versions are unlabeled and older than a day WHEN another is written THEN they make room for it', async () => {
    const arn = sm.create('busy', 'v0');
    for (let i = 1; i < VERSIONS_KEPT; i++) await put(arn, `v${i}`);
    sm.elapse(24 * 3600_000);
    await expect(put(arn, 'after a day')).resolves.toMatchObject({ VersionStages: ['AWSCURRENT'] });
    expect(sm.valueOf(arn, sm.versionWith(arn, 'AWSCURRENT')!)).toBe('after a day');
  });

  test('GIVEN a day has passed but every version keeps a label WHEN another is written THEN it is refused', async () => {
    const arn = sm.create('labelled', 'v0');
    for (let i = 1; i < VERSIONS_KEPT; i++) await put(arn, `v${i}`, [`L${i}`]);
    sm.elapse(24 * 3600_000);
    await expect(put(arn, 'no room', ['L0'])).rejects.toMatchObject({ name: 'LimitExceededException' });
  });
});

/** The rotation's failed put relies on it: a secret scheduled for deletion still shows itself, but keeps its value to itself. */
describe('FakeSecretsManager: a secret marked for deletion', () => {
  let sm: FakeSecretsManager;
  const client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  beforeEach(() => {
    sm = new FakeSecretsManager();
  });
  afterEach(() => sm.restore());

  test('GIVEN a secret scheduled for deletion WHEN its value is written or read THEN both are refused, and DescribeSecret shows its DeletedDate', async () => {
    const arn = sm.create('leaving', 'v0');
    await client.send(new DeleteSecretCommand({ SecretId: arn, RecoveryWindowInDays: 7 }));
    const refused = { name: 'InvalidRequestException', message: expect.stringMatching(/marked for deletion/), $fault: 'client' };
    const put = new PutSecretValueCommand({ SecretId: arn, SecretString: 'v1', VersionStages: ['AWSPENDING'] });
    await expect(client.send(put)).rejects.toMatchObject(refused);
    await expect(client.send(new GetSecretValueCommand({ SecretId: arn }))).rejects.toMatchObject(refused);
    await expect(client.send(new DescribeSecretCommand({ SecretId: arn }))).resolves.toMatchObject({ DeletedDate: expect.any(Date) });
    expect(sm.versionWith(arn, 'AWSPENDING')).toBeUndefined();
  });
});
