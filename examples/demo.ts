// `npx projen demo`: the example app's rotation function, as synthesized into the cloud assembly, rotating both of
// the app's secrets twice against a local Secrets Manager (moto) and the Astra DevOps API emulator. No AWS account.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { app } from './app';
import { ROLE_ID_TAG } from '../src/shared/secret-tags';
import { CfnTemplate, functionAssetDir, readTemplate } from '../test/consumer/support/cloud-assembly';
import { FunctionHost } from '../test/e2e/harness/function-host';
import { LogCapture } from '../test/e2e/harness/log-capture';
import { startMoto } from '../test/e2e/harness/moto-server';
import { RotationDriver } from '../test/e2e/harness/rotation-driver';
import { secretsManagerClient } from '../test/e2e/harness/secrets-fixture';
import { AstraServer } from '../test/support/astra/astra-server';
import { StandardRoles, standardRoles } from '../test/support/astra/roles';
import { SPEC_PATH } from '../test/support/astra/spec-path';
import { SpecValidator } from '../test/support/astra/spec-validator';


/** The rotation function's code as the cloud assembly holds it, and the template it belongs to. */
function rotationAssetOf(assemblyDir: string, stackName: string): { dir: string; template: CfnTemplate['Resources'] } {
  const template = readTemplate(assemblyDir, stackName).Resources;
  const fn = Object.values(template).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Handler === 'index.handler');
  if (!fn) throw new Error('no rotation function in the synthesized template');
  return { dir: functionAssetDir(assemblyDir, stackName, fn.Properties!.Code), template };
}

function redacted(clientId: unknown): string {
  return typeof clientId === 'string' ? `${clientId.slice(0, 4)}…` : '-';
}

async function printStages(sm: SecretsManagerClient, secretId: string, emulator: AstraServer<StandardRoles>, label: string): Promise<void> {
  const described = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
  console.log(`  ${label}:`);
  for (const [versionId, stages] of Object.entries(described.VersionIdsToStages ?? {})) {
    if (stages.length === 0) continue;
    const value = await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId, VersionStage: stages[0] }));
    const clientId = JSON.parse(value.SecretString ?? '{}').clientID;
    const live = typeof clientId === 'string' ? (emulator.token(clientId)?.revoked === false ? 'live' : 'revoked') : 'no token';
    console.log(`    ${versionId.slice(0, 8)}  ${stages.join(',').padEnd(22)} clientID ${redacted(clientId).padEnd(6)} ${live}`);
  }
}

async function main(): Promise<void> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'astra-demo-'));
  const assembly = app.synth({ force: true });
  fs.cpSync(assembly.directory, outdir, { recursive: true });
  const stackName = 'AstraTokens';
  const { dir, template } = rotationAssetOf(outdir, stackName);
  console.log(`Synthesized examples/app.ts; rotation function asset: ${path.relative(outdir, dir)}/index.js`);
  // The synthesized asset in its own process, as Lambda runs it (the harness's one local function host).
  const lines = new LogCapture();
  const host = new FunctionHost(path.join(dir, 'index.js'), lines, { functionTimeoutMs: 180_000 });
  await host.start();

  const moto = await startMoto();
  const emulator = new AstraServer(standardRoles());
  await emulator.start(await SpecValidator.create(SPEC_PATH));
  // The app's role UUIDs exist in the emulated org: the admin-minted token reads data, the self-rotating one may mint.
  // The token secrets: those bound to a role (the teardown's escrow is a secret too).
  const secrets = Object.values(template)
    .filter((r) => r.Type === 'AWS::SecretsManager::Secret' && JSON.stringify(r.Properties?.Tags ?? []).includes(ROLE_ID_TAG))
    .map((r) => r.Properties!);
  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIADEMODUMMY0000000',
    AWS_SECRET_ACCESS_KEY: 'demo-dummy-secret',
    SECRETS_MANAGER_ENDPOINT: moto.endpoint,
    ASTRA_API_URL: emulator.url,
  };
  console.log(`Local Secrets Manager (moto) ${moto.endpoint}; Astra emulator ${emulator.url} (the function's ASTRA_API_URL, overridden)\n`);
  try {
    const sm = secretsManagerClient(moto.endpoint);
    // The handler writes one JSON line per step; its outcome is what the demo prints.
    let seen = 0;
    const outcomes = () => lines.stepLines(seen).map((l) => l.outcome as string);
    const driver = new RotationDriver(sm, async (event) => {
      await host.invoke(event, env);
    }, () => env as any);

    const admin = emulator.seedToken([emulator.roles.orgAdmin.id], 'admin token, made by hand in the Astra Portal');
    const adminSecret = await sm.send(new CreateSecretCommand({
      Name: 'astra/admin-token',
      SecretString: JSON.stringify({ astraKey: admin.token, clientID: admin.clientId, clientSecret: admin.secret, roleID: emulator.roles.orgAdmin.id, engine: 'AstraDB' }),
    }));

    for (const secret of secrets) {
      const name: string = secret.Name;
      // The secret as CloudFormation would create it: the placeholder value, and the tags that bind its settings, with
      // the admin secret's ARN as moto knows it.
      const placeholder = JSON.parse(secret.SecretString);
      const tags: Array<{ Key: string; Value: unknown }> = secret.Tags;
      const tag = (key: string) => tags.find((t) => t.Key === key)?.Value;
      const selfRotating = tag('astra-token-secret:admin-secret-arn') === undefined;
      const boundTags = tags.map((t) => ({ Key: t.Key, Value: typeof t.Value === 'string' ? t.Value : adminSecret.ARN! }));
      const roleId = tag('astra-token-secret:role-id') as string;
      const role = selfRotating ? emulator.roles.tokenManager : emulator.roles.apiUser;
      emulator.defineRole({ ...role, id: roleId });
      const created = await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(placeholder), Tags: boundTags }));
      console.log(`${name} (${selfRotating ? 'self-rotating' : 'minted by astra/admin-token'}, previous token revoked ${tag('astra-token-secret:previous-token-revocation')})`);
      if (selfRotating) {
        const bootstrap = emulator.seedToken([roleId], 'bootstrap token, made by hand in the Astra Portal');
        await sm.send(new PutSecretValueCommand({
          SecretId: created.ARN,
          SecretString: JSON.stringify({
            ...placeholder, astraKey: bootstrap.token, clientID: bootstrap.clientId, clientSecret: bootstrap.secret, roleID: roleId,
          }),
        }));
        console.log('  bootstrap token stored (put-secret-value)');
      }
      for (let i = 1; i <= 2; i++) {
        await printStages(sm, created.ARN!, emulator, `before rotation ${i}`);
        seen = lines.lines.length;
        const result = await driver.rotate(created.ARN!);
        console.log(`  rotation ${i}: ${result.completed ? 'completed' : 'FAILED'} (createSecret, setSecret, testSecret, finishSecret: ${outcomes().join(', ')})`);
        if (!result.completed) throw new Error(result.errors.map((e) => e.message).join('\n'));
      }
      await printStages(sm, created.ARN!, emulator, 'after rotation 2');
      console.log();
    }
    if (emulator.specViolations.length > 0) throw new Error(`requests the OpenAPI spec rejects: ${JSON.stringify(emulator.specViolations)}`);
    console.log(`Astra saw ${emulator.requests.length} requests, all valid against DataStax's OpenAPI spec.`);
  } finally {
    await host.stop();
    await emulator.stop();
    await moto.stop();
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
