import { CloudFormationClient, DescribeStacksCommand, GetTemplateCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { readStackState } from '../../../lambda/clients/cloudformation';

const STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/S/1';
const cfn = mockClient(CloudFormationClient);
afterEach(() => cfn.reset());
afterAll(() => cfn.restore());
const settings = { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', requestTimeoutMs: 1000 };

test('reads the status, every page of resources and the JSON template, naming the stack by its id each time', async () => {
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackId: STACK_ID, StackName: 'S', StackStatus: 'DELETE_IN_PROGRESS', CreationTime: new Date() }] });
  cfn.on(ListStackResourcesCommand, { StackName: STACK_ID, NextToken: undefined }).resolves({
    StackResourceSummaries: [{ LogicalResourceId: 'A', PhysicalResourceId: 'a', ResourceType: 'T', ResourceStatus: 'DELETE_IN_PROGRESS', LastUpdatedTimestamp: new Date() }],
    NextToken: 'page-2',
  });
  cfn.on(ListStackResourcesCommand, { StackName: STACK_ID, NextToken: 'page-2' }).resolves({
    StackResourceSummaries: [{ LogicalResourceId: 'B', PhysicalResourceId: 'b', ResourceType: 'T', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() }],
  });
  cfn.on(GetTemplateCommand).resolves({ TemplateBody: JSON.stringify({ Resources: { A: { Type: 'T', DeletionPolicy: 'Retain' } } }) });
  const state = await readStackState(STACK_ID, settings);
  expect(state).toEqual({
    stackId: STACK_ID,
    status: 'DELETE_IN_PROGRESS',
    resources: [
      { logicalId: 'A', physicalId: 'a', type: 'T', status: 'DELETE_IN_PROGRESS' },
      { logicalId: 'B', physicalId: 'b', type: 'T', status: 'CREATE_COMPLETE' },
    ],
    template: { Resources: { A: { Type: 'T', DeletionPolicy: 'Retain' } } },
  });
  for (const call of cfn.calls()) expect((call.args[0].input as { StackName: string }).StackName).toBe(STACK_ID);
});

test('a stack without a status, or a template that is not JSON, is a failure: nothing can be decided from it', async () => {
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [] });
  await expect(readStackState(STACK_ID, settings)).rejects.toThrow(/answered no status/);
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackId: STACK_ID, StackName: 'S', StackStatus: 'DELETE_IN_PROGRESS', CreationTime: new Date() }] });
  cfn.on(ListStackResourcesCommand).resolves({});
  cfn.on(GetTemplateCommand).resolves({ TemplateBody: 'Resources:\n  A: {}' });
  await expect(readStackState(STACK_ID, settings)).rejects.toThrow(/is not JSON/);
});
