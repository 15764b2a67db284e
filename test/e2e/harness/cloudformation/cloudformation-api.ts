import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { authorize } from './iam-policy';
import type { CallerIdentity } from './iam-proxy';
import { errorDocument, formParameters, QueryError, resultDocument, XmlValue } from './query-protocol';
import { Environment, MODEL_ENVIRONMENT } from './resource-names';
import type { Stack, StackResource } from './stack';

/** The stacks the stand-in answers about, and who a request's access key belongs to. */
export interface StackDirectory {
  /** Every stack the model has made, deleted ones included (they answer by stack id only). */
  stacks(): readonly Stack[];
  /** A function's key: its role's policy applies (see below). Any other caller (a test's own client) is let through. */
  identify?(accessKeyId: string): CallerIdentity | undefined;
}

/** One call the function made, with the stack's status at that moment. */
export interface RecordedCall {
  readonly action: string;
  readonly params: Record<string, string>;
  readonly stackStatus?: string;
  readonly error?: string;
  /** The calling function's principal, when the access key names one. */
  readonly principalArn?: string;
}

/**
 * A stand-in for the CloudFormation API on loopback, for the function's @aws-sdk/client-cloudformation (its
 * CLOUDFORMATION_ENDPOINT): DescribeStacks, ListStackResources, DescribeStackResource and GetTemplate, answering from
 * the model's live stack state, so that what the function reads during a phase is what CloudFormation would show
 * then. Every call is recorded. Unknown actions answer InvalidAction.
 *
 * A call from a model function is authorized like its Secrets Manager calls (iam-policy.ts): `cloudformation:<Action>`
 * on the stack's ARN (`stack/<name>/*` for a stack that does not exist, `*` for DescribeStacks of all stacks), and a
 * refusal is answered as AWS answers it (HTTP 403, AccessDenied), so a role that lacks the permission fails here too.
 */
export class CloudFormationApi {
  public static async start(directory: StackDirectory, options: { pageSize?: number; env?: Environment } = {}): Promise<CloudFormationApi> {
    const api = new CloudFormationApi(directory, options.pageSize ?? 100, options.env ?? MODEL_ENVIRONMENT);
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  public readonly calls: RecordedCall[] = [];
  private readonly server: Server;

  private constructor(private readonly directory: StackDirectory, private readonly pageSize: number, private readonly env: Environment) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const params = formParameters(Buffer.concat(chunks).toString('utf8'));
        const action = params.Action ?? '';
        const stackStatus = params.StackName ? this.find(params.StackName)?.status : undefined;
        const caller = this.callerOf(req);
        try {
          if (caller) this.authorize(caller, action, params.StackName);
          const body = resultDocument(action, this.answer(action, params));
          this.calls.push({ action, params, stackStatus, principalArn: caller?.principalArn });
          res.writeHead(200, { 'Content-Type': 'text/xml' }).end(body);
        } catch (e) {
          const error = e instanceof QueryError ? e : new QueryError('InternalFailure', (e as Error).message, 500);
          this.calls.push({ action, params, stackStatus, principalArn: caller?.principalArn, error: `${error.code}: ${error.message}` });
          res.writeHead(error.status, { 'Content-Type': 'text/xml' }).end(errorDocument(error.code, error.message, error.status >= 500 ? 'Receiver' : 'Sender'));
        }
      });
    });
  }

  public get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public callsOf(action: string): RecordedCall[] {
    return this.calls.filter((c) => c.action === action);
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private callerOf(req: IncomingMessage): CallerIdentity | undefined {
    const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    return accessKeyId ? this.directory.identify?.(accessKeyId) : undefined;
  }

  private authorize(caller: CallerIdentity, action: string, stackName: string | undefined): void {
    const stack = stackName ? this.find(stackName) : undefined;
    const { partition, region, account } = this.env;
    const resource = stack?.id ?? (stackName
      ? (stackName.startsWith('arn:') ? stackName : `arn:${partition}:cloudformation:${region}:${account}:stack/${stackName}/*`)
      : '*');
    const iamAction = `cloudformation:${action}`;
    const decision = authorize(caller.statements, { action: iamAction, resource, resourceTags: {} });
    if (decision === 'allowed') return;
    const why = decision === 'explicitly-denied' ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${iamAction} action`;
    throw new QueryError('AccessDenied', `User: ${caller.principalArn} is not authorized to perform: ${iamAction} on resource: ${resource} ${why}`, 403);
  }

  private answer(action: string, params: Record<string, string>): Record<string, XmlValue> {
    switch (action) {
      case 'DescribeStacks': {
        const stacks = params.StackName ? [this.stack(params.StackName)] : this.directory.stacks().filter((s) => s.status !== 'DELETE_COMPLETE');
        return { Stacks: stacks.map(stackXml) };
      }
      case 'ListStackResources': {
        const stack = this.stack(params.StackName);
        const all = [...stack.resources.values()];
        const start = params.NextToken ? Number(Buffer.from(params.NextToken, 'base64').toString('utf8')) : 0;
        if (!Number.isInteger(start) || start < 0 || start > all.length) throw new QueryError('ValidationError', 'Invalid NextToken');
        const page = all.slice(start, start + this.pageSize);
        const next = start + page.length < all.length ? Buffer.from(String(start + page.length)).toString('base64') : undefined;
        return { StackResourceSummaries: page.map(summaryXml), NextToken: next };
      }
      case 'DescribeStackResource': {
        const stack = this.stack(params.StackName);
        const resource = stack.resources.get(params.LogicalResourceId ?? '');
        if (!resource) throw new QueryError('ValidationError', `Resource ${params.LogicalResourceId} does not exist for stack ${params.StackName}`);
        return {
          StackResourceDetail: {
            StackName: stack.name, StackId: stack.id, ...summaryXml(resource) as Record<string, XmlValue>,
          },
        };
      }
      case 'GetTemplate': {
        const stack = this.stack(params.StackName);
        // No transforms here: the original and the processed template are the same.
        return { TemplateBody: JSON.stringify(stack.template), StagesAvailable: ['Original', 'Processed'] };
      }
      default:
        throw new QueryError('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  /** By name: the live stack of that name. By stack id: that stack, also once deleted (as CloudFormation keeps it). */
  private find(nameOrId: string): Stack | undefined {
    const stacks = this.directory.stacks();
    if (nameOrId.startsWith('arn:')) return stacks.find((s) => s.id === nameOrId);
    return stacks.find((s) => s.name === nameOrId && s.status !== 'DELETE_COMPLETE');
  }

  private stack(nameOrId: string | undefined): Stack {
    if (!nameOrId) throw new QueryError('ValidationError', '1 validation error detected: Value null at \'stackName\' failed to satisfy constraint: Member must not be null');
    const stack = this.find(nameOrId);
    if (!stack) throw new QueryError('ValidationError', `Stack with id ${nameOrId} does not exist`);
    return stack;
  }
}

function stackXml(stack: Stack): XmlValue {
  return {
    StackId: stack.id,
    StackName: stack.name,
    CreationTime: stack.creationTime,
    LastUpdatedTime: stack.lastUpdatedTime,
    DeletionTime: stack.deletionTime,
    StackStatus: stack.status,
    StackStatusReason: stack.statusReason,
  };
}

function summaryXml(r: StackResource): XmlValue {
  return {
    LogicalResourceId: r.logicalId,
    PhysicalResourceId: r.physicalId || undefined,
    ResourceType: r.type,
    LastUpdatedTimestamp: r.lastUpdated,
    ResourceStatus: r.status,
    ResourceStatusReason: r.statusReason,
  };
}
