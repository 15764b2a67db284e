import { randomUUID } from 'node:crypto';
import type { Environment } from './resource-names';
import type { DeletionPolicy, Template } from './template';

/**
 * One stack's state as CloudFormation keeps it: its status, its current template, and one entry per logical id with
 * the physical id, resolved properties and status of what the stack holds now. The engine changes it; the
 * CloudFormation API stand-in shows it to the function as it changes.
 */
export type StackStatus =
  | 'CREATE_IN_PROGRESS' | 'CREATE_COMPLETE' | 'CREATE_FAILED'
  | 'ROLLBACK_IN_PROGRESS' | 'ROLLBACK_COMPLETE' | 'ROLLBACK_FAILED'
  | 'UPDATE_IN_PROGRESS' | 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS' | 'UPDATE_COMPLETE'
  | 'UPDATE_ROLLBACK_IN_PROGRESS' | 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS' | 'UPDATE_ROLLBACK_COMPLETE' | 'UPDATE_ROLLBACK_FAILED'
  | 'DELETE_IN_PROGRESS' | 'DELETE_COMPLETE' | 'DELETE_FAILED';

export type ResourceStatus =
  | 'CREATE_IN_PROGRESS' | 'CREATE_COMPLETE' | 'CREATE_FAILED'
  | 'UPDATE_IN_PROGRESS' | 'UPDATE_COMPLETE' | 'UPDATE_FAILED'
  | 'DELETE_IN_PROGRESS' | 'DELETE_COMPLETE' | 'DELETE_FAILED' | 'DELETE_SKIPPED';

export interface StackResource {
  readonly logicalId: string;
  readonly type: string;
  physicalId: string;
  /** Resolved: what the provider (or the custom resource's handler) got. */
  properties: Record<string, unknown>;
  /** What Fn::GetAtt reads: the provider's attributes, or a custom resource's Data. */
  attributes: Record<string, unknown>;
  status: ResourceStatus;
  statusReason?: string;
  lastUpdated: Date;
  deletionPolicy?: DeletionPolicy;
  updateReplacePolicy?: DeletionPolicy;
  /** The operation that created this physical resource (RetainExceptOnCreate deletes only on its rollback). */
  createdInOperation: number;
}

export interface StackEvent {
  readonly timestamp: Date;
  readonly logicalId: string;
  readonly physicalId: string;
  readonly type: string;
  readonly status: ResourceStatus | StackStatus;
  readonly reason?: string;
  /** The stack's status when it happened. */
  readonly stackStatus: StackStatus;
}

export class Stack {
  public readonly id: string;
  public status: StackStatus = 'CREATE_IN_PROGRESS';
  public statusReason?: string;
  /** What GetTemplate answers: the template of the operation in progress, or the one the stack went back to. */
  public template: Template = { Resources: {} };
  public readonly resources = new Map<string, StackResource>();
  public readonly events: StackEvent[] = [];
  public readonly creationTime = new Date();
  public lastUpdatedTime?: Date;
  public deletionTime?: Date;
  /** Counts operations (create = 1); resources remember the one that created them. */
  public operation = 0;

  constructor(public readonly name: string, public readonly env: Environment) {
    this.id = `arn:${env.partition}:cloudformation:${env.region}:${env.account}:stack/${name}/${randomUUID()}`;
  }

  public setStatus(status: StackStatus, reason?: string): void {
    this.status = status;
    this.statusReason = reason;
    // As DescribeStacks shows them: when the last update and the deletion began (CloudFormation's operation clock).
    if (status === 'UPDATE_IN_PROGRESS') this.lastUpdatedTime = new Date();
    if (status === 'DELETE_IN_PROGRESS') this.deletionTime = new Date();
    this.events.push({ timestamp: new Date(), logicalId: this.name, physicalId: this.id, type: 'AWS::CloudFormation::Stack', status, reason, stackStatus: status });
  }

  public setResourceStatus(resource: StackResource, status: ResourceStatus, reason?: string): void {
    resource.status = status;
    resource.statusReason = reason;
    resource.lastUpdated = new Date();
    this.addEvent(resource, status, reason);
  }

  /** An event about a physical resource the stack no longer lists (the old one of a replacement). */
  public addEvent(resource: Pick<StackResource, 'logicalId' | 'physicalId' | 'type'>, status: ResourceStatus, reason?: string): void {
    this.events.push({
      timestamp: new Date(),
      logicalId: resource.logicalId,
      physicalId: resource.physicalId,
      type: resource.type,
      status,
      reason,
      stackStatus: this.status,
    });
  }

  /** The events as `<logical id> <status>` lines, for a failing test's message. */
  public eventLines(from = 0): string[] {
    return this.events.slice(from).map((e) => `${e.stackStatus.padEnd(45)} ${e.logicalId} ${e.status}${e.reason ? ` (${e.reason})` : ''}`);
  }
}
