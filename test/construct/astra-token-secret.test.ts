import { Duration, RemovalPolicy, aws_iam as iam, aws_kms as kms, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ROLE_ID, newStack } from './fixtures';
import { AstraTokenSecret, PreviousTokenRevocation } from '../../src';

describe('the secret', () => {
  test('starts as a placeholder with no token, described without its settings', () => {
    // GIVEN
    const stack = newStack();
    // WHEN
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: JSON.stringify({ engine: 'AstraDB' }),
      Description: 'DataStax Astra token, rotated by cdk-astra-token-secret',
      KmsKeyId: Match.absent(),
      Name: Match.absent(),
    });
  });

  test('takes name, description, key, replicas and removal policy', () => {
    // GIVEN
    const stack = newStack();
    const key = new kms.Key(stack, 'Key');
    // WHEN
    new AstraTokenSecret(stack, 'Token', {
      roleId: ROLE_ID,
      secretName: 'astra/token',
      description: 'token for the orders service',
      encryptionKey: key,
      replicaRegions: [{ region: 'eu-central-1' }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // THEN
    const template = Template.fromStack(stack);
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: {
        Name: 'astra/token',
        Description: 'token for the orders service',
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
        ReplicaRegions: [{ Region: 'eu-central-1' }],
      },
      DeletionPolicy: 'Retain',
    });
  });

  test('is destroyed with the stack by default, as aws-cdk-lib secrets are', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    Template.fromStack(stack).hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete' });
  });

  test.each([
    [undefined, 'AT_NEXT_ROTATION'],
    [PreviousTokenRevocation.AT_NEXT_ROTATION, 'AT_NEXT_ROTATION'],
    [PreviousTokenRevocation.IMMEDIATELY, 'IMMEDIATELY'],
  ])('carries previousTokenRevocation %s as the tag the function reads', (policy, tag) => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, previousTokenRevocation: policy });
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::Secret', {
      Tags: Match.arrayWith([{ Key: 'astra-token-secret:previous-token-revocation', Value: tag }]),
    });
  });

  test.each(['admin', 'Organization Administrator', '5f4b2c1e9d8a4b3c8e7f0a1b2c3d4e5f'])('refuses roleId %p, which is not a UUID', (roleId) => {
    const stack = newStack();
    expect(() => new AstraTokenSecret(stack, 'Token', { roleId })).toThrow(/`roleId` ".*" is not a UUID/);
  });
});

describe('the exposed API', () => {
  test('exposes the secret, its ARN and name, and the rotation function', () => {
    const stack = newStack();
    const token = new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    expect(stack.resolve(token.secretArn)).toEqual({ Ref: stack.getLogicalId(token.secret.node.defaultChild as secretsmanager.CfnSecret) });
    expect(stack.resolve(token.secret.secretArn)).toEqual(stack.resolve(token.secretArn));
    expect(token.secretName).toBeDefined();
    expect(stack.resolve(token.rotationFunction.functionArn)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^AstraTokenRotationFunction/), 'Arn'] });
  });

  test('grantRead lets a grantee read the token and nothing more', () => {
    // GIVEN
    const stack = newStack();
    const token = new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    // WHEN
    token.grantRead(reader);
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Reader') }],
      PolicyDocument: {
        Statement: [{
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Effect: 'Allow',
          Resource: { Ref: Match.stringLikeRegexp('^TokenSecret') },
        }],
      },
    });
  });
});

describe('the rotation schedule', () => {
  test('rotates every 30 days by default', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: Match.stringLikeRegexp('^TokenSecret') },
      RotationLambdaARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AstraTokenRotationFunction'), 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)', Duration: Match.absent() },
    });
  });

  test('does not rotate on deploy a self-rotating secret, which has no token yet', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotateImmediatelyOnUpdate: false });
  });

  test('rotates on deploy a secret with an admin secret, so that the first token is minted', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, adminSecret: new secretsmanager.Secret(stack, 'Admin') });
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotateImmediatelyOnUpdate: true });
  });

  test('takes rotateImmediatelyOnUpdate, automaticallyAfter and window', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', {
      roleId: ROLE_ID,
      adminSecret: new secretsmanager.Secret(stack, 'Admin'),
      automaticallyAfter: Duration.hours(12),
      window: Duration.hours(2),
      rotateImmediatelyOnUpdate: true,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotateImmediatelyOnUpdate: true,
      RotationRules: { ScheduleExpression: 'rate(12 hours)', Duration: '2h' },
    });
  });

  test('is created after the invoke permission and the role\'s policy', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const template = Template.fromStack(stack);
    const schedule = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'))[0];
    const permission = Object.keys(template.findResources('AWS::Lambda::Permission'))[0];
    const policy = Object.keys(template.findResources('AWS::IAM::Policy'))[0];
    expect(schedule.DependsOn).toEqual(expect.arrayContaining([permission, policy]));
  });
});
