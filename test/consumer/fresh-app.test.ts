/**
 * The library as its users get it: packed like `npm publish`, installed into a new CDK TypeScript
 * app next to the latest aws-cdk-lib, and next to the oldest aws-cdk-lib its peer range admits,
 * then synthesized by the `aws-cdk` CLI with no AWS credentials.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { CONSUMER_STACK, SKIP_APP_ACKNOWLEDGEMENT, consumerAppSource } from './support/app-source';
import { REPO_ROOT, packLibrary } from './support/built-package';
import { functionAssetDir, readAcknowledgements, readTemplate, readValidationFindings, typeOfExportedHandler } from './support/cloud-assembly';
import { ConsumerApp, SynthResult, minimumOf } from './support/consumer-app';

// npm's `latest` of aws-cdk is 3.x, which refuses the cloud assemblies of aws-cdk-lib 2.x.
const CDK_CLI = 'aws-cdk@^2';
// Installs (cached after the first run), jsii compile, type-check and two synths.
const SLOW = 10 * 60_000;

const peerDependencies: Record<string, string> = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).peerDependencies;
const PEER_MINIMUM_CDK = minimumOf(peerDependencies['aws-cdk-lib']);
const PEER_MINIMUM_CONSTRUCTS = minimumOf(peerDependencies.constructs);

interface SynthesizedApp {
  readonly app: ConsumerApp;
  readonly synth: SynthResult;
}

let workDir: string;
let latest: SynthesizedApp;
let peerMinimum: SynthesizedApp;

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'astra-consumer-pack-'));
  const tarball = packLibrary(workDir);
  const runtime = ['tsx@^4', 'typescript@~5'];
  [latest, peerMinimum] = await Promise.all([
    synthesizedApp('latest', tarball, {
      dependencies: ['aws-cdk-lib@latest', 'constructs@latest', CDK_CLI, 'cdk-nag@^3', ...runtime],
      appSource: consumerAppSource({ cdkNag: true }),
    }),
    synthesizedApp('peer-minimum', tarball, {
      dependencies: [`aws-cdk-lib@${PEER_MINIMUM_CDK}`, `constructs@${PEER_MINIMUM_CONSTRUCTS}`, CDK_CLI, ...runtime],
      appSource: consumerAppSource({ cdkNag: false }),
    }),
  ]);
}, SLOW);

afterAll(() => {
  for (const synthesized of [latest, peerMinimum]) synthesized?.app.remove();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

async function synthesizedApp(name: string, tarball: string, options: Parameters<typeof ConsumerApp.create>[2]): Promise<SynthesizedApp> {
  const app = await ConsumerApp.create(name, tarball, options);
  await app.typecheck();
  return { app, synth: await app.synth() };
}

test('the apps got the aws-cdk-lib versions they asked for', () => {
  expect(peerMinimum.app.installedVersion('aws-cdk-lib')).toBe(PEER_MINIMUM_CDK);
  expect(peerMinimum.app.installedVersion('constructs')).toBe(PEER_MINIMUM_CONSTRUCTS);
  expect(latest.app.installedVersion('aws-cdk').split('.')[0]).toBe('2');
  expect(latest.app.installedVersion('cdk-nag').split('.')[0]).toBe('3');
});

describe.each([
  // aws-cdk-lib's determineLatestNodeRuntime: whatever the latest release answers, a literal that Lambda still creates.
  ['the latest aws-cdk-lib', () => latest, /^nodejs(2[2-9]|[3-9]\d)\.x$/],
  ['the peer-minimum aws-cdk-lib', () => peerMinimum, /^nodejs22\.x$/],
])('with %s', (_name, synthesized, runtime) => {
  test('cdk synth succeeds without AWS credentials', () => {
    const { synth } = synthesized();
    expect({ exitCode: synth.exitCode, output: synth.exitCode === 0 ? '' : synth.output }).toEqual({ exitCode: 0, output: '' });
  });

  test('both secrets share one rotation function, each with its own schedule', () => {
    const template = Template.fromJSON(readTemplate(synthesized().synth.cdkOut, CONSUMER_STACK));
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
    // The app's admin secret, the two token secrets and the teardown's escrow.
    template.resourceCountIs('AWS::SecretsManager::Secret', 4);
    template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'astra/self-rotating' });
  });

  test('the rotation function runs the Node.js runtime that aws-cdk-lib answers for every region', () => {
    const template = readTemplate(synthesized().synth.cdkOut, CONSUMER_STACK);
    const [fn] = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(fn.Properties?.Runtime).toEqual(expect.stringMatching(runtime));
  });

  test('the rotation asset in the cloud assembly is a folder whose index.js exports handler', () => {
    const { cdkOut } = synthesized().synth;
    const template = readTemplate(cdkOut, CONSUMER_STACK);
    const [fn] = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(fn.Properties?.Handler).toBe('index.handler');
    const assetDir = functionAssetDir(cdkOut, CONSUMER_STACK, fn.Properties?.Code);
    expect(fs.statSync(assetDir).isDirectory()).toBe(true);
    expect(typeOfExportedHandler(assetDir)).toBe('function');
    // The teardown's CloudFormation reader, required from index.js on its first request.
    expect(typeOfExportedHandler(assetDir, 'clients/cloudformation.js', 'readStackState')).toBe('function');
  });
});

describe('cdk-nag 3 (AwsSolutions as a policy-validation plugin) with the latest aws-cdk-lib', () => {
  test('reports no finding: the app acknowledged its own admin secret, the library acknowledges its own', () => {
    expect(readValidationFindings(latest.synth.cdkOut)).toEqual([]);
  });

  test('reports the one finding the app leaves unacknowledged, and fails synth', async () => {
    const synth = await latest.app.synth({ output: 'cdk.out.unacknowledged', context: { [SKIP_APP_ACKNOWLEDGEMENT]: 'true' } });
    expect(synth.exitCode).not.toBe(0);
    expect(readValidationFindings(synth.cdkOut)).toEqual([
      `AwsSolutions-SMG4 on ${CONSUMER_STACK}/AstraAdminToken/Resource: The secret does not have automatic rotation scheduled.`,
    ]);
  }, SLOW);

  test('every acknowledgement in the app has a reason', () => {
    const acknowledgements = readAcknowledgements(latest.synth.cdkOut, CONSUMER_STACK);
    const reasons = Object.entries(acknowledgements).flatMap(([constructPath, rules]) =>
      Object.entries(rules).map(([rule, reason]) => ({ constructPath, rule, hasReason: reason.trim().length > 20 })));
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.filter((r) => !r.hasReason)).toEqual([]);
  });
});
