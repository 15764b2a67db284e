import { CfnResource, CustomResource, Duration, IResolvable, Lazy, RemovalPolicy, aws_lambda as lambda } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';

interface TeardownEntry {
  readonly Arn: string;
}

/**
 * One custom resource per rotation function, served by that function: it lists the secrets the function rotates, and
 * when CloudFormation deletes one of them (a stack deletion, an update's cleanup, a rollback's cleanup) the function
 * revokes its tokens (lambda/teardown.ts). The list only says which secrets to look at: whether CloudFormation deletes
 * a secret, and with which policy, the function reads from CloudFormation itself, never from these properties.
 *
 * Ordering: the resource depends on the secrets and on the function's role; every rotation schedule of its secrets
 * depends on it. So it exists before the first rotation can mint a token (a failed create rolls back through its
 * Delete), and on a stack deletion the schedules go first (no new rotation starts), then this resource, while the
 * secrets, the function and its role still exist.
 */
export class TokenTeardown extends Construct {
  /** How long CloudFormation waits for the answer before it fails the request (its own default is an hour). */
  public static readonly SERVICE_TIMEOUT = Duration.minutes(15);

  private readonly secrets: TeardownEntry[] = [];
  /** The CloudFormation resource; rotation schedules and other teardowns order themselves on it. */
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, fn: lambda.IFunction, role: IConstruct) {
    super(scope, id);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::AstraTokenTeardown',
      properties: { Secrets: Lazy.any({ produce: (): IResolvable | TeardownEntry[] => this.secrets }) },
      removalPolicy: RemovalPolicy.DESTROY,
      serviceTimeout: TokenTeardown.SERVICE_TIMEOUT,
    });
    // The function reads the secrets and the stack with its role's policy when it revokes: the policy must outlast this.
    this.resource.node.addDependency(role);
  }

  /** A secret this function rotates; its schedule waits for this resource. */
  public addSecret(secretArn: string, schedule: IConstruct): void {
    this.secrets.push({ Arn: secretArn });
    schedule.node.addDependency(this.resource);
  }

  /**
   * This function's secrets are minted by a secret of `other`'s function: on a deletion, this teardown must revoke
   * them while that admin's token still works, so it goes first (it depends on the other).
   */
  public revokesBefore(other: TokenTeardown): void {
    if (other !== this) this.resource.node.addDependency(other.resource);
  }
}

/**
 * The policy the template will carry for a resource (`DeletionPolicy` or `UpdateReplacePolicy`), whatever set it: the
 * removal policy prop, `applyRemovalPolicy`, an aspect such as `RemovalPolicies`, or a raw `addOverride`. Read when
 * the template is rendered, after aspects have run. CloudFormation's default for a secret is Delete.
 */
export function renderedPolicy(resource: CfnResource, attribute: 'DeletionPolicy' | 'UpdateReplacePolicy'): string {
  // aws-cdk-lib keeps raw overrides in a private field and merges them last; they win over cfnOptions, as here.
  const overrides = (resource as unknown as { rawOverrides?: Record<string, unknown> }).rawOverrides;
  const overridden = overrides?.[attribute];
  if (typeof overridden === 'string') return overridden;
  const option = attribute === 'DeletionPolicy' ? resource.cfnOptions.deletionPolicy : resource.cfnOptions.updateReplacePolicy;
  return option ?? 'Delete';
}
