import { App, Stack, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ROLE_ID, newStack } from './fixtures';
import { AstraTokenSecret, PreviousTokenRevocation } from '../../src';

const OTHER_ROLE_ID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

function secretResource(stack: Stack, pathPrefix: string): Record<string, any> {
  const resources = Template.fromStack(stack).findResources('AWS::SecretsManager::Secret');
  const [, resource] = Object.entries(resources).find(([id]) => id.startsWith(pathPrefix))!;
  return resource.Properties;
}

function tagsOf(properties: Record<string, any>): Record<string, unknown> {
  return Object.fromEntries((properties.Tags ?? []).map((t: { Key: string; Value: unknown }) => [t.Key, t.Value]));
}

describe('settings are bound as tags, never written into the CloudFormation-owned value', () => {
  test('the role, the admin secret and the revocation policy are tags of the secret', () => {
    // GIVEN
    const stack = newStack();
    const admin = new secretsmanager.Secret(stack, 'Admin');
    // WHEN
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, adminSecret: admin, previousTokenRevocation: PreviousTokenRevocation.IMMEDIATELY });
    // THEN
    expect(tagsOf(secretResource(stack, 'TokenSecret'))).toEqual({
      'astra-token-secret:role-id': ROLE_ID,
      'astra-token-secret:admin-secret-arn': { Ref: expect.stringMatching(/^Admin/) },
      'astra-token-secret:previous-token-revocation': 'IMMEDIATELY',
      'astra-token-secret:deletion-policy': 'Delete',
      'astra-token-secret:update-replace-policy': 'Delete',
    });
  });

  test('a self-rotating secret has no admin tag', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    expect(tagsOf(secretResource(stack, 'TokenSecret'))).toEqual({
      'astra-token-secret:role-id': ROLE_ID,
      'astra-token-secret:previous-token-revocation': 'AT_NEXT_ROTATION',
      'astra-token-secret:deletion-policy': 'Delete',
      'astra-token-secret:update-replace-policy': 'Delete',
    });
  });

  test('changing roleId or adminSecret changes tags only: the SecretString (and so the token in it) stays', () => {
    // GIVEN two deploys of the same secret that differ in role and admin secret
    const synth = (roleId: string, adminName: string) => {
      const stack = new Stack(new App(), 'Tokens', { env: { account: '123456789012', region: 'eu-west-1' } });
      const admin = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin',
        `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${adminName}-AbCdEf`);
      new AstraTokenSecret(stack, 'Token', { roleId, adminSecret: admin });
      return secretResource(stack, 'TokenSecret');
    };
    // WHEN
    const before = synth(ROLE_ID, 'astra-admin');
    const after = synth(OTHER_ROLE_ID, 'astra-admin-2');
    // THEN
    expect(after.SecretString).toEqual(before.SecretString);
    expect(after.Description).toEqual(before.Description);
    expect(tagsOf(after)['astra-token-secret:role-id']).toBe(OTHER_ROLE_ID);
    expect(tagsOf(after)['astra-token-secret:admin-secret-arn']).toMatch(/astra-admin-2-AbCdEf$/);
  });

  test('an admin secret imported by name is bound by its partial ARN', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, adminSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Admin', 'astra/admin') });
    expect(tagsOf(secretResource(stack, 'TokenSecret'))['astra-token-secret:admin-secret-arn']).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:123456789012:secret:astra/admin']],
    });
  });
});

describe('rotateImmediatelyOnUpdate', () => {
  test('synth refuses true without adminSecret, saying why', () => {
    const stack = newStack();
    expect(() => new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, rotateImmediatelyOnUpdate: true }))
      .toThrow(/TestStack\/Token: `rotateImmediatelyOnUpdate: true` needs `adminSecret`\. A self-rotating secret has no token until you store the bootstrap token/);
  });

  test('false without adminSecret is accepted', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, rotateImmediatelyOnUpdate: false });
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotateImmediatelyOnUpdate: false });
  });
});

describe('an admin secret that is itself a self-rotating AstraTokenSecret', () => {
  // GIVEN
  const stack = newStack();
  const admin = new AstraTokenSecret(stack, 'AdminToken', { roleId: OTHER_ROLE_ID });
  // WHEN
  new AstraTokenSecret(stack, 'AppToken', { roleId: ROLE_ID, adminSecret: admin.secret });
  const template = Template.fromStack(stack);

  test('the app secret is bound to it', () => {
    expect(tagsOf(secretResource(stack, 'AppTokenSecret'))['astra-token-secret:admin-secret-arn']).toEqual({ Ref: expect.stringMatching(/^AdminTokenSecret/) });
  });

  test('the app secret does not rotate on deploy: the admin secret has no token until it is bootstrapped', () => {
    const schedules = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule')).map((r) => r.Properties);
    expect(schedules.map((p) => p.RotateImmediatelyOnUpdate)).toEqual([false, false]);
  });

  test('one rotation function rotates the admin secret and reads it to rotate the app secret', () => {
    template.resourceCountIs('AWS::Lambda::Function', 1);
    const adminRef = { Ref: Match.stringLikeRegexp('^AdminTokenSecret') };
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['secretsmanager:PutSecretValue']), Resource: Match.arrayWith([adminRef]) }),
          Match.objectLike({ Action: 'secretsmanager:GetSecretValue', Resource: adminRef }),
        ]),
      },
    });
  });

  test('an explicit rotateImmediatelyOnUpdate: true is kept (for an admin secret bootstrapped before this deploy)', () => {
    const later = newStack('Later');
    const adminToken = new AstraTokenSecret(later, 'AdminToken', { roleId: OTHER_ROLE_ID });
    new AstraTokenSecret(later, 'AppToken', { roleId: ROLE_ID, adminSecret: adminToken.secret, rotateImmediatelyOnUpdate: true });
    const schedules = Object.values(Template.fromStack(later).findResources('AWS::SecretsManager::RotationSchedule')).map((r) => r.Properties);
    expect(schedules.map((p) => p.RotateImmediatelyOnUpdate)).toEqual([false, true]);
  });
});
