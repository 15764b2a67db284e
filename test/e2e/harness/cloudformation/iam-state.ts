import { PolicyDocument, PolicyStatement, statementsOf } from './iam-policy';

/**
 * Every role's policies as the model last applied them: a role's inline `Policies` change when the AWS::IAM::Role is
 * created or updated, an AWS::IAM::Policy's document when that resource is. The effective policy of a role therefore
 * changes exactly when CloudFormation reaches the IAM resource in its order, as the rotation function sees on AWS.
 *
 * IAM's propagation delay is left out by default. `delay()` > 0 holds each change back for that many further resource
 * actions of the engine (Infinity: until the operation ends), so a test can also try the other timing: a handler
 * that runs after the policy resource but still has the old permissions (CLOUDFORMATION.md: "do not rely on either").
 */
export class IamState {
  private readonly roles = new Map<string, Map<string, PolicyDocument>>();
  /** AWS::IAM::Policy / ManagedPolicy resources by physical id: their document and the roles they are attached to. */
  private readonly policies = new Map<string, { roles: string[]; document: PolicyDocument }>();
  private pending: Array<{ due: number; apply: () => void }> = [];
  private clock = 0;
  /** What changed (took effect), in order, for a failing test's message. */
  public readonly history: string[] = [];

  constructor(private readonly delay: () => number = () => 0) {}

  public putRole(roleName: string, inline: Array<{ PolicyName: string; PolicyDocument: PolicyDocument }>): void {
    this.change(`role ${roleName}: ${inline.length} inline policies`, () => this.roles.set(roleName, new Map(inline.map((p) => [p.PolicyName, p.PolicyDocument]))));
  }

  public deleteRole(roleName: string): void {
    this.change(`role ${roleName} deleted`, () => this.roles.delete(roleName));
  }

  public putPolicy(policyId: string, roles: string[], document: PolicyDocument): void {
    this.change(`policy ${policyId} on ${roles.join(', ')}: ${statementsOf(document).length} statements`, () => this.policies.set(policyId, { roles, document }));
  }

  public deletePolicy(policyId: string): void {
    this.change(`policy ${policyId} deleted`, () => this.policies.delete(policyId));
  }

  /** The engine finished a resource action: changes whose delay has passed take effect. */
  public advance(): void {
    this.clock += 1;
    this.applyWhere((p) => p.due <= this.clock);
  }

  /** The operation ended: every held-back change takes effect. */
  public flush(): void {
    this.applyWhere(() => true);
  }

  private change(what: string, apply: () => void): void {
    const delay = this.delay();
    const run = () => {
      apply();
      this.history.push(what);
    };
    if (delay > 0) this.pending.push({ due: this.clock + delay, apply: run });
    else run();
  }

  private applyWhere(ready: (p: { due: number }) => boolean): void {
    const due = this.pending.filter(ready);
    this.pending = this.pending.filter((p) => !due.includes(p));
    for (const p of due) p.apply();
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
