import { randomBytes } from 'node:crypto';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CfnElement, CfnResource, aws_iam as iam, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { accessKeyOf } from './function-fleet';
import { authorize, PolicyStatement } from './iam-policy';
import { useLifecycleEnvironment } from './lifecycle-environment';
import { probeFunction, probeLines, probeResource } from './probe';
import { synthesize } from './synth';
import type { Template } from './template';

describe('policy evaluation', () => {
  const secret = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app/token-AbCdEf';
  const allow = (Action: string | string[], Resource: string | string[], Condition?: PolicyStatement['Condition']): PolicyStatement =>
    ({ Effect: 'Allow', Action, Resource, Condition });
  const ask = (statements: PolicyStatement[], action = 'secretsmanager:GetSecretValue', tags: Record<string, string> = {}) =>
    authorize(statements, { action, resource: secret, resourceTags: tags });

  test('Action with * wildcards and without case; Resource with * and ? wildcards, with case', () => {
    expect(ask([allow('secretsmanager:Get*', secret)])).toBe('allowed');
    expect(ask([allow('SecretsManager:getsecretvalue', secret)])).toBe('allowed');
    expect(ask([allow('secretsmanager:Describe*', secret)])).toBe('implicitly-denied');
    expect(ask([allow('secretsmanager:GetSecretValue', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app/token-??????')])).toBe('allowed');
    expect(ask([allow('secretsmanager:GetSecretValue', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app/token-?????')])).toBe('implicitly-denied');
    expect(ask([allow('secretsmanager:GetSecretValue', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:APP/*')])).toBe('implicitly-denied');
    expect(ask([allow('*', '*')])).toBe('allowed');
  });

  test('StringEquals / StringLike on the secret\'s tags; conditions the model cannot evaluate never allow; Deny wins', () => {
    const tagged = (op: string, key: string, value: string) => allow('secretsmanager:*', '*', { [op]: { [key]: value } });
    expect(ask([tagged('StringEquals', 'secretsmanager:ResourceTag/team', 'blue')], undefined, { team: 'blue' })).toBe('allowed');
    expect(ask([tagged('StringEquals', 'aws:ResourceTag/team', 'blue')], undefined, { team: 'red' })).toBe('implicitly-denied');
    expect(ask([tagged('StringLike', 'aws:ResourceTag/team', 'bl*')], undefined, { team: 'blue' })).toBe('allowed');
    expect(ask([tagged('StringEquals', 'aws:ResourceTag/team', 'blue')])).toBe('implicitly-denied');
    expect(ask([tagged('StringEquals', 'aws:SourceVpce', 'vpce-1')])).toBe('implicitly-denied');
    expect(ask([allow('*', '*'), { Effect: 'Deny', Action: 'secretsmanager:GetSecretValue', Resource: secret }])).toBe('explicitly-denied');
    expect(ask([{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }])).toBe('implicitly-denied');
  });
});

describe('the function\'s role, as CloudFormation changes it', () => {
  const e = useLifecycleEnvironment();
  const suffix = randomBytes(3).toString('hex');
  const names = { a: `iam-a-${suffix}`, b: `iam-b-${suffix}` };

  /**
   * A probe function whose role may read secret `readable` (an iam.Policy), and two probe resources that read both
   * secrets: Before is handled before the policy (the policy depends on it), After after it.
   */
  function template(readable: 'a' | 'b', round: number): Template {
    return synthesize((stack) => {
      const fn = probeFunction(stack);
      const secrets = {
        a: new secretsmanager.Secret(stack, 'A', { secretName: names.a }),
        b: new secretsmanager.Secret(stack, 'B', { secretName: names.b }),
      };
      const policy = new iam.Policy(stack, 'Access', {
        roles: [fn.role!],
        statements: [new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secrets[readable].secretArn] })],
      });
      (policy.node.defaultChild as CfnElement).overrideLogicalId('Access');
      for (const [id, reads] of [['BeforeA', 'a'], ['BeforeB', 'b'], ['AfterA', 'a'], ['AfterB', 'b']] as const) {
        const r = probeResource(stack, id, fn, { ReadSecret: secrets[reads].secretArn, Round: round });
        (r.node.defaultChild as CfnResource).overrideLogicalId(id);
        if (id.startsWith('Before')) (policy.node.defaultChild as CfnResource).addDependency(r.node.defaultChild as CfnResource);
        else r.node.addDependency(policy);
      }
    }, 'Iam');
  }

  test('a policy update takes effect when CloudFormation reaches the policy: before it the old permissions hold, after it the new ones', async () => {
    expect((await e.model.createStack('Iam', template('a', 1))).status).toBe('CREATE_COMPLETE');
    const from = e.logs.lines.length;
    expect((await e.model.updateStack('Iam', template('b', 2))).status).toBe('UPDATE_COMPLETE');
    const reads = Object.fromEntries(probeLines(e.logs, from).map((l) => [l.logicalId, l.read]));
    expect(reads).toEqual({ BeforeA: 'allowed', BeforeB: 'AccessDeniedException', AfterA: 'AccessDeniedException', AfterB: 'allowed' });
  });

  test('a denied call is answered as AWS answers it, and the SDK reads it as AccessDeniedException', async () => {
    const fnArn = e.model.stack('Iam').resources.get(e.model.logicalIdsOf('Iam', 'AWS::Lambda::Function')[0])!.attributes.Arn as string;
    const asFunction = new SecretsManagerClient({
      endpoint: e.iamProxy.url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: accessKeyOf(fnArn), secretAccessKey: 'x' },
    });
    try {
      const arnA = (await e.sm.send(new DescribeSecretCommand({ SecretId: names.a }))).ARN!;
      const denied = await asFunction.send(new GetSecretValueCommand({ SecretId: arnA })).catch((err: Error) => err);
      expect(denied).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
      const role = e.model.physicalId('Iam', e.model.logicalIdsOf('Iam', 'AWS::IAM::Role')[0]);
      const fnName = fnArn.split(':').pop();
      expect((denied as Error).message).toBe(`User: arn:aws:sts::123456789012:assumed-role/${role}/${fnName} is not authorized to perform: `
        + `secretsmanager:GetSecretValue on resource: ${arnA} because no identity-based policy allows the secretsmanager:GetSecretValue action`);
      // By name: IAM still evaluates the secret's full ARN.
      expect((await asFunction.send(new GetSecretValueCommand({ SecretId: names.b }))).Name).toBe(names.b);
    } finally {
      asFunction.destroy();
    }
  });

  test('a key that names no function is refused', async () => {
    const stranger = new SecretsManagerClient({ endpoint: e.iamProxy.url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'AKIASTRANGER', secretAccessKey: 'x' } });
    try {
      await expect(stranger.send(new GetSecretValueCommand({ SecretId: names.a }))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
    } finally {
      stranger.destroy();
    }
  });
});
