import { App, Stack, aws_ec2 as ec2, aws_iam as iam, aws_kms as kms, aws_secretsmanager as secretsmanager, aws_sns as sns } from 'aws-cdk-lib';
import { AstraTokenSecret } from '../../src';

export const ROLE_ID = '5f4b2c1e-9d8a-4b3c-8e7f-0a1b2c3d4e5f';

/** A stack in a concrete account and region, so that ARNs and endpoints render. */
export function newStack(id = 'TestStack'): Stack {
  return new Stack(new App(), id, { env: { account: '123456789012', region: 'eu-west-1' } });
}

/**
 * The representative stack of the snapshot, cdk-nag and cfn-lint tests: an admin-minted secret
 * with a customer-managed key, and a self-rotating secret whose function runs in a VPC with a
 * Secrets Manager interface endpoint.
 */
export function representativeStack(app = new App()): Stack {
  // Environment-agnostic, as most library users' stacks are: AZs and ARNs stay CloudFormation expressions.
  const stack = new Stack(app, 'AstraTokens');
  const key = new kms.Key(stack, 'TokenKey', { enableKeyRotation: true });
  const admin = new secretsmanager.Secret(stack, 'AstraAdminToken', {
    encryptionKey: key,
    description: 'Astra admin token (Organization Administrator), stored by hand once',
  });
  // An encrypted topic: the services that publish alerts must be able to use its key.
  const alertKey = new kms.Key(stack, 'AlertKey', { enableKeyRotation: true });
  for (const service of ['events.amazonaws.com', 'cloudwatch.amazonaws.com']) {
    alertKey.grant(new iam.ServicePrincipal(service), 'kms:Decrypt', 'kms:GenerateDataKey*');
  }
  const alarmTopic = new sns.Topic(stack, 'Alerts', { masterKey: alertKey, enforceSSL: true });
  new AstraTokenSecret(stack, 'AppToken', {
    roleId: ROLE_ID,
    adminSecret: admin,
    alarmTopic,
    encryptionKey: key,
    secretName: 'astra/app-token',
  });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { all: {} } });
  const endpoint = vpc.addInterfaceEndpoint('SecretsManager', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER });
  new AstraTokenSecret(stack, 'SelfRotatingToken', {
    roleId: ROLE_ID,
    vpc,
    secretsManagerEndpoint: endpoint,
    secretName: 'astra/self-rotating-token',
    alarmTopic,
  });
  return stack;
}
