/** The role UUID the consumer app passes; synth does not look it up in Astra. */
export const CONSUMER_ROLE_ID = '3c1e6f0a-7b2d-4e8f-9a5c-1d2b3e4f5a6b';

export const CONSUMER_STACK = 'ConsumerStack';
export const CONSUMER_VPC_STACK = 'ConsumerVpcStack';

/** The context key that makes the cdk-nag app leave its own admin secret unacknowledged. */
export const SKIP_APP_ACKNOWLEDGEMENT = 'skipAppAcknowledgement';

/**
 * bin/app.ts of the consumer app: AstraTokenSecret in both modes, written as a user would, against
 * the package name rather than this repository's sources. With `cdkNag`, cdk-nag 3 checks the app
 * as a policy-validation plugin (it needs aws-cdk-lib >= 2.257, which has `Validations`).
 */
export function consumerAppSource(options: { cdkNag: boolean }): string {
  const lines = [
    "import { App, Stack, aws_ec2 as ec2, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';",
    options.cdkNag ? "import { Validations } from 'aws-cdk-lib';" : '',
    options.cdkNag ? "import { AwsSolutionsChecks } from 'cdk-nag';" : '',
    "import { AstraTokenSecret } from 'cdk-astra-token-secret';",
    '',
    'const app = new App();',
    options.cdkNag ? 'Validations.of(app).addPlugins(new AwsSolutionsChecks(app));' : '',
    `const stack = new Stack(app, '${CONSUMER_STACK}');`,
    '',
    "const admin = new secretsmanager.Secret(stack, 'AstraAdminToken', { description: 'Astra admin token, stored by hand' });",
    // The admin token is the app's own secret, not the library's: acknowledging it is the user's call.
    // `-c ${SKIP_APP_ACKNOWLEDGEMENT}=true` leaves it out, to show that the plugin is at work.
    options.cdkNag ? `if (!app.node.tryGetContext('${SKIP_APP_ACKNOWLEDGEMENT}')) {` : '',
    options.cdkNag
      ? "  Validations.of(admin).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'The admin token is created in the Astra portal and replaced by hand.' });"
      : '',
    options.cdkNag ? '}' : '',
    '',
    `new AstraTokenSecret(stack, 'SelfRotatingToken', { roleId: '${CONSUMER_ROLE_ID}', secretName: 'astra/self-rotating' });`,
    `new AstraTokenSecret(stack, 'AdminMintedToken', { roleId: '${CONSUMER_ROLE_ID}', adminSecret: admin });`,
    '',
    // In its own stack, so that the counts of the stack above stay those of the two modes: the function in a VPC is
    // where the library acknowledges IAM5 findings, which cdk-nag 3 matches finding by finding.
    options.cdkNag ? `const vpcStack = new Stack(app, '${CONSUMER_VPC_STACK}');` : '',
    options.cdkNag ? "const vpc = new ec2.Vpc(vpcStack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { all: {} } });" : '',
    options.cdkNag ? `new AstraTokenSecret(vpcStack, 'InVpcToken', { roleId: '${CONSUMER_ROLE_ID}', vpc });` : '',
    '',
  ];
  return lines.filter((line, i) => line !== '' || lines[i - 1] !== '').join('\n');
}
