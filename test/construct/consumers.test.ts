import { aws_ecs as ecs, aws_lambda as lambda } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ROLE_ID, newStack } from './fixtures';
import { AstraTokenField, AstraTokenSecret } from '../../src';

function appFunction(stack: ReturnType<typeof newStack>): lambda.Function {
  return new lambda.Function(stack, 'App', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
}

/** The ARN reference CloudFormation resolves for the token's secret (an AWS::SecretsManager::Secret). */
function secretRef(template: Template): { Ref: string } {
  const [logicalId] = Object.keys(template.findResources('AWS::SecretsManager::Secret'));
  return { Ref: logicalId };
}

describe('ecsSecret', () => {
  test('GIVEN a token secret, WHEN a container takes ecsSecret(), THEN ECS reads astraKey of AWSCURRENT and the execution role may read it', () => {
    // GIVEN
    const stack = newStack();
    const token = new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const task = new ecs.FargateTaskDefinition(stack, 'Task');
    // WHEN
    task.addContainer('app', { image: ecs.ContainerImage.fromRegistry('app'), secrets: { ASTRA_TOKEN: token.ecsSecret() } });
    // THEN
    const template = Template.fromStack(stack);
    const ref = secretRef(template);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({
        Secrets: [{ Name: 'ASTRA_TOKEN', ValueFrom: { 'Fn::Join': ['', [ref, ':astraKey::']] } }],
      })],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: ref })]) },
      Roles: [{ Ref: Match.stringLikeRegexp('^TaskExecutionRole') }],
    });
  });

  test('GIVEN a driver that takes a client ID and secret, WHEN it asks for those fields, THEN each is its own ECS secret', () => {
    // GIVEN
    const stack = newStack();
    const token = new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const task = new ecs.FargateTaskDefinition(stack, 'Task');
    // WHEN
    task.addContainer('app', {
      image: ecs.ContainerImage.fromRegistry('app'),
      secrets: { CLIENT_ID: token.ecsSecret(AstraTokenField.CLIENT_ID), CLIENT_SECRET: token.ecsSecret(AstraTokenField.CLIENT_SECRET) },
    });
    // THEN
    const ref = secretRef(Template.fromStack(stack));
    Template.fromStack(stack).hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({
        Secrets: [
          { Name: 'CLIENT_ID', ValueFrom: { 'Fn::Join': ['', [ref, ':clientID::']] } },
          { Name: 'CLIENT_SECRET', ValueFrom: { 'Fn::Join': ['', [ref, ':clientSecret::']] } },
        ],
      })],
    });
  });
});

describe('addToFunction', () => {
  test('GIVEN a Lambda function, WHEN the token is added to it, THEN it gets the secret\'s ARN (never a value) and may read the secret', () => {
    // GIVEN
    const stack = newStack();
    const token = new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const fn = appFunction(stack);
    // WHEN
    token.addToFunction(fn);
    // THEN
    const template = Template.fromStack(stack);
    const ref = secretRef(template);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: { Variables: { ASTRA_TOKEN_SECRET_ARN: ref } },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: ref })]) },
      Roles: [{ Ref: Match.stringLikeRegexp('^AppServiceRole') }],
    });
    expect(JSON.stringify(template.toJSON())).not.toMatch(/resolve:secretsmanager/);
  });

  test('GIVEN an environment variable name, WHEN the token is added, THEN that variable holds the ARN', () => {
    // GIVEN
    const stack = newStack();
    const token = new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    // WHEN
    token.addToFunction(appFunction(stack), { environmentVariable: 'TOKEN_ARN' });
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { TOKEN_ARN: secretRef(Template.fromStack(stack)) } },
    });
  });

  test('GIVEN a name that is not an environment variable name, WHEN the token is added, THEN synth fails naming it', () => {
    // GIVEN
    const stack = newStack();
    const token = new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    // WHEN / THEN
    expect(() => token.addToFunction(appFunction(stack), { environmentVariable: '1-token' }))
      .toThrow(/AstraTokenSecret TestStack\/Token: environmentVariable "1-token" is not a valid environment variable name/);
  });
});
