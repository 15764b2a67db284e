// The README's example: one token, minted and rotated by an admin token stored once by hand.
import { App, Stack, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { AstraTokenSecret } from '../src';

const app = new App();
const stack = new Stack(app, 'AstraTokens');
const token = new AstraTokenSecret(stack, 'AppToken', {
  roleId: '7a3c9d2e-41b5-4f8a-9c6d-2e8b1f0a5d47', // the Astra role every token gets
  adminSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Admin', 'astra/admin-token'),
});

export { app, token };
