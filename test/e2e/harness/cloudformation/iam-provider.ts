import type { PolicyDocument } from './iam-policy';
import type { ModelServices } from './model-services';
import type { ProviderResult, ResourceProvider, ResourceRequest } from './provider';
import { generatedName, roleArn, roleNameOf, suffixOf } from './resource-names';

type InlinePolicy = { PolicyName: string; PolicyDocument: PolicyDocument };

/** Role names in a policy's `Roles`: names (what Ref gives), or ARNs. */
function roleNames(properties: Record<string, unknown>): string[] {
  return ((properties.Roles as unknown[] | undefined) ?? []).map((r) => roleNameOf(String(r)));
}

/**
 * AWS::IAM::Role: its inline `Policies` become the role's policy in the model's IAM state when CloudFormation creates
 * or updates the role, and go with it. A new RoleName replaces it. Ref is the name; Arn and RoleId are attributes.
 */
export class RoleProvider implements ResourceProvider {
  constructor(private readonly services: ModelServices) {}

  public replaces(oldProperties: Record<string, unknown>, newProperties: Record<string, unknown>): boolean {
    return oldProperties.RoleName !== newProperties.RoleName || oldProperties.Path !== newProperties.Path;
  }

  public async create(request: ResourceRequest): Promise<ProviderResult> {
    const name = typeof request.properties.RoleName === 'string'
      ? request.properties.RoleName
      : generatedName(request.stack.name, request.logicalId, `${request.stack.id}|${request.stack.operation}`);
    return this.put(request, name);
  }

  public async update(request: ResourceRequest): Promise<ProviderResult> {
    return this.put(request, request.physicalId!);
  }

  public async delete(request: ResourceRequest): Promise<void> {
    this.services.iam.deleteRole(request.physicalId!);
  }

  private put(request: ResourceRequest, name: string): ProviderResult {
    this.services.iam.putRole(name, (request.properties.Policies as InlinePolicy[] | undefined) ?? []);
    const path = typeof request.properties.Path === 'string' ? request.properties.Path : '/';
    return { physicalId: name, attributes: { Arn: roleArn(this.services.env, name, path), RoleId: `AROA${suffixOf(name).slice(0, 17)}` } };
  }
}

/**
 * AWS::IAM::Policy (and AWS::IAM::ManagedPolicy through `Roles`): its document applies to the roles it names from the
 * moment CloudFormation creates or updates it, and stops applying when it is deleted.
 */
export class PolicyProvider implements ResourceProvider {
  constructor(private readonly services: ModelServices, private readonly managed: boolean) {}

  public async create(request: ResourceRequest): Promise<ProviderResult> {
    const name = typeof request.properties.ManagedPolicyName === 'string'
      ? request.properties.ManagedPolicyName
      : generatedName(request.stack.name, request.logicalId, `${request.stack.id}|${request.stack.operation}`, 128);
    const physicalId = this.managed ? `arn:${this.services.env.partition}:iam::${this.services.env.account}:policy/${name}` : name;
    return this.put(request, physicalId);
  }

  public async update(request: ResourceRequest): Promise<ProviderResult> {
    return this.put(request, request.physicalId!);
  }

  public async delete(request: ResourceRequest): Promise<void> {
    this.services.iam.deletePolicy(request.physicalId!);
  }

  private put(request: ResourceRequest, physicalId: string): ProviderResult {
    this.services.iam.putPolicy(physicalId, roleNames(request.properties), request.properties.PolicyDocument as PolicyDocument);
    return { physicalId, attributes: this.managed ? { PolicyArn: physicalId } : { Id: physicalId } };
  }
}
