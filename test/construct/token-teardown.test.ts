import { Aspects, CfnResource, IAspect, RemovalPolicy, aws_ec2 as ec2, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { ROLE_ID, newStack } from './fixtures';
import { AstraTokenSecret } from '../../src';
import { DELETION_POLICY_TAG } from '../../src/shared/secret-tags';

const TEARDOWN = 'Custom::AstraTokenTeardown';
const POLICY_TAG = DELETION_POLICY_TAG;

function secretTag(template: Template, logicalIdPrefix: string, key: string): unknown {
  const [, secret] = Object.entries(template.findResources('AWS::SecretsManager::Secret')).find(([id]) => id.startsWith(logicalIdPrefix))!;
  return (secret.Properties.Tags as Array<{ Key: string; Value: unknown }>).find((t) => t.Key === key)?.Value;
}

/** What `RemovalPolicies.of(scope).retain()` does in aws-cdk-lib releases that have it: an aspect on every resource. */
class RetainEverything implements IAspect {
  public visit(node: IConstruct): void {
    if (node instanceof CfnResource) node.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }
}

function newTemplate(): Template {
  const stack = newStack();
  new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
  return Template.fromStack(stack);
}

describe('token teardown: one custom resource per rotation function', () => {
  test('lists the ARN of every secret of the function, served by the function, with a bounded wait', () => {
    // GIVEN
    const stack = newStack();
    // WHEN
    new AstraTokenSecret(stack, 'Destroyed', { roleId: ROLE_ID });
    new AstraTokenSecret(stack, 'Retained', { roleId: ROLE_ID, removalPolicy: RemovalPolicy.RETAIN });
    // THEN
    const template = Template.fromStack(stack);
    template.resourceCountIs(TEARDOWN, 1);
    template.hasResource(TEARDOWN, {
      Properties: {
        ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AstraTokenRotationFunction'), 'Arn'] },
        ServiceTimeout: '900',
        Secrets: [
          { Arn: { Ref: Match.stringLikeRegexp('^DestroyedSecret') } },
          { Arn: { Ref: Match.stringLikeRegexp('^RetainedSecret') } },
        ],
      },
      DeletionPolicy: 'Delete',
    });
  });

  test('exists before any rotation can mint: every schedule depends on it, and it on the role\'s policy', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'A', { roleId: ROLE_ID });
    new AstraTokenSecret(stack, 'B', { roleId: ROLE_ID, vpc: new ec2.Vpc(stack, 'Vpc') });
    const template = Template.fromStack(stack);
    const teardowns = template.findResources(TEARDOWN);
    expect(Object.keys(teardowns)).toHaveLength(2);
    for (const teardown of Object.values(teardowns)) {
      expect(teardown.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/RoleDefaultPolicy/)]));
    }
    for (const [id, schedule] of Object.entries(template.findResources('AWS::SecretsManager::RotationSchedule'))) {
      const own = id.startsWith('A') ? /^AstraTokenRotationTokenTeardown/ : /^AstraTokenRotation[0-9A-F]{8}TokenTeardown/;
      expect(schedule.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(own)]));
    }
  });

  test('a secret minted by another function\'s secret: its teardown goes first on a deletion (it depends on the admin\'s)', () => {
    const stack = newStack();
    const admin = new AstraTokenSecret(stack, 'Admin', { roleId: ROLE_ID, vpc: new ec2.Vpc(stack, 'Vpc') });
    new AstraTokenSecret(stack, 'Leaf', { roleId: ROLE_ID, adminSecret: admin.secret });
    const teardowns = Template.fromStack(stack).findResources(TEARDOWN);
    const adminTeardown = Object.keys(teardowns).find((id) => /^AstraTokenRotation[0-9A-F]{8}TokenTeardown/.test(id))!;
    const leafTeardown = Object.keys(teardowns).find((id) => /^AstraTokenRotationTokenTeardown/.test(id))!;
    expect(teardowns[leafTeardown].DependsOn).toContain(adminTeardown);
    expect(teardowns[adminTeardown].DependsOn).not.toContain(leafTeardown);
  });

  test.each([
    ['the prop', (s: AstraTokenSecret) => s, { removalPolicy: RemovalPolicy.RETAIN }, 'Retain'],
    ['applyRemovalPolicy', (s: AstraTokenSecret) => s.secret.applyRemovalPolicy(RemovalPolicy.RETAIN), {}, 'Retain'],
    ['an aspect over the app', (s: AstraTokenSecret) => Aspects.of(s.node.root).add(new RetainEverything()), {}, 'Retain'],
    ['a raw override', (s: AstraTokenSecret) => (s.secret.node.defaultChild as CfnResource).addOverride('DeletionPolicy', 'RetainExceptOnCreate'), {}, 'RetainExceptOnCreate'],
    ['nothing', (s: AstraTokenSecret) => s, {}, 'Delete'],
  ])('the secret\'s DeletionPolicy, set by %s, is tagged as the template renders it', (_by, apply, props, expected) => {
    const stack = newStack();
    apply(new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, ...props }));
    const template = Template.fromStack(stack);
    const [secret] = Object.values(template.findResources('AWS::SecretsManager::Secret'));
    expect(secret.DeletionPolicy).toBe(expected);
    expect(secretTag(template, 'TokenSecret', POLICY_TAG)).toBe(expected);
  });

  test('the secret\'s UpdateReplacePolicy is tagged as the template renders it too', () => {
    const stack = newStack();
    const made = new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    (made.secret.node.defaultChild as CfnResource).addOverride('UpdateReplacePolicy', 'Retain');
    const template = Template.fromStack(stack);
    expect(secretTag(template, 'TokenSecret', 'astra-token-secret:update-replace-policy')).toBe('Retain');
    expect(secretTag(newTemplate(), 'TokenSecret', 'astra-token-secret:update-replace-policy')).toBe('Delete');
  });

  test('adds no resources per secret: two per secret, as before', () => {
    const count = (secrets: number) => {
      const stack = newStack();
      for (let i = 0; i < secrets; i++) new AstraTokenSecret(stack, `Token${i}`, { roleId: ROLE_ID });
      return Object.keys(Template.fromStack(stack).toJSON().Resources).length;
    };
    expect(count(3) - count(1)).toBe(4);
  });

  test('has an escrow of its own, named by the teardown, that only the function reads and writes, deleted with the stack', () => {
    // GIVEN / WHEN
    const template = newTemplate();
    // THEN
    const escrows = template.findResources('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('until the rotation function has revoked them') } });
    const [escrowId] = Object.keys(escrows);
    expect(Object.keys(escrows)).toHaveLength(1);
    expect(escrows[escrowId]).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    template.hasResourceProperties(TEARDOWN, { Escrow: { Ref: escrowId } });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const onEscrow = statements.filter((st: { Resource: unknown }) => JSON.stringify(st.Resource) === JSON.stringify({ Ref: escrowId }));
    expect(onEscrow).toEqual([{ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'], Effect: 'Allow', Resource: { Ref: escrowId } }]);
  });

  test('denies every writer of the escrow but the function\'s role, from before the teardown exists until after it is gone', () => {
    // GIVEN / WHEN
    const template = newTemplate();
    // THEN
    const [escrowId] = Object.keys(template.findResources('AWS::SecretsManager::Secret', {
      Properties: { Description: Match.stringLikeRegexp('until the rotation function has revoked them') },
    }));
    const [roleId] = Object.keys(template.findResources('AWS::IAM::Role', {
      Properties: { AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] }) },
    }));
    const policies = template.findResources('AWS::SecretsManager::ResourcePolicy', { Properties: { SecretId: { Ref: escrowId } } });
    expect(Object.keys(policies)).toHaveLength(1);
    const [policyId] = Object.keys(policies);
    expect(policies[policyId].Properties.ResourcePolicy.Statement).toEqual([{
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecret', 'secretsmanager:UpdateSecretVersionStage'],
      Resource: '*',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [roleId, 'Arn'] } } },
    }]);
    const [teardown] = Object.values(template.findResources(TEARDOWN));
    expect(teardown.DependsOn).toEqual(expect.arrayContaining([policyId]));
  });

  test('may delete only the stack\'s secrets that this construct tagged with their DeletionPolicy', () => {
    const template = newTemplate();
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.filter((st: { Action: unknown }) => JSON.stringify(st.Action).includes('DeleteSecret'))).toEqual([{
      Action: 'secretsmanager:DeleteSecret',
      Condition: {
        StringEquals: { 'secretsmanager:ResourceTag/aws:cloudformation:stack-id': { Ref: 'AWS::StackId' } },
        StringLike: { [`secretsmanager:ResourceTag/${POLICY_TAG}`]: '*' },
      },
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:*']] },
    }]);
  });

  test('reads exactly its own stack through CloudFormation, and the stack\'s own secrets by CloudFormation\'s tag, read-only', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, adminSecret: new secretsmanager.Secret(stack, 'Admin') });
    const template = Template.fromStack(stack);
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual({
      Action: ['cloudformation:DescribeStacks', 'cloudformation:ListStackResources', 'cloudformation:GetTemplate'],
      Effect: 'Allow',
      Resource: { Ref: 'AWS::StackId' },
    });
    expect(statements).toContainEqual({
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:ListSecretVersionIds'],
      Condition: { StringEquals: { 'secretsmanager:ResourceTag/aws:cloudformation:stack-id': { Ref: 'AWS::StackId' } } },
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:*']] },
    });
    const writes = statements.filter((s: { Action: string | string[] }) => [s.Action].flat().some((a) => /^secretsmanager:(Put|Update)/.test(a)));
    expect(writes.map((s: { Resource: unknown }) => s.Resource)).toEqual([
      { Ref: expect.stringMatching(/^AstraTokenRotationTokenTeardownEscrow/) },
      { Ref: expect.stringMatching(/^TokenSecret/) },
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ STACK_ID: { Ref: 'AWS::StackId' } }) } });
  });
});
