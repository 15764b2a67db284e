import {
  CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { MotoServer, startMoto } from './moto-server';
import { fastHandlerEnvironment, RotationDriver, SimulatedCrash, StepContext } from './rotation-driver';
import { secretsManagerClient } from './secrets-fixture';

/** The driver against moto alone, with a stand-in handler that follows AWS's rotation template. */
let moto: MotoServer;
let sm: SecretsManagerClient;
const calls: string[] = [];
let failNext: Set<string>;

async function templateHandler(event: unknown, env: Record<string, string>): Promise<void> {
  const { Step, SecretId, ClientRequestToken } = event as Record<string, string>;
  calls.push(`${Step}:${env.ASTRA_API_URL}`);
  if (failNext.delete(Step)) throw new Error(`${Step} failed on purpose`);
  const client = secretsManagerClient(env.SECRETS_MANAGER_ENDPOINT);
  if (Step === 'createSecret') {
    await client.send(new PutSecretValueCommand({ SecretId, ClientRequestToken, SecretString: `{"v":"${ClientRequestToken}"}`, VersionStages: ['AWSPENDING'] }));
  } else if (Step === 'finishSecret') {
    const current = await client.send(new GetSecretValueCommand({ SecretId, VersionStage: 'AWSCURRENT' }));
    if (current.VersionId !== ClientRequestToken) {
      await client.send(new UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: ClientRequestToken, RemoveFromVersionId: current.VersionId }));
    }
  }
}

function driver() {
  return new RotationDriver(sm, templateHandler, () => fastHandlerEnvironment(moto.endpoint, 'http://127.0.0.1:9'));
}

async function stages(id: string) {
  return (await sm.send(new DescribeSecretCommand({ SecretId: id }))).VersionIdsToStages!;
}

beforeAll(async () => {
  moto = await startMoto();
  sm = secretsManagerClient(moto.endpoint);
});
afterAll(async () => {
  sm?.destroy();
  await moto?.stop();
});
beforeEach(() => {
  calls.length = 0;
  failNext = new Set();
});

async function newSecret(name: string) {
  return (await sm.send(new CreateSecretCommand({ Name: name, SecretString: '{"v":"initial"}' }))).ARN!;
}

test('stages AWSPENDING on the token, runs the four steps, and can rotate again despite moto quirk 4', async () => {
  const arn = await newSecret('driver-happy');
  const first = await driver().rotate(arn);
  expect(first).toEqual(expect.objectContaining({ completed: true, attempts: 1, errors: [] }));
  expect(calls.map((c) => c.split(':')[0])).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
  expect((await stages(arn))[first.token]).toEqual(expect.arrayContaining(['AWSCURRENT']));
  const second = await driver().rotate(arn);
  expect(second.completed).toBe(true);
  expect((await stages(arn))[first.token]).toEqual(['AWSPREVIOUS']);
});

test('retries the whole rotation with the same token after a failure or a crash, then gives up and removes AWSPENDING', async () => {
  const arn = await newSecret('driver-retry');
  failNext.add('testSecret');
  const seen: StepContext[] = [];
  const retried = await driver().rotate(arn, { afterStep: (ctx) => void seen.push(ctx) });
  expect(retried).toEqual(expect.objectContaining({ completed: true, attempts: 2 }));
  expect(new Set(seen.map((s) => s.token))).toEqual(new Set([retried.token]));

  const crashed = await driver().rotate(arn, {
    beforeStep: (ctx) => {
      if (ctx.attempt === 1 && ctx.step === 'testSecret') throw new SimulatedCrash('testSecret');
    },
  });
  expect(crashed).toEqual(expect.objectContaining({ completed: true, attempts: 2 }));

  const failing = await driver().rotate(arn, { maxAttempts: 2, beforeStep: () => void failNext.add('setSecret') });
  expect(failing).toEqual(expect.objectContaining({ completed: false, attempts: 2 }));
  expect((await stages(arn))[failing.token]).toEqual([]);
  expect((await driver().rotate(arn)).completed).toBe(true);
});

test('refuses a rotation while another one holds AWSPENDING, as AWS does', async () => {
  const arn = await newSecret('driver-refuse');
  await driver().stagePendingVersion(arn, 'a'.repeat(36));
  await expect(driver().stagePendingVersion(arn, 'b'.repeat(36))).rejects.toThrow(/still in progress/);
});

test('invokes each step twice and applies environment overrides per invocation', async () => {
  const arn = await newSecret('driver-twice');
  const result = await driver().rotate(arn, {
    invocationsPerStep: 2,
    environmentFor: (ctx) => (ctx.invocation === 2 ? { ASTRA_API_URL: 'http://127.0.0.1:10' } : undefined),
  });
  expect(result.completed).toBe(true);
  expect(calls).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret'].flatMap((s) => [`${s}:http://127.0.0.1:9`, `${s}:http://127.0.0.1:10`]));
});
