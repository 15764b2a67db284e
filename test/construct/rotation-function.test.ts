import { aws_ec2 as ec2, aws_kms as kms, aws_logs as logs, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ROLE_ID, newStack } from './fixtures';
import { AstraEnvironment, AstraTokenSecret } from '../../src';

const SECRET_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
];

function policyStatements(template: Template): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

describe('the rotation function', () => {
  test('runs the newest Node.js runtime aws-cdk-lib knows for the region, on arm64, with JSON logs in its own log group', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const template = Template.fromStack(stack);
    // aws-cdk-lib 2.221.0 (the peer minimum, which the tests build against) answers nodejs22.x for eu-west-1.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: Match.stringLikeRegexp('^AstraTokenRotationLogGroup') } },
    });
    template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 }, DeletionPolicy: 'Retain' });
  });

  test('keeps its logs as long as rotationLogRetention says', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, rotationLogRetention: logs.RetentionDays.THREE_MONTHS });
    Template.fromStack(stack).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  test('points at the regional Secrets Manager endpoint of the stack\'s partition and at Astra production', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          SECRETS_MANAGER_ENDPOINT: { 'Fn::Join': ['', ['https://secretsmanager.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] },
          ASTRA_API_URL: 'https://api.astra.datastax.com',
        },
      },
    });
  });

  test.each([
    [{ astraEnvironment: AstraEnvironment.DEV }, 'https://api.dev.cloud.datastax.com'],
    [{ astraEnvironment: AstraEnvironment.TEST }, 'https://api.test.cloud.datastax.com'],
    [{ astraEnvironment: AstraEnvironment.PROD }, 'https://api.astra.datastax.com'],
    [{ astraApiUrl: 'https://astra-proxy.example.com/' }, 'https://astra-proxy.example.com'],
  ])('takes the Astra API from %p', (props, url) => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, ...props });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { ASTRA_API_URL: url } },
    });
  });

  test.each([
    [{ astraApiUrl: 'http://api.astra.datastax.com' }, /`astraApiUrl` "http:\/\/api.astra.datastax.com" must use https:\/\//],
    [{ astraApiUrl: 'api.astra.datastax.com' }, /`astraApiUrl` "api.astra.datastax.com" is not a URL/],
    [{ astraApiUrl: 'https://api.example.com/?x=1' }, /`astraApiUrl` "https:\/\/api.example.com" must be a plain base URL with no query or fragment/],
    [{ astraApiUrl: 'https://api.example.com', astraEnvironment: AstraEnvironment.DEV }, /either `astraEnvironment` or `astraApiUrl`, not both/],
  ])('refuses %p', (props, message) => {
    const stack = newStack();
    expect(() => new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, ...props })).toThrow(message);
  });

  test.each([
    'https://astra-user:pw-9f3Kq7Zx@api.example.com',
    'http://astra-user:pw-9f3Kq7Zx@api.example.com/v2',
    'astra-user:pw-9f3Kq7Zx@api.example.com',
    'https://astra-user:pw-9f3Kq7Zx@api.example.com:notaport',
  ])('refuses an astraApiUrl with credentials (%s), naming the construct and what to do, never quoting them', (astraApiUrl) => {
    const stack = newStack();
    let message = '';
    try {
      new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, astraApiUrl });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^AstraTokenSecret TestStack\/Token: `astraApiUrl`( "[^"]*")? (carries credentials|is not a URL|must use https)/);
    expect(message).toMatch(/e\.g\. https:\/\/api\.astra\.datastax\.com\.$/);
    expect(message).not.toMatch(/pw-9f3Kq7Zx|astra-user/);
  });

  test('a URL with credentials is told to lose them, with scheme and host quoted', () => {
    const stack = newStack();
    expect(() => new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, astraApiUrl: 'http://u:p@api.example.com' })).toThrow(
      'AstraTokenSecret TestStack/Token: `astraApiUrl` "http://api.example.com" carries credentials (user:password@ before the host). They would be written '
      + 'into the template and the function\'s environment. Remove them: the function authenticates to the DevOps API with the Astra token alone. '
      + 'Give the base URL, e.g. https://api.astra.datastax.com.');
  });

  test('may be invoked by Secrets Manager of the stack\'s own account only', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });
});

describe('the rotation role', () => {
  test('has no managed policy and may write exactly the managed secret and its own log group', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    expect(policyStatements(template)).toEqual([
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^AstraTokenRotationLogGroup/), 'Arn'] },
      },
      // The teardown's reads (test/construct/token-teardown.test.ts): its own stack, and the stack's secrets by CloudFormation's tag.
      expect.objectContaining({ Action: expect.arrayContaining(['cloudformation:DescribeStacks']), Resource: { Ref: 'AWS::StackId' } }),
      expect.objectContaining({ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:ListSecretVersionIds'], Condition: expect.anything() }),
      // The teardown deletes what CloudFormation is deleting before it revokes: the stack's secrets this construct tagged.
      expect.objectContaining({ Action: 'secretsmanager:DeleteSecret', Condition: expect.anything() }),
      {
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        Effect: 'Allow',
        Resource: { Ref: expect.stringMatching(/^AstraTokenRotationTokenTeardownEscrow/) },
      },
      { Action: SECRET_ACTIONS, Effect: 'Allow', Resource: { Ref: expect.stringMatching(/^TokenSecret/) } },
    ]);
  });

  test('may read admin secrets and use keys through Secrets Manager only', () => {
    // GIVEN
    const stack = newStack();
    const adminKey = new kms.Key(stack, 'AdminKey');
    const tokenKey = new kms.Key(stack, 'TokenKey');
    const admin = new secretsmanager.Secret(stack, 'Admin', { encryptionKey: adminKey });
    // WHEN
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, adminSecret: admin, encryptionKey: tokenKey });
    // THEN
    const viaSecretsManager = {
      StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] } },
    };
    const statements = policyStatements(Template.fromStack(stack));
    expect(statements).toContainEqual({
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Condition: viaSecretsManager,
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^TokenKey/), 'Arn'] },
    });
    expect(statements).toContainEqual({ Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: { Ref: expect.stringMatching(/^Admin/) } });
    expect(statements).toContainEqual({
      Action: 'kms:Decrypt',
      Condition: viaSecretsManager,
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^AdminKey/), 'Arn'] },
    });
  });

  test('matches an admin secret imported by name with Secrets Manager\'s random suffix', () => {
    const stack = newStack();
    const admin = secretsmanager.Secret.fromSecretNameV2(stack, 'Admin', 'astra/admin');
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, adminSecret: admin });
    expect(policyStatements(Template.fromStack(stack))).toContainEqual({
      Action: 'secretsmanager:GetSecretValue',
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:123456789012:secret:astra/admin-??????']] },
    });
  });

  test('never gets GetRandomPassword or a "*" resource outside a VPC', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'A', { roleId: ROLE_ID, adminSecret: new secretsmanager.Secret(stack, 'Admin') });
    new AstraTokenSecret(stack, 'B', { roleId: ROLE_ID });
    const statements = policyStatements(Template.fromStack(stack));
    const text = JSON.stringify(statements);
    expect(text).not.toContain('GetRandomPassword');
    expect(statements.flatMap((s: { Resource: unknown }) => [s.Resource].flat())).not.toContain('*');
    expect(text).not.toMatch(/secretsmanager:\*/);
  });
});

describe('networking', () => {
  test('runs in the given VPC with scoped network-interface permissions', () => {
    // GIVEN
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    // WHEN
    new AstraTokenSecret(stack, 'Token', {
      roleId: ROLE_ID,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [sg],
    });
    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Sg'), 'GroupId'] }],
        SubnetIds: [{ Ref: Match.stringLikeRegexp('^VpcPrivateSubnet1') }, { Ref: Match.stringLikeRegexp('^VpcPrivateSubnet2') }],
      },
    });
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    const statements = policyStatements(template);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'ec2:CreateNetworkInterface' }));
    expect(statements).toContainEqual({ Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'], Effect: 'Allow', Resource: '*' });
  });

  test('uses the interface endpoint\'s DNS name and may reach it on 443', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    const endpoint = vpc.addInterfaceEndpoint('Sm', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER });
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, vpc, secretsManagerEndpoint: endpoint });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          SECRETS_MANAGER_ENDPOINT: {
            'Fn::Join': ['', ['https://', {
              'Fn::Select': [1, { 'Fn::Split': [':', { 'Fn::Select': [0, { 'Fn::GetAtt': [Match.stringLikeRegexp('^VpcSm'), 'DnsEntries'] }] }] }],
            }]],
          },
        },
      },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AstraTokenRotation.*FunctionSecurityGroup'), 'GroupId'] },
    });
  });

  test('refuses network settings without a VPC', () => {
    const stack = newStack();
    expect(() => new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } }))
      .toThrow(/`vpcSubnets`, `securityGroups`, `secretsManagerEndpoint` and `cloudFormationEndpoint` need `vpc`/);
  });
});

describe('a CloudFormation VPC endpoint', () => {
  test('GIVEN cloudFormationEndpoint WHEN synthesized THEN its regional DNS name is CLOUDFORMATION_ENDPOINT and the function may reach it on 443', () => {
    // GIVEN
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const cloudFormationEndpoint = vpc.addInterfaceEndpoint('Cfn', { service: ec2.InterfaceVpcEndpointAwsService.CLOUDFORMATION });
    // WHEN
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, vpc, cloudFormationEndpoint });
    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CLOUDFORMATION_ENDPOINT: { 'Fn::Join': ['', ['https://', Match.anyValue()]] } }) },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 443, ToPort: 443, Description: Match.stringLikeRegexp('Astra token teardown to CloudFormation') });
  });

  test('GIVEN no cloudFormationEndpoint THEN the function has no CLOUDFORMATION_ENDPOINT: the SDK\'s regional endpoint', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    expect(fn.Properties.Environment.Variables.CLOUDFORMATION_ENDPOINT).toBeUndefined();
  });
});
