import type { Stack, StackResource } from './stack';

/**
 * What a resource type does when CloudFormation creates, updates or deletes it. One provider per type (providers.ts);
 * a provider throws ResourceFailure to fail the resource, and CloudFormation's phases (stack-operations.ts) decide
 * what follows.
 */
export interface ResourceRequest {
  readonly stack: Stack;
  readonly logicalId: string;
  readonly type: string;
  /** Resolved properties: the new ones on Update. */
  readonly properties: Record<string, unknown>;
  /** On Update and Delete. */
  readonly physicalId?: string;
  /** On Update: the properties the resource had. */
  readonly oldProperties?: Record<string, unknown>;
  /** The phase CloudFormation is in (the stack's status), e.g. to tell an update from its rollback. */
  readonly phase: Stack['status'];
}

export interface ProviderResult {
  readonly physicalId: string;
  readonly attributes?: Record<string, unknown>;
  /**
   * Work the service does after CloudFormation counts the resource complete, without CloudFormation waiting for it
   * (a rotation started by a RotationSchedule). The engine runs it when the rotation timing says.
   */
  readonly afterComplete?: () => Promise<void>;
}

export class ResourceFailure extends Error {
  /**
   * `physicalId`: the physical id the resource has anyway (a custom resource that answered FAILED on Create names one).
   * `refused`: CloudFormation refused the change before anything ran (nothing to roll back).
   */
  constructor(message: string, public readonly physicalId?: string, public readonly refused = false) {
    super(message);
    this.name = 'ResourceFailure';
  }
}

export interface ResourceProvider {
  create(request: ResourceRequest): Promise<ProviderResult>;
  /** Returning another physical id than the request's is a replacement (custom resources do that). */
  update(request: ResourceRequest): Promise<ProviderResult>;
  delete(request: ResourceRequest): Promise<void>;
  /** Whether a change of these properties makes CloudFormation create a new physical resource. */
  replaces?(oldProperties: Record<string, unknown>, newProperties: Record<string, unknown>): boolean;
  /** What Ref gives; the physical id when absent. */
  ref?(resource: StackResource): unknown;
}
