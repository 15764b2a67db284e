import { PolicyDocument, PolicyStatement, statementsOf } from './iam-policy';

/**
 * Every role's policies as the model last applied them: a role's inline `Policies` change when the AWS::IAM::Role is
 * created or updated, an AWS::IAM::Policy's document when that resource is. The effective policy of a role therefore
 * changes exactly when CloudFormation reaches the IAM resource in its order, as the rotation function sees on AWS
 * (apart from IAM's propagation delay, which the model leaves out).
 */
export class IamState {
  private readonly roles = new Map<string, Map<string, PolicyDocument>>();
  /** AWS::IAM::Policy / ManagedPolicy resources by physical id: their document and the roles they are attached to. */
  private readonly policies = new Map<string, { roles: string[]; document: PolicyDocument }>();
  /** What changed, in order, for a failing test's message. */
  public readonly history: string[] = [];

  public putRole(roleName: string, inline: Array<{ PolicyName: string; PolicyDocument: PolicyDocument }>): void {
    this.roles.set(roleName, new Map(inline.map((p) => [p.PolicyName, p.PolicyDocument])));
    this.history.push(`role ${roleName}: ${inline.length} inline policies`);
  }

  public deleteRole(roleName: string): void {
    this.roles.delete(roleName);
    this.history.push(`role ${roleName} deleted`);
  }

  public putPolicy(policyId: string, roles: string[], document: PolicyDocument): void {
    this.policies.set(policyId, { roles, document });
    this.history.push(`policy ${policyId} on ${roles.join(', ')}: ${statementsOf(document).length} statements`);
  }

  public deletePolicy(policyId: string): void {
    this.policies.delete(policyId);
    this.history.push(`policy ${policyId} deleted`);
  }

  public roleExists(roleName: string): boolean {
    return this.roles.has(roleName);
  }

  /** The role's effective identity policy: its inline policies and every policy attached to it. */
  public statementsOf(roleName: string): PolicyStatement[] {
    const inline = [...(this.roles.get(roleName)?.values() ?? [])];
    const attached = [...this.policies.values()].filter((p) => p.roles.includes(roleName)).map((p) => p.document);
    return [...inline, ...attached].flatMap(statementsOf);
  }
}
