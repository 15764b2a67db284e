// The README's example app: one token minted by an admin token, one that rotates itself.
import { App, Duration, Stack, aws_secretsmanager as secretsmanager, aws_sns as sns } from 'aws-cdk-lib';
import { AstraTokenSecret, PreviousTokenRevocation } from '../src';

const app = new App();
const stack = new Stack(app, 'AstraTokens');

// Stored once by hand: a token of a role with the token-write permission.
const admin = secretsmanager.Secret.fromSecretNameV2(stack, 'AstraAdmin', 'astra/admin-token');
const alerts = new sns.Topic(stack, 'RotationAlerts');

// Minted by the admin token on deploy, rotated every 30 days.
const appToken = new AstraTokenSecret(stack, 'AppToken', {
  roleId: '7a3c9d2e-41b5-4f8a-9c6d-2e8b1f0a5d47',
  adminSecret: admin,
  secretName: 'astra/app-token',
  alarmTopic: alerts,
});

// Rotates itself weekly once its bootstrap token is stored; the old token dies at once.
new AstraTokenSecret(stack, 'CiToken', {
  roleId: 'c1e5b8a4-2d7f-4e93-8b16-5fa0d3c97e21',
  secretName: 'astra/ci-token',
  automaticallyAfter: Duration.days(7),
  previousTokenRevocation: PreviousTokenRevocation.IMMEDIATELY,
  alarmTopic: alerts,
});

export { app, appToken };
