import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { IamProxy } from './iam-proxy';
import { MODEL_ENVIRONMENT } from './resource-names';
import { MotoServer, startMoto } from '../moto-server';
import { secretsManagerClient } from '../secrets-fixture';

/**
 * moto keeps every version; Secrets Manager takes no new one past about 100 younger than a day. The stand-in the
 * functions call refuses it as AWS does, so that a scenario writing a secret too often fails here, not only on AWS.
 */
describe('the Secrets Manager stand-in: the version quota', () => {
  let moto: MotoServer;
  let proxy: IamProxy;
  let direct: SecretsManagerClient;
  let viaProxy: SecretsManagerClient;
  beforeAll(async () => {
    moto = await startMoto();
    direct = secretsManagerClient(moto.endpoint);
    const caller = { principalArn: 'arn:aws:sts::123456789012:assumed-role/writer/fn', statements: [{ Effect: 'Allow' as const, Action: '*', Resource: '*' }] };
    proxy = await IamProxy.start(moto.endpoint, direct, MODEL_ENVIRONMENT, (key) => (key === 'AKIAWRITER' ? caller : undefined));
    viaProxy = new SecretsManagerClient({
      endpoint: proxy.url, region: MODEL_ENVIRONMENT.region, credentials: { accessKeyId: 'AKIAWRITER', secretAccessKey: 'x' }, maxAttempts: 1,
    });
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
  });

  test('GIVEN 100 versions WHEN a function writes another THEN LimitExceededException, and a repeated write of one it has is still answered', async () => {
    const { ARN } = await direct.send(new CreateSecretCommand({ Name: 'quota-1', SecretString: 'v0' }));
    for (let i = 1; i < 99; i++) await viaProxy.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: `v${i}` }));
    const token = 'a'.repeat(32) + '-last';
    await viaProxy.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: 'v99', ClientRequestToken: token }));
    await expect(viaProxy.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: 'v100' }))).rejects.toMatchObject({ name: 'LimitExceededException' });
    await expect(viaProxy.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: 'v99', ClientRequestToken: token }))).resolves.toBeDefined();
  }, 60_000);
});
