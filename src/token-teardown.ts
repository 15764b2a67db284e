import { CustomResource, IResolvable, Lazy, RemovalPolicy, Stack, aws_lambda as lambda } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';

interface TeardownEntry {
  readonly Arn: string;
  readonly Destroy: boolean;
}

/** Per stack: every teardown resource and every rotation schedule, so that each teardown runs after all schedules. */
const registries = new WeakMap<Stack, { teardowns: CustomResource[]; schedules: IConstruct[] }>();

function registryOf(stack: Stack) {
  let registry = registries.get(stack);
  if (!registry) {
    registry = { teardowns: [], schedules: [] };
    registries.set(stack, registry);
  }
  return registry;
}

/**
 * One custom resource per rotation function, served by that function: when a secret it rotates leaves the stack with a
 * destroying removal policy, or the stack is deleted, the function revokes the secret's tokens before the secret goes
 * (lambda/teardown.ts). It lists every secret with its removal policy, so that a retained one is never revoked.
 *
 * Ordering: the resource depends on every rotation schedule of the stack. On a stack deletion it therefore goes first,
 * while secrets, schedules, the function and its role still exist; on an update it is updated after the schedules, so
 * a secret that moved to another rotation function (its settings changed) already names that function and is left
 * alone, while a secret leaving the stack is still there, to be revoked before CloudFormation deletes it.
 */
export class TokenTeardown extends Construct {
  /** Makes every teardown resource of the schedule's stack wait for the schedule. */
  public static orderAfter(schedule: IConstruct): void {
    const registry = registryOf(Stack.of(schedule));
    registry.schedules.push(schedule);
    for (const teardown of registry.teardowns) teardown.node.addDependency(schedule);
  }

  private readonly secrets: TeardownEntry[] = [];
  private readonly resource: CustomResource;

  constructor(scope: Construct, id: string, fn: lambda.IFunction, role: IConstruct) {
    super(scope, id);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::AstraTokenTeardown',
      properties: { Secrets: Lazy.any({ produce: (): IResolvable | TeardownEntry[] => this.secrets }) },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The function reads the secrets with its role's policy at deletion time: the policy must outlast this resource.
    this.resource.node.addDependency(role);
    const registry = registryOf(Stack.of(this));
    registry.teardowns.push(this.resource);
    for (const schedule of registry.schedules) this.resource.node.addDependency(schedule);
  }

  /** A secret this function rotates; `destroy` when its removal policy deletes it (its tokens go with it). */
  public addSecret(secretArn: string, removalPolicy: RemovalPolicy): void {
    this.secrets.push({ Arn: secretArn, Destroy: removalPolicy === RemovalPolicy.DESTROY });
  }
}
