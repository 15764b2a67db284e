import {
  Aws, CfnCondition, CfnElement, CfnMapping, CfnParameter, CfnResource, Fn, RemovalPolicy, Stack,
  aws_iam as iam, aws_lambda as lambda, aws_logs as logs, aws_secretsmanager as secretsmanager,
} from 'aws-cdk-lib';
import { CloudFormationModel } from './cloudformation-model';
import { creationOrder, dependencyGraph, referencedResources } from './dependencies';
import { IamState } from './iam-state';
import { DEFAULT_MODEL_OPTIONS, ModelServices } from './model-services';
import { MODEL_ENVIRONMENT } from './resource-names';
import { SecretLedger } from './secret-ledger';
import { synthesize } from './synth';
import { AstraTokenSecret } from '../../../../src';

const ROLE_ID = '5f4b2c1e-9d8a-4b3c-8e7f-0a1b2c3d4e5f';
const ADMIN_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-AbCdEf';

/** The model with providers that need no server: IAM, Lambda and no-op resources only. */
function offlineModel(): CloudFormationModel {
  const services: ModelServices = {
    env: MODEL_ENVIRONMENT,
    sm: undefined as never,
    fleet: undefined as never,
    recorder: undefined as never,
    iam: new IamState(),
    ledger: new SecretLedger(),
    deletions: undefined as never,
    options: { ...DEFAULT_MODEL_OPTIONS },
    exchanges: [],
    rotations: [],
    violations: [],
  };
  return new CloudFormationModel(services);
}

const logicalId = (c: { node: { defaultChild?: unknown } } | CfnElement) =>
  Stack.of(c as CfnElement).getLogicalId((c instanceof CfnElement ? c : (c as { node: { defaultChild: CfnElement } }).node.defaultChild));

/** A no-op resource holding whatever properties a test wants resolved. */
function holder(stack: Stack, id: string, properties: Record<string, unknown>): CfnResource {
  const r = new CfnResource(stack, id, { type: 'AWS::SSM::Parameter', properties });
  r.overrideLogicalId(id);
  return r;
}

describe('dependency order', () => {
  const ids: Record<string, string> = {};
  const template = synthesize((stack) => {
    const admin = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', ADMIN_ARN);
    const a = new AstraTokenSecret(stack, 'A', { roleId: ROLE_ID, adminSecret: admin });
    const b = new AstraTokenSecret(stack, 'B', { roleId: ROLE_ID });
    ids.secretA = logicalId(a.secret as secretsmanager.Secret);
    ids.scheduleA = stack.getLogicalId(a.rotationSchedule);
    ids.scheduleB = stack.getLogicalId(b.rotationSchedule);
  });
  const find = (type: string) => Object.keys(template.Resources).filter((id) => template.Resources[id].Type === type);
  const [role] = find('AWS::IAM::Role');
  const [policy] = find('AWS::IAM::Policy');
  const [fn] = find('AWS::Lambda::Function');
  const [permission] = find('AWS::Lambda::Permission');
  const [teardown] = find('Custom::AstraTokenTeardown');

  test('an AstraTokenSecret stack: every resource after what it refers to or DependsOn names', () => {
    const order = creationOrder(dependencyGraph(template));
    const before = (a: string, b: string) => expect([a, order.indexOf(a) < order.indexOf(b), b]).toEqual([a, true, b]);
    before(ids.secretA, ids.scheduleA);
    before(role, policy);
    before(policy, fn);
    before(fn, permission);
    before(permission, ids.scheduleA);
    // The teardown exists before any rotation can mint (src/token-teardown.ts).
    for (const schedule of [ids.scheduleA, ids.scheduleB]) before(teardown, schedule);
    before(policy, teardown);
    expect(new Set(order)).toEqual(new Set(Object.keys(template.Resources)));
  });

  test('both tie-breaks respect every dependency, and they differ for independent resources', () => {
    const graph = dependencyGraph(template);
    const forward = creationOrder(graph, 'template');
    const reverse = creationOrder(graph, 'reverse-template');
    expect(reverse).not.toEqual(forward);
    for (const order of [forward, reverse]) {
      for (const [id, deps] of graph) for (const d of deps) expect([d, order.indexOf(d) < order.indexOf(id), id]).toEqual([d, true, id]);
    }
  });

  test('Fn::Sub: ${X} and ${X.Attr} are dependencies, a variable map\'s own names, ${!X} and pseudo parameters are not', () => {
    const t = synthesize((stack) => {
      holder(stack, 'Target', {});
      holder(stack, 'Other', {});
      holder(stack, 'Third', {});
      holder(stack, 'User', {
        A: Fn.sub('${Target}/${Other.Arn}/${!Third}/${AWS::Region}'),
        B: Fn.sub('${Third}', { Third: 'a literal' }),
      });
    });
    expect(referencedResources(t.Resources.User.Properties, new Set(Object.keys(t.Resources)))).toEqual(new Set(['Target', 'Other']));
  });

  test('a dependency cycle is refused, as CloudFormation refuses it', () => {
    const t = synthesize((stack) => {
      const a = holder(stack, 'A', {});
      const b = holder(stack, 'B', {});
      a.addDependency(b);
      b.addDependency(a);
    });
    expect(() => creationOrder(dependencyGraph(t))).toThrow(/Circular dependency between resources: \[A, B\]/);
  });
});

describe('intrinsics, resolved through the engine against the stack it builds', () => {
  test('pseudo parameters, Ref and Fn::GetAtt of resources, Join, Sub, Select, Split, If, FindInMap, NoValue, parameters', async () => {
    const model = offlineModel();
    const template = synthesize((stack) => {
      const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      const fn = new lambda.Function(stack, 'Fn', { code: lambda.Code.fromInline('exports.handler = async () => {}'), handler: 'index.handler', runtime: lambda.Runtime.NODEJS_20_X, role });
      const inUsEast1 = new CfnCondition(stack, 'InUsEast1', { expression: Fn.conditionEquals(Aws.REGION, 'us-east-1') });
      const never = new CfnCondition(stack, 'Never', { expression: Fn.conditionEquals(Aws.REGION, 'mars-1') });
      const sizes = new CfnMapping(stack, 'Sizes', { mapping: { 'us-east-1': { Size: 'large' } } });
      const withDefault = new CfnParameter(stack, 'WithDefault', { type: 'String', default: 'the default' });
      const fromSsm = new CfnParameter(stack, 'FromSsm', { type: 'AWS::SSM::Parameter::Value<String>', default: '/some/parameter' });
      const roleId = logicalId(role);
      holder(stack, 'Resolved', {
        Region: Aws.REGION,
        Account: Aws.ACCOUNT_ID,
        Partition: Aws.PARTITION,
        UrlSuffix: Aws.URL_SUFFIX,
        StackName: Aws.STACK_NAME,
        StackId: Aws.STACK_ID,
        Gone: Aws.NO_VALUE,
        RoleName: role.roleName,
        RoleArn: role.roleArn,
        FunctionName: fn.functionName,
        FunctionArn: fn.functionArn,
        Joined: Fn.join('-', ['a', Aws.REGION, fn.functionName]),
        Sub: Fn.sub(`\${AWS::AccountId}|\${${roleId}}|\${${roleId}.Arn}|\${!Literal}|\${Var}`, { Var: 'v' }),
        Selected: Fn.select(1, Fn.split(',', 'x,y,z')),
        Conditional: Fn.conditionIf(inUsEast1.logicalId, 'yes', 'no'),
        Mapped: sizes.findInMap('us-east-1', 'Size'),
        Parameters: [withDefault.valueAsString, fromSsm.valueAsString],
        Unknown: Fn.getAtt(roleId, 'SomethingElse'),
      });
      const skipped = holder(stack, 'OnlyOnMars', {});
      skipped.cfnOptions.condition = never;
    }, 'Intrinsics');
    const result = await model.createStack('Intrinsics', template);
    expect(result.status).toBe('CREATE_COMPLETE');
    const stack = model.stack('Intrinsics');
    const fnName = model.physicalId('Intrinsics', Object.keys(template.Resources).find((id) => template.Resources[id].Type === 'AWS::Lambda::Function')!);
    const roleName = model.physicalId('Intrinsics', Object.keys(template.Resources).find((id) => template.Resources[id].Type === 'AWS::IAM::Role')!);
    const roleArn = `arn:aws:iam::123456789012:role/${roleName}`;
    expect(stack.resources.get('Resolved')!.properties).toEqual({
      Region: 'us-east-1',
      Account: '123456789012',
      Partition: 'aws',
      UrlSuffix: 'amazonaws.com',
      StackName: 'Intrinsics',
      StackId: stack.id,
      RoleName: roleName,
      RoleArn: roleArn,
      FunctionName: fnName,
      FunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${fnName}`,
      Joined: `a-us-east-1-${fnName}`,
      Sub: `123456789012|${roleName}|${roleArn}|\${Literal}|v`,
      Selected: 'y',
      Conditional: 'yes',
      Mapped: 'large',
      Parameters: ['the default', 'ssm-placeholder-for-FromSsm'],
      Unknown: `${roleName}.SomethingElse`,
    });
    expect(stack.resources.has('OnlyOnMars')).toBe(false);
    // Generated names are CloudFormation-shaped and deterministic: <stack>-<logical id>-<12 characters>.
    expect(fnName).toMatch(/^Intrinsics-Fn[0-9A-F]{8}-[A-Z0-9]{12}$/);
  });
});

describe('phases, offline (no-op resources)', () => {
  // Kept, First, Second, Extra in creation order (Kept and First are independent: template order decides).
  const base = (withExtra: boolean, value = 'v1') => synthesize((stack) => {
    const kept = new logs.LogGroup(stack, 'Kept', { removalPolicy: RemovalPolicy.RETAIN });
    (kept.node.defaultChild as CfnElement).overrideLogicalId('Kept');
    const first = holder(stack, 'First', { Value: value });
    const second = holder(stack, 'Second', { Uses: first.ref });
    if (withExtra) holder(stack, 'Extra', { Uses: second.ref });
  }, 'Phases');

  test('create fails at an injected resource: ROLLBACK_IN_PROGRESS deletes what was created, in reverse, Retain kept', async () => {
    const model = offlineModel();
    model.failNext({ logicalId: 'Extra' });
    const result = await model.createStack('Phases', base(true));
    expect(result.status).toBe('ROLLBACK_COMPLETE');
    expect(result.failures).toEqual(['Extra (create): injected failure (at Extra)']);
    const rollback = result.events.filter((e) => e.stackStatus === 'ROLLBACK_IN_PROGRESS' && e.type !== 'AWS::CloudFormation::Stack');
    expect(rollback.map((e) => `${e.logicalId} ${e.status}`)).toEqual([
      'Second DELETE_IN_PROGRESS', 'Second DELETE_COMPLETE', 'First DELETE_IN_PROGRESS', 'First DELETE_COMPLETE', 'Kept DELETE_SKIPPED',
    ]);
    expect([...model.stack('Phases').resources.keys()]).toEqual([]);
  });

  test('"fail after the N-th resource" fails the next one CloudFormation reaches', async () => {
    const model = offlineModel();
    model.failNext({ afterResources: 2 });
    const result = await model.createStack('Phases', base(true));
    expect(result.status).toBe('ROLLBACK_COMPLETE');
    expect(result.failures).toEqual(['Second (create): injected failure (after 2 resources)']);
  });

  test('update: changed resources updated, removed ones deleted only in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, then gone from the stack', async () => {
    const model = offlineModel();
    await model.createStack('Phases', base(true));
    const result = await model.updateStack('Phases', base(false, 'v2'));
    expect(result.status).toBe('UPDATE_COMPLETE');
    expect(result.events.filter((e) => e.type !== 'AWS::CloudFormation::Stack').map((e) => `${e.stackStatus} ${e.logicalId} ${e.status}`)).toEqual([
      'UPDATE_IN_PROGRESS First UPDATE_IN_PROGRESS',
      'UPDATE_IN_PROGRESS First UPDATE_COMPLETE',
      'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS Extra DELETE_IN_PROGRESS',
      'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS Extra DELETE_COMPLETE',
    ]);
    expect([...model.stack('Phases').resources.keys()].sort()).toEqual(['First', 'Kept', 'Second']);
  });

  test('update rollback: in-place updates go back, created resources are deleted in the rollback cleanup, nothing removed was deleted', async () => {
    const model = offlineModel();
    await model.createStack('Phases', base(false));
    model.failNext({ logicalId: 'Extra' });
    // Adds Extra (fails) and changes First; but Extra comes after First, so First was updated first.
    const result = await model.updateStack('Phases', base(true, 'v2'));
    expect(result.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    const lines = result.events.filter((e) => e.type !== 'AWS::CloudFormation::Stack').map((e) => `${e.stackStatus} ${e.logicalId} ${e.status}`);
    expect(lines).toEqual([
      'UPDATE_IN_PROGRESS First UPDATE_IN_PROGRESS',
      'UPDATE_IN_PROGRESS First UPDATE_COMPLETE',
      'UPDATE_IN_PROGRESS Extra CREATE_IN_PROGRESS',
      'UPDATE_IN_PROGRESS Extra CREATE_FAILED',
      'UPDATE_ROLLBACK_IN_PROGRESS First UPDATE_IN_PROGRESS',
      'UPDATE_ROLLBACK_IN_PROGRESS First UPDATE_COMPLETE',
    ]);
    expect(model.stack('Phases').resources.get('First')!.properties).toEqual({ Value: 'v1' });
    expect(model.stack('Phases').template.Resources.Extra).toBeUndefined();
    expect([...model.stack('Phases').resources.keys()].sort()).toEqual(['First', 'Kept', 'Second']);
  });

  test('delete: reverse order, Retain skipped; a failure leaves DELETE_FAILED, keeps what the failed resource needs, and a retry finishes', async () => {
    const model = offlineModel();
    await model.createStack('Phases', base(true));
    model.failNext({ logicalId: 'Second' });
    const failed = await model.deleteStack('Phases');
    expect(failed.status).toBe('DELETE_FAILED');
    expect(failed.events.filter((e) => e.type !== 'AWS::CloudFormation::Stack').map((e) => `${e.logicalId} ${e.status}`)).toEqual([
      'Extra DELETE_IN_PROGRESS', 'Extra DELETE_COMPLETE', 'Second DELETE_IN_PROGRESS', 'Second DELETE_FAILED', 'Kept DELETE_SKIPPED',
    ]);
    expect([...model.stack('Phases').resources.keys()].sort()).toEqual(['First', 'Second']);
    const retried = await model.deleteStack('Phases');
    expect(retried.status).toBe('DELETE_COMPLETE');
    expect(retried.events.filter((e) => e.status === 'DELETE_COMPLETE' && e.type !== 'AWS::CloudFormation::Stack').map((e) => e.logicalId)).toEqual(['Second', 'First']);
  });
});
