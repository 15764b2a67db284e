/**
 * A CloudFormation template as CDK synthesizes it, read as CloudFormation reads it: the resources (with the
 * attributes CloudFormation itself acts on), the parameters, conditions and mappings the intrinsics need. The model
 * never takes hand-written templates; tests synthesize them (see synth.ts).
 */

export type DeletionPolicy = 'Delete' | 'Retain' | 'RetainExceptOnCreate' | 'Snapshot';

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: DeletionPolicy;
  readonly UpdateReplacePolicy?: DeletionPolicy;
  readonly Condition?: string;
  readonly Metadata?: unknown;
}

export interface TemplateParameter {
  readonly Type: string;
  readonly Default?: unknown;
}

export interface Template {
  readonly Resources: Record<string, TemplateResource>;
  readonly Parameters?: Record<string, TemplateParameter>;
  readonly Conditions?: Record<string, unknown>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  readonly Outputs?: Record<string, unknown>;
  readonly Rules?: Record<string, unknown>;
}

/** `Custom::<Name>` and `AWS::CloudFormation::CustomResource`: CloudFormation sends these to their ServiceToken. */
export function isCustomResourceType(type: string): boolean {
  return type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';
}

/** DependsOn as CloudFormation accepts it: one logical id or a list. */
export function explicitDependencies(resource: TemplateResource): string[] {
  const d = resource.DependsOn;
  if (d === undefined) return [];
  return Array.isArray(d) ? [...d] : [d];
}

/** Retain and Snapshot keep the physical resource when it leaves the stack; Delete (the default) deletes it. */
export function keepsOnRemoval(policy: DeletionPolicy | undefined, createdInThisOperation: boolean): boolean {
  if (policy === 'Retain' || policy === 'Snapshot') return true;
  // "RetainExceptOnCreate": deleted when the operation that created it rolls back, retained otherwise.
  if (policy === 'RetainExceptOnCreate') return !createdInThisOperation;
  return false;
}

/** A deep copy that can be changed without touching the test's template. */
export function copyTemplate(template: Template): Template {
  return JSON.parse(JSON.stringify(template)) as Template;
}
