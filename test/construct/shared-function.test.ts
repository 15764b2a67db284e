import { aws_ec2 as ec2 } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ROLE_ID, newStack } from './fixtures';
import { AstraEnvironment, AstraTokenSecret } from '../../src';

test('secrets with the same settings share one function, role and invoke permission', () => {
  // GIVEN
  const stack = newStack();
  // WHEN
  const a = new AstraTokenSecret(stack, 'A', { roleId: ROLE_ID });
  const b = new AstraTokenSecret(stack, 'B', { roleId: ROLE_ID });
  // THEN
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Lambda::Function', 1);
  template.resourceCountIs('AWS::IAM::Role', 1);
  template.resourceCountIs('AWS::Lambda::Permission', 1);
  expect(a.rotationFunction).toBe(b.rotationFunction);
  const statements: any[] = Object.values(template.findResources('AWS::IAM::Policy'))[0].Properties.PolicyDocument.Statement;
  // The statement on the managed secrets (the escrow's, with the same action, names one resource).
  expect(statements.find((s) => s.Action.includes?.('secretsmanager:UpdateSecretVersionStage') && Array.isArray(s.Resource)).Resource).toEqual([
    { Ref: expect.stringMatching(/^ASecret/) },
    { Ref: expect.stringMatching(/^BSecret/) },
  ]);
});

test('secrets with a different API URL or network get their own function', () => {
  const stack = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
  const a = new AstraTokenSecret(stack, 'Prod', { roleId: ROLE_ID });
  const b = new AstraTokenSecret(stack, 'Dev', { roleId: ROLE_ID, astraEnvironment: AstraEnvironment.DEV });
  const c = new AstraTokenSecret(stack, 'InVpc', { roleId: ROLE_ID, vpc });
  const d = new AstraTokenSecret(stack, 'InVpcToo', { roleId: ROLE_ID, vpc });
  Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 3);
  expect(new Set([a, b, c].map((s) => s.rotationFunction)).size).toBe(3);
  expect(c.rotationFunction).toBe(d.rotationFunction);
});

test('a stack with 100 AstraTokenSecrets synthesizes with one rotation function', () => {
  const stack = newStack();
  for (let i = 0; i < 100; i++) {
    new AstraTokenSecret(stack, `Token${i}`, { roleId: ROLE_ID, secretName: `astra/token-${i}` });
  }
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Lambda::Function', 1);
  // 100 managed secrets and the teardown's escrow.
  template.resourceCountIs('AWS::SecretsManager::Secret', 101);
  template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 100);
  // aws-cdk-lib moves what exceeds IAM's inline policy size into a customer-managed overflow policy.
  template.resourceCountIs('AWS::IAM::Policy', 1);
  template.resourceCountIs('AWS::IAM::ManagedPolicy', 1);
  // 2 per secret + function, role, 2 policies, log group, permission, token teardown, its escrow and the escrow's policy: far below 500.
  expect(Object.keys(template.toJSON().Resources)).toHaveLength(209);
});
