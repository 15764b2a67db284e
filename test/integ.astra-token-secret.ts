/**
 * Integration test of AstraTokenSecret in both modes, with deployment assertions. `npx projen integ` checks its
 * snapshot (synth only) and `npx projen integ:update` re-creates it; here, no deploy ever happens. A maintainer with
 * an AWS account and an Astra organisation deploys it for real with integ-runner (README, "Integration test"):
 * after the deploy, the admin-minted secret's first rotation must put a token into AWSCURRENT, and DescribeSecret
 * must show a last rotation.
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, Stack, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { AstraTokenSecret, PreviousTokenRevocation } from '../src';

// For a real run: the role the minted token gets, and the admin secret (created by hand beforehand, holding an
// Organization Administrator token). Synth does not look either up.
const ROLE_ID = process.env.ASTRA_INTEG_ROLE_ID ?? '0b6c1f6e-3f0a-4c5e-9a7d-2f1e8c4b5a69';
const ADMIN_SECRET_NAME = process.env.ASTRA_INTEG_ADMIN_SECRET ?? 'astra/integ-admin-token';

const app = new App();
const stack = new Stack(app, 'AstraTokenSecretInteg');

const admin = secretsmanager.Secret.fromSecretNameV2(stack, 'AdminToken', ADMIN_SECRET_NAME);
const adminMinted = new AstraTokenSecret(stack, 'AdminMinted', {
  roleId: ROLE_ID,
  adminSecret: admin,
  previousTokenRevocation: PreviousTokenRevocation.IMMEDIATELY,
});
new AstraTokenSecret(stack, 'SelfRotating', { roleId: ROLE_ID });

const integ = new IntegTest(app, 'AstraTokenSecretTest', {
  testCases: [stack],
  // Without the update workflow integ-runner leaves the bundled handler out of the snapshot: the
  // snapshot holds templates only, and their asset hashes are normalised when compared.
  stackUpdateWorkflow: false,
});

// The rotation on deploy is asynchronous: both assertions wait for it.
const waitForRotation = { totalTimeout: Duration.minutes(5), interval: Duration.seconds(15) };

integ.assertions
  .awsApiCall('SecretsManager', 'getSecretValue', { SecretId: adminMinted.secretArn, VersionStage: 'AWSCURRENT' })
  .expect(ExpectedResult.objectLike({ SecretString: Match.stringLikeRegexp('"astraKey":"AstraCS:') }))
  .waitForAssertions(waitForRotation);

integ.assertions
  .awsApiCall('SecretsManager', 'describeSecret', { SecretId: adminMinted.secretArn })
  .expect(ExpectedResult.objectLike({ RotationEnabled: true, LastRotatedDate: Match.stringLikeRegexp('^\\d{4}-') }))
  .waitForAssertions(waitForRotation);
