/**
 * Integration test of AstraTokenSecret in both modes, checked as a snapshot by `npx projen integ`
 * (synth only) and re-created by `npx projen integ:update`. Deploying it needs an AWS account
 * and an Astra organisation, which CI does not have.
 */
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Stack, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { AstraTokenSecret, PreviousTokenRevocation } from '../src';

// Any UUID: synth does not check that the role exists in Astra.
const ROLE_ID = '0b6c1f6e-3f0a-4c5e-9a7d-2f1e8c4b5a69';

const app = new App();
const stack = new Stack(app, 'AstraTokenSecretInteg');

const admin = new secretsmanager.Secret(stack, 'AdminToken', {
  description: 'Astra admin token, stored by hand once',
});
new AstraTokenSecret(stack, 'AdminMinted', {
  roleId: ROLE_ID,
  adminSecret: admin,
  previousTokenRevocation: PreviousTokenRevocation.IMMEDIATELY,
});
new AstraTokenSecret(stack, 'SelfRotating', { roleId: ROLE_ID });

new IntegTest(app, 'AstraTokenSecretTest', {
  testCases: [stack],
  // Without the update workflow integ-runner leaves the bundled handler out of the snapshot: the
  // snapshot holds templates only, and their asset hashes are normalised when compared.
  stackUpdateWorkflow: false,
});
