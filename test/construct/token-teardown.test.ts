import { RemovalPolicy, aws_ec2 as ec2, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ROLE_ID, newStack } from './fixtures';
import { AstraTokenSecret } from '../../src';

const TEARDOWN = 'Custom::AstraTokenTeardown';

describe('token teardown: one custom resource per rotation function', () => {
  test('lists every secret of the function with whether its removal policy destroys it, served by the rotation function', () => {
    // GIVEN
    const stack = newStack();
    // WHEN
    new AstraTokenSecret(stack, 'Destroyed', { roleId: ROLE_ID });
    new AstraTokenSecret(stack, 'Retained', { roleId: ROLE_ID, removalPolicy: RemovalPolicy.RETAIN });
    new AstraTokenSecret(stack, 'Snapshotted', { roleId: ROLE_ID, removalPolicy: RemovalPolicy.SNAPSHOT });
    // THEN
    const template = Template.fromStack(stack);
    template.resourceCountIs(TEARDOWN, 1);
    template.hasResource(TEARDOWN, {
      Properties: {
        ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AstraTokenRotationFunction'), 'Arn'] },
        Secrets: [
          { Arn: { Ref: Match.stringLikeRegexp('^DestroyedSecret') }, Destroy: true },
          { Arn: { Ref: Match.stringLikeRegexp('^RetainedSecret') }, Destroy: false },
          { Arn: { Ref: Match.stringLikeRegexp('^SnapshottedSecret') }, Destroy: false },
        ],
      },
      DeletionPolicy: 'Delete',
    });
  });

  test('depends on every rotation schedule of the stack (of other functions too) and on the role\'s policy', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'A', { roleId: ROLE_ID });
    // Another function (other settings): a secret moving between the two must be updated before either teardown runs.
    new AstraTokenSecret(stack, 'B', { roleId: ROLE_ID, vpc: new ec2.Vpc(stack, 'Vpc') });
    const template = Template.fromStack(stack);
    const teardowns = Object.values(template.findResources(TEARDOWN));
    expect(teardowns).toHaveLength(2);
    const schedules = Object.keys(template.findResources('AWS::SecretsManager::RotationSchedule'));
    for (const teardown of teardowns) {
      expect(teardown.DependsOn).toEqual(expect.arrayContaining(schedules));
      expect(teardown.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/RoleDefaultPolicy/)]));
    }
  });

  test('adds no resources per secret: two per secret, as before', () => {
    const count = (secrets: number) => {
      const stack = newStack();
      for (let i = 0; i < secrets; i++) new AstraTokenSecret(stack, `Token${i}`, { roleId: ROLE_ID });
      return Object.keys(Template.fromStack(stack).toJSON().Resources).length;
    };
    expect(count(3) - count(1)).toBe(4);
  });

  test('needs no permission beyond the rotation function\'s: the role\'s actions are the rotation\'s', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, adminSecret: new secretsmanager.Secret(stack, 'Admin') });
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>);
    const actions = statements.flatMap((s) => s.Action);
    expect(new Set(actions)).toEqual(new Set([
      'logs:CreateLogStream', 'logs:PutLogEvents',
      'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage',
    ]));
  });
});
