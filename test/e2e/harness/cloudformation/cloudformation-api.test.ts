// Not yet in package.json (the lead adds it): installed with --no-save for this test.
// eslint-disable-next-line import/no-extraneous-dependencies
import {
  CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand, GetTemplateCommand,
  ListStackResourcesCommand, paginateListStackResources,
} from '@aws-sdk/client-cloudformation';
import { Aws, CfnResource, aws_iam as iam } from 'aws-cdk-lib';
import { accessKeyOf } from './function-fleet';
import { useLifecycleEnvironment } from './lifecycle-environment';
import { probeFunction } from './probe';
import { synthesize } from './synth';
import type { Template } from './template';

/** The CloudFormation API stand-in, through the real @aws-sdk/client-cloudformation (the AWS query protocol). */
const e = useLifecycleEnvironment({ pageSize: 2 });
let cfn: CloudFormationClient;
beforeAll(() => {
  cfn = new CloudFormationClient({ endpoint: e.cloudFormationApi.url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'AKIATEST', secretAccessKey: 'x' } });
});
afterAll(() => cfn.destroy());

function holders(ids: string[]): Template {
  return synthesize((stack) => {
    for (const id of ids) new CfnResource(stack, id, { type: 'AWS::SSM::Parameter', properties: { Value: id } }).overrideLogicalId(id);
  });
}

test('DescribeStacks, ListStackResources (paginated), DescribeStackResource and GetTemplate answer from the stack as it is', async () => {
  const template = holders(['One', 'Two', 'Three', 'Four', 'Five']);
  await e.model.createStack('Api', template);
  const stack = e.model.stack('Api');

  for (const StackName of ['Api', stack.id]) {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName }));
    expect(Stacks).toEqual([expect.objectContaining({ StackName: 'Api', StackId: stack.id, StackStatus: 'CREATE_COMPLETE', CreationTime: stack.creationTime })]);
  }

  const first = await cfn.send(new ListStackResourcesCommand({ StackName: 'Api' }));
  expect(first.StackResourceSummaries).toHaveLength(2);
  expect(first.NextToken).toBeDefined();
  const all = [];
  for await (const page of paginateListStackResources({ client: cfn }, { StackName: stack.id })) all.push(...page.StackResourceSummaries ?? []);
  expect(all.map((r) => [r.LogicalResourceId, r.ResourceType, r.ResourceStatus])).toEqual(
    ['One', 'Two', 'Three', 'Four', 'Five'].map((id) => [id, 'AWS::SSM::Parameter', 'CREATE_COMPLETE']),
  );
  expect(all[0].PhysicalResourceId).toBe(e.model.physicalId('Api', 'One'));
  expect(all[0].LastUpdatedTimestamp).toBeInstanceOf(Date);

  const { StackResourceDetail } = await cfn.send(new DescribeStackResourceCommand({ StackName: 'Api', LogicalResourceId: 'Three' }));
  expect(StackResourceDetail).toMatchObject({
    StackName: 'Api',
    StackId: stack.id,
    LogicalResourceId: 'Three',
    PhysicalResourceId: e.model.physicalId('Api', 'Three'),
    ResourceType: 'AWS::SSM::Parameter',
    ResourceStatus: 'CREATE_COMPLETE',
  });

  for (const TemplateStage of ['Original', 'Processed'] as const) {
    const got = await cfn.send(new GetTemplateCommand({ StackName: 'Api', TemplateStage }));
    expect(JSON.parse(got.TemplateBody!)).toEqual(template);
    expect(got.StagesAvailable).toEqual(['Original', 'Processed']);
  }
  expect(e.cloudFormationApi.calls.map((c) => c.action)).toEqual(expect.arrayContaining(['DescribeStacks', 'ListStackResources', 'DescribeStackResource', 'GetTemplate']));
});

test('an unknown stack, an unknown resource: ValidationError as AWS answers them', async () => {
  await expect(cfn.send(new DescribeStacksCommand({ StackName: 'Nope' }))).rejects.toMatchObject({
    name: 'ValidationError', message: 'Stack with id Nope does not exist', $metadata: { httpStatusCode: 400 },
  });
  await expect(cfn.send(new ListStackResourcesCommand({ StackName: 'Nope' }))).rejects.toMatchObject({ name: 'ValidationError' });
  await expect(cfn.send(new DescribeStackResourceCommand({ StackName: 'Api', LogicalResourceId: 'Nope' }))).rejects.toMatchObject({
    name: 'ValidationError', message: 'Resource Nope does not exist for stack Api',
  });
});

test('removed resources leave ListStackResources when the update completes; a deleted stack answers by id only, as DELETE_COMPLETE', async () => {
  await e.model.updateStack('Api', holders(['One', 'Two']));
  const listed = [];
  for await (const page of paginateListStackResources({ client: cfn }, { StackName: 'Api' })) listed.push(...page.StackResourceSummaries ?? []);
  expect(listed.map((r) => `${r.LogicalResourceId} ${r.ResourceStatus}`)).toEqual(['One CREATE_COMPLETE', 'Two CREATE_COMPLETE']);
  const { TemplateBody } = await cfn.send(new GetTemplateCommand({ StackName: 'Api' }));
  expect(Object.keys(JSON.parse(TemplateBody!).Resources)).toEqual(['One', 'Two']);

  const id = e.model.stack('Api').id;
  await e.model.deleteStack('Api');
  await expect(cfn.send(new DescribeStacksCommand({ StackName: 'Api' }))).rejects.toMatchObject({ message: 'Stack with id Api does not exist' });
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: id }));
  expect(Stacks![0]).toMatchObject({ StackStatus: 'DELETE_COMPLETE', DeletionTime: expect.any(Date) });
  const calls = e.cloudFormationApi.callsOf('DescribeStacks').slice(-2);
  expect(calls.map((c) => [c.params.StackName, c.error])).toEqual([['Api', 'ValidationError: Stack with id Api does not exist'], [id, undefined]]);
});

test('a model function\'s call is authorized with its role\'s policy: cloudformation:<Action> on the stack\'s ARN, AccessDenied (403) otherwise', async () => {
  await e.model.createStack('Granted', synthesize((stack) => {
    const fn = probeFunction(stack);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: [Aws.STACK_ID] }));
  }, 'Granted'));
  const stack = e.model.stack('Granted');
  const fnArn = [...stack.resources.values()].find((r) => r.type === 'AWS::Lambda::Function')!.attributes.Arn as string;
  const role = [...stack.resources.values()].find((r) => r.type === 'AWS::IAM::Role')!.physicalId;
  const asFunction = new CloudFormationClient({
    endpoint: e.cloudFormationApi.url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: accessKeyOf(fnArn), secretAccessKey: 'x' },
  });
  try {
    expect((await asFunction.send(new DescribeStacksCommand({ StackName: stack.id }))).Stacks![0].StackStatus).toBe('CREATE_COMPLETE');
    await expect(asFunction.send(new ListStackResourcesCommand({ StackName: stack.id }))).rejects.toMatchObject({
      name: 'AccessDenied',
      message: `User: arn:aws:sts::123456789012:assumed-role/${role}/${fnArn.split(':').pop()} is not authorized to perform: cloudformation:ListStackResources `
        + `on resource: ${stack.id} because no identity-based policy allows the cloudformation:ListStackResources action`,
      $metadata: { httpStatusCode: 403 },
    });
    await expect(asFunction.send(new DescribeStacksCommand({ StackName: 'Other' }))).rejects.toMatchObject({ name: 'AccessDenied' });
  } finally {
    asFunction.destroy();
  }
});
