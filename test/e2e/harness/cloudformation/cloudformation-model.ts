import type { StackDirectory } from './cloudformation-api';
import { FailurePlan, InjectedFailure } from './failure-plan';
import type { FunctionDefinition } from './function-fleet';
import { accessKeyOf } from './function-fleet';
import type { CallerIdentity } from './iam-proxy';
import type { ModelServices, RotationRecord } from './model-services';
import { ProviderTable } from './providers';
import { roleNameOf } from './resource-names';
import { RotationRunner } from './rotation-runner';
import { Stack } from './stack';
import { OperationResult, StackOperations } from './stack-operations';
import type { Template } from './template';

/**
 * The CloudFormation the tests deploy to: stacks made from synthesized templates, operated phase by phase
 * (stack-operations.ts), with the resource providers of providers.ts. It is also what the stand-ins ask: the
 * CloudFormation API reads its stacks, the IAM proxy its functions' roles, the function fleet its functions.
 */
export class CloudFormationModel implements StackDirectory {
  public readonly failures = new FailurePlan();
  public readonly rotations: RotationRunner;
  private readonly all: Stack[] = [];
  private readonly operations: StackOperations;

  constructor(public readonly services: ModelServices) {
    this.rotations = new RotationRunner(services);
    this.operations = new StackOperations(services, new ProviderTable(services, this.rotations), this.failures);
  }

  public get options() {
    return this.services.options;
  }

  public stacks(): readonly Stack[] {
    return this.all;
  }

  /** The live stack of that name. */
  public stack(name: string): Stack {
    const stack = this.all.find((s) => s.name === name && s.status !== 'DELETE_COMPLETE');
    if (!stack) throw new Error(`no stack ${name}`);
    return stack;
  }

  public async createStack(name: string, template: Template): Promise<OperationResult> {
    if (this.all.some((s) => s.name === name && s.status !== 'DELETE_COMPLETE')) throw new Error(`Stack [${name}] already exists`);
    const stack = new Stack(name, this.services.env);
    this.all.push(stack);
    return this.operations.create(stack, template);
  }

  public async updateStack(name: string, template: Template): Promise<OperationResult> {
    return this.operations.update(this.stack(name), template);
  }

  public async deleteStack(name: string): Promise<OperationResult> {
    return this.operations.delete(this.stack(name));
  }

  /** A failure in the next operation (see failure-plan.ts). */
  public failNext(failure: InjectedFailure): void {
    this.failures.arm(failure);
  }

  /** Rotations waiting for their moment, the `manual` ones included. */
  public runPendingRotations(): Promise<void> {
    return this.operations.runPending('all');
  }

  /** A rotation on the secret's schedule (Secrets Manager's, not CloudFormation's), through the function it names. */
  public rotate(secretArn: string): Promise<RotationRecord> {
    return this.rotations.rotateNow(secretArn, 'scheduled rotation');
  }

  /** The physical id of a stack's resource now. */
  public physicalId(stackName: string, logicalId: string): string {
    const r = this.stack(stackName).resources.get(logicalId);
    if (!r) throw new Error(`no resource ${logicalId} in ${stackName}`);
    return r.physicalId;
  }

  /** The logical ids of a stack's resources of a type, in template order. */
  public logicalIdsOf(stackName: string, type: string): string[] {
    return [...this.stack(stackName).resources.values()].filter((r) => r.type === type).map((r) => r.logicalId);
  }

  /** A Lambda function some live stack holds now, by its ARN. */
  public functionDefinition(functionArn: string): FunctionDefinition | undefined {
    for (const stack of this.all) {
      if (stack.status === 'DELETE_COMPLETE') continue;
      for (const r of stack.resources.values()) {
        if (r.type !== 'AWS::Lambda::Function' || r.attributes.Arn !== functionArn) continue;
        if (r.status === 'DELETE_COMPLETE' || r.status === 'DELETE_SKIPPED') continue;
        return { arn: functionArn, name: r.physicalId, properties: r.properties };
      }
    }
    return undefined;
  }

  /** The IAM proxy's question: whose key is this, and what may that role do now? */
  public identify(accessKeyId: string): CallerIdentity | undefined {
    for (const stack of this.all) {
      for (const r of stack.resources.values()) {
        if (r.type !== 'AWS::Lambda::Function' || typeof r.attributes.Arn !== 'string' || accessKeyOf(r.attributes.Arn) !== accessKeyId) continue;
        const role = roleNameOf(String(r.properties.Role ?? ''));
        return {
          principalArn: `arn:${this.services.env.partition}:sts::${this.services.env.account}:assumed-role/${role}/${r.physicalId}`,
          statements: this.services.iam.statementsOf(role),
        };
      }
    }
    return undefined;
  }
}
