import {
  CfnResource, CustomResource, Duration, IResolvable, Lazy, RemovalPolicy, SecretValue, aws_iam as iam, aws_lambda as lambda,
  aws_secretsmanager as secretsmanager,
} from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { acknowledgeNagFindings } from './nag-acknowledgements';

interface TeardownEntry {
  readonly Arn: string;
}

/**
 * One custom resource per rotation function, served by that function: it lists the secrets the function rotates, and
 * when CloudFormation deletes one of them (a stack deletion, an update's cleanup, a rollback's cleanup) the function
 * revokes its tokens (lambda/teardown/teardown.ts). The list only says which secrets to look at: whether CloudFormation deletes
 * a secret, and with which policy, the function reads from CloudFormation itself, never from these properties.
 *
 * Ordering: the resource depends on the secrets, its escrow and the function's role; every rotation schedule of its
 * secrets depends on it. So it exists before the first rotation can mint a token (a failed create rolls back through
 * its Delete), and on a stack deletion the schedules go first (no new rotation starts), then this resource, while the
 * secrets, the escrow, the function and its role still exist.
 *
 * The escrow is a secret only the function's role writes (its resource policy denies every other writer) and reads: the
 * function deletes a secret CloudFormation is deleting before it revokes its tokens, so that no secret is ever left with
 * a dead token (a stack deletion that fails half-way), and the escrow carries what the revocation needs across that
 * deletion.
 */
export class TokenTeardown extends Construct {
  /** How long CloudFormation waits for the answer before it fails the request (its own default is an hour). */
  public static readonly SERVICE_TIMEOUT = Duration.minutes(15);

  private readonly secrets: TeardownEntry[] = [];
  /** The CloudFormation resource; rotation schedules and other teardowns order themselves on it. */
  public readonly resource: CustomResource;

  /** Holds what revoking a deleted secret's tokens needs until they are revoked (lambda/teardown/escrow.ts). */
  public readonly escrow: secretsmanager.Secret;

  constructor(scope: Construct, id: string, fn: lambda.IFunction, role: iam.Role) {
    super(scope, id);
    this.escrow = new secretsmanager.Secret(this, 'Escrow', {
      description: 'Astra tokens of secrets being deleted, until the rotation function has revoked them (cdk-astra-token-secret)',
      // Not a credential: the function replaces it with its own format on first use.
      secretStringValue: SecretValue.unsafePlainText('{}'),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    role.addToPolicy(new iam.PolicyStatement({
      // UpdateSecretVersionStage makes a write AWSCURRENT only over the version it read (lambda/teardown/escrow.ts).
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
      resources: [this.escrow.secretArn],
    }));
    // An entry decides where a deleted secret's revocation looks for its tokens (which org, with which token): written by
    // anyone but the function (a principal allowed PutSecretValue on every secret, say), it would be a claim read as
    // evidence. CloudFormation writes the escrow only when it creates it, before this policy exists: its properties never
    // change, for an UpdateSecret would be denied too.
    const { policyDependable } = this.escrow.addToResourcePolicy(new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecret', 'secretsmanager:UpdateSecretVersionStage'],
      resources: ['*'],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': role.roleArn } },
    }));
    acknowledgeNagFindings(this.escrow, [{
      id: 'AwsSolutions-SMG4',
      reason: 'Holds other secrets\' tokens only while the function revokes them, and none otherwise: there is no credential of its own to rotate.',
    }]);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::AstraTokenTeardown',
      properties: {
        Secrets: Lazy.any({ produce: (): IResolvable | TeardownEntry[] => this.secrets }),
        // Read by the function from the stack's template, never from the request.
        Escrow: this.escrow.secretArn,
      },
      removalPolicy: RemovalPolicy.DESTROY,
      serviceTimeout: TokenTeardown.SERVICE_TIMEOUT,
    });
    // The function reads the secrets and the stack with its role's policy when it revokes: the policy must outlast this.
    this.resource.node.addDependency(role);
    // Nobody else may write the escrow from before the first entry until after the last Delete has read it.
    if (policyDependable) this.resource.node.addDependency(policyDependable);
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
