import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { awsClientSettings, cachedClient } from './aws-client-settings';

/** A resource of the stack as CloudFormation lists it now. */
export interface StackResource {
  readonly logicalId: string;
  readonly physicalId?: string;
  readonly type?: string;
  readonly status?: string;
}

/** What the function reads of its stack to confirm an end of life: the operation's phase, resources and template. */
export interface StackState {
  readonly stackId: string;
  readonly status: string;
  /** When the operation in progress began, by CloudFormation's clock (deletion, last update, or creation). */
  readonly operationStartedAt?: Date;
  readonly resources: readonly StackResource[];
  /** The stack's current template: during an update's cleanup the new one, after a rollback the old one again. */
  readonly template: { readonly Resources?: Record<string, TemplateResource> };
}

export interface TemplateResource {
  readonly Type?: string;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Properties?: Record<string, unknown>;
}

const clients = new Map<string, CloudFormationClient>();

/** Reads the stack's state; every call names the stack by its id, the only stack the role may read. */
export async function readStackState(
  stackId: string, settings: { endpoint?: string; region?: string; requestTimeoutMs: number },
): Promise<StackState> {
  const { endpoint, region, requestTimeoutMs } = settings;
  const client = cachedClient(clients, endpoint, region, requestTimeoutMs,
    () => new CloudFormationClient(awsClientSettings(endpoint, region, requestTimeoutMs)));
  const described = await client.send(new DescribeStacksCommand({ StackName: stackId }));
  const stack = described.Stacks?.[0];
  if (!stack?.StackStatus || !stack.StackId) throw new Error(`DescribeStacks answered no status for ${stackId}`);
  const resources: StackResource[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListStackResourcesCommand({ StackName: stackId, NextToken: nextToken }));
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.LogicalResourceId) {
        resources.push({ logicalId: r.LogicalResourceId, physicalId: r.PhysicalResourceId, type: r.ResourceType, status: r.ResourceStatus });
      }
    }
    nextToken = page.NextToken;
  } while (nextToken);
  const template = await client.send(new GetTemplateCommand({ StackName: stackId, TemplateStage: 'Original' }));
  let parsed: StackState['template'];
  try {
    parsed = JSON.parse(template.TemplateBody ?? '');
  } catch {
    throw new Error(`the template of ${stackId} is not JSON (this library's stacks are synthesized as JSON)`);
  }
  const operationStartedAt = stack.StackStatus.startsWith('DELETE') ? stack.DeletionTime
    : stack.StackStatus.startsWith('UPDATE') ? stack.LastUpdatedTime : stack.CreationTime;
  return { stackId: stack.StackId, status: stack.StackStatus, operationStartedAt, resources, template: parsed };
}
