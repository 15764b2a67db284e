import { createHash } from 'crypto';
import * as path from 'path';
import {
  Aws,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  Token,
  aws_ec2 as ec2,
  aws_iam as iam,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_logs as logs,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { acknowledgeNagFindings } from './nag-acknowledgements';
import { acknowledgeRegionalRuntime } from './rotation-runtime';
import { ASTRA_API_URLS } from './shared/astra-api-urls';
import { DELETION_POLICY_TAG } from './shared/secret-tags';
import { TokenTeardown } from './token-teardown';

/** The settings that decide whether two secrets can share one rotation function. */
export interface RotationFunctionSettings {
  readonly astraApiUrl: string;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;
  readonly cloudFormationEndpoint?: ec2.IInterfaceVpcEndpoint;
  readonly logRetention: logs.RetentionDays;
}

// Built by the `bundle:rotation-handler` task before compile; `lib/` and `src/` both sit one level
// below the package root, so the same relative path works from either.
const HANDLER_ASSET = path.join(__dirname, '..', 'assets', 'rotation-handler');

// The stack's regional endpoint in its partition; also the name KMS sees as kms:ViaService.
const REGIONAL_SECRETS_MANAGER_HOST = `secretsmanager.${Aws.REGION}.${Aws.URL_SUFFIX}`;

const SECRET_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
];

/**
 * The rotation Lambda that every AstraTokenSecret in a stack with the same settings shares,
 * with its role, log group and invoke permission.
 */
export class RotationFunction extends Construct {
  /** The stack's shared function for these settings, created on first use. */
  public static forSettings(scope: Construct, settings: RotationFunctionSettings): RotationFunction {
    const stack = Stack.of(scope);
    const id = RotationFunction.idFor(settings);
    const existing = stack.node.tryFindChild(id);
    return existing instanceof RotationFunction ? existing : new RotationFunction(stack, id, settings);
  }

  private static idFor(settings: RotationFunctionSettings): string {
    const key = [
      settings.astraApiUrl,
      settings.vpc?.node.path,
      describeSubnetSelection(settings.vpcSubnets),
      settings.securityGroups?.map((sg) => sg.node.path).join(','),
      settings.secretsManagerEndpoint?.node.path,
      settings.logRetention,
      // Appended only when set, so that the ids of existing functions do not change.
      ...settings.cloudFormationEndpoint ? [settings.cloudFormationEndpoint.node.path] : [],
    ];
    // The common case keeps a readable logical ID; any other settings get a stable hash of them.
    const isDefault = !settings.vpc && !settings.vpcSubnets && !settings.securityGroups
      && !settings.secretsManagerEndpoint && !settings.cloudFormationEndpoint &&
      settings.astraApiUrl === ASTRA_API_URLS.PROD &&
      settings.logRetention === logs.RetentionDays.ONE_YEAR;
    return isDefault ? 'AstraTokenRotation' : `AstraTokenRotation${stableHash(JSON.stringify(key))}`;
  }

  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  private readonly statements = new Map<string, iam.PolicyStatement>();
  /** The invoke permission; rotation schedules depend on it so that it exists before the first rotation. */
  public readonly invokePermission: lambda.CfnPermission;
  /** Revokes the tokens of a secret that leaves the stack (or of every secret, when the stack is deleted). */
  public readonly teardown: TokenTeardown;

  private constructor(scope: Construct, id: string, settings: RotationFunctionSettings) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: settings.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Our own role: lambda.Function would attach AWS-managed policies (basic and VPC execution) with `*` resources.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Rotates DataStax Astra tokens stored by cdk-astra-token-secret',
    });
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
    }));

    const endpointHost = settings.secretsManagerEndpoint instanceof ec2.InterfaceVpcEndpoint
      ? regionalDnsName(settings.secretsManagerEndpoint)
      : REGIONAL_SECRETS_MANAGER_HOST;
    // The teardown reads the stack through CloudFormation: set only for a VPC endpoint, else the SDK's regional one.
    const cloudFormationEndpoint = settings.cloudFormationEndpoint && {
      CLOUDFORMATION_ENDPOINT: `https://${settings.cloudFormationEndpoint instanceof ec2.InterfaceVpcEndpoint
        ? regionalDnsName(settings.cloudFormationEndpoint) : `cloudformation.${Aws.REGION}.${Aws.URL_SUFFIX}`}`,
    };

    if (settings.vpc) {
      this.addVpcNetworkInterfacePermissions(settings.vpc, settings.vpcSubnets);
    }

    // aws-cdk-lib's own answer for the stack's region: an app on a newer aws-cdk-lib gets a newer runtime.
    const runtime = lambda.determineLatestNodeRuntime(this);
    this.function = new lambda.Function(this, 'Function', {
      description: 'Rotates DataStax Astra tokens in Secrets Manager (cdk-astra-token-secret)',
      code: lambda.Code.fromAsset(HANDLER_ASSET),
      handler: 'index.handler',
      runtime,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // Long enough for every Astra call's timeout and retries in one step (see docs/rotation-design.md).
      timeout: Duration.minutes(3),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      vpc: settings.vpc,
      vpcSubnets: settings.vpc ? settings.vpcSubnets : undefined,
      securityGroups: settings.securityGroups,
      environment: {
        SECRETS_MANAGER_ENDPOINT: `https://${endpointHost}`,
        ASTRA_API_URL: settings.astraApiUrl,
        // The teardown acts only for this stack: a request naming another is refused before CloudFormation is asked.
        STACK_ID: Aws.STACK_ID,
        // The function's own deletions of its secrets (the teardown's) raise no alert; a session name alone proves nothing.
        FUNCTION_ROLE_NAME: this.role.roleName,
        ...cloudFormationEndpoint,
      },
    });
    acknowledgeRegionalRuntime(this.function, runtime);

    if (settings.secretsManagerEndpoint) {
      settings.secretsManagerEndpoint.connections.allowDefaultPortFrom(this.function, 'Astra token rotation to Secrets Manager');
    }
    if (settings.cloudFormationEndpoint) {
      settings.cloudFormationEndpoint.connections.allowDefaultPortFrom(this.function, 'Astra token teardown to CloudFormation');
    }
    this.grantEndOfLifeReads();

    // aws-cdk-lib's RotationSchedule grants this with no condition; SourceAccount closes the confused-deputy gap.
    this.invokePermission = new lambda.CfnPermission(this, 'SecretsManagerInvoke', {
      action: 'lambda:InvokeFunction',
      functionName: this.function.functionArn,
      principal: 'secretsmanager.amazonaws.com',
      sourceAccount: Aws.ACCOUNT_ID,
    });

    this.teardown = new TokenTeardown(this, 'TokenTeardown', this.function, this.role);

    if (settings.vpc) {
      const stack = Stack.of(this);
      // cdk-nag names each finding by the resource as it renders it: tokens as <AWS::Region>, literals as they are.
      const rendered = (value: string, pseudo: string) => Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value;
      const ec2Arn = (resource: string) =>
        `Resource::arn:<AWS::Partition>:ec2:${rendered(stack.region, 'Region')}:${rendered(stack.account, 'AccountId')}:${resource}/*`;
      acknowledgeNagFindings(this.role.node.findChild('DefaultPolicy'), [{
        id: 'AwsSolutions-IAM5',
        reason: 'Lambda needs these to attach the function to the VPC: EC2 Describe actions have no resource-level ' +
          'permissions, and network-interface and security-group IDs are chosen by Lambda at run time.',
        appliesTo: ['Resource::*', ec2Arn('network-interface'), ec2Arn('security-group')],
      }]);
    }
  }

  /**
   * What the teardown reads when CloudFormation deletes secrets: the stack's state (its status, resources and template:
   * the evidence, exactly this stack), and the stack's own secrets by CloudFormation's tag, which users cannot write.
   * The tag, not the list of ARNs, because CloudFormation may already have narrowed that list when it deletes a secret
   * in an update's cleanup. Reads only: writes stay on exactly the managed secrets.
   */
  private grantEndOfLifeReads(): void {
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['cloudformation:DescribeStacks', 'cloudformation:ListStackResources', 'cloudformation:GetTemplate'],
      resources: [Aws.STACK_ID],
    }));
    const stackSecrets = `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:*`;
    this.role.addToPolicy(new iam.PolicyStatement({
      // ListSecretVersionIds: a value put over a secret moves its tokens to versions no stage names (lambda/teardown/pushed-out.ts).
      actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:ListSecretVersionIds'],
      resources: [stackSecrets],
      conditions: { StringEquals: { 'secretsmanager:ResourceTag/aws:cloudformation:stack-id': Aws.STACK_ID } },
    }));
    // The teardown deletes a secret CloudFormation is deleting before it revokes its tokens (lambda/teardown/teardown.ts): only
    // secrets of this stack that this construct tagged with their DeletionPolicy.
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['secretsmanager:DeleteSecret'],
      resources: [stackSecrets],
      conditions: {
        StringEquals: { 'secretsmanager:ResourceTag/aws:cloudformation:stack-id': Aws.STACK_ID },
        StringLike: { [`secretsmanager:ResourceTag/${DELETION_POLICY_TAG}`]: '*' },
      },
    }));
    acknowledgeNagFindings(this.role.node.findChild('DefaultPolicy'), [{
      id: 'AwsSolutions-IAM5',
      reason: 'Only secrets that CloudFormation tagged as this stack\'s (aws:cloudformation:stack-id, a tag users cannot write): '
        + 'the teardown must read a secret CloudFormation is deleting after the update has narrowed the ARN list, and deletes '
        + 'only secrets this construct manages (its DeletionPolicy tag), when CloudFormation has committed to deleting them.',
      appliesTo: ['Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:*'],
    }]);
  }

  /** Lets the function rotate the secret (and use its key, through Secrets Manager only). */
  public grantRotation(secretArn: string, key?: kms.IKey): void {
    this.statement('managed', SECRET_ACTIONS).addResources(secretArn);
    if (key) this.addKey(this.statement('managedKeys', ['kms:Decrypt', 'kms:GenerateDataKey'], viaSecretsManager()), key);
  }

  /** Lets the function read an admin secret's token (and decrypt it, through Secrets Manager only). */
  public grantAdminRead(secretArnForPolicies: string, key?: kms.IKey): void {
    const statement = this.statement('admin', ['secretsmanager:GetSecretValue']);
    if (!statement.resources.includes(secretArnForPolicies)) statement.addResources(secretArnForPolicies);
    if (key) this.addKey(this.statement('adminKeys', ['kms:Decrypt'], viaSecretsManager()), key);
  }

  // One statement per purpose, its resources growing with each secret: 100 secrets stay one policy.
  private statement(purpose: string, actions: string[], conditions?: Record<string, unknown>): iam.PolicyStatement {
    let statement = this.statements.get(purpose);
    if (!statement) {
      statement = new iam.PolicyStatement({ actions, conditions });
      this.statements.set(purpose, statement);
      this.role.addToPolicy(statement);
    }
    return statement;
  }

  private addKey(statement: iam.PolicyStatement, key: kms.IKey): void {
    if (!statement.resources.includes(key.keyArn)) statement.addResources(key.keyArn);
  }

  private addVpcNetworkInterfacePermissions(vpc: ec2.IVpc, selection?: ec2.SubnetSelection): void {
    const stack = Stack.of(this);
    const subnetArns = vpc.selectSubnets(selection).subnetIds.map((id) =>
      stack.formatArn({ service: 'ec2', resource: 'subnet', resourceName: id }));
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateNetworkInterface'],
      resources: [
        stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' }),
        stack.formatArn({ service: 'ec2', resource: 'security-group', resourceName: '*' }),
        ...subnetArns,
      ],
    }));
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
      resources: [stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' })],
    }));
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      resources: ['*'],
    }));
  }
}

/** The DNS entries are "<hosted zone>:<dns name>"; the first is the regional name. */
function regionalDnsName(endpoint: ec2.InterfaceVpcEndpoint): string {
  return Fn.select(1, Fn.split(':', Fn.select(0, endpoint.vpcEndpointDnsEntries)));
}

function describeSubnetSelection(selection?: ec2.SubnetSelection): string | undefined {
  if (!selection) return undefined;
  return JSON.stringify({
    type: selection.subnetType,
    group: selection.subnetGroupName,
    azs: selection.availabilityZones,
    onePerAz: selection.onePerAz,
    subnets: selection.subnets?.map((s) => s.node.path),
  });
}

function stableHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8).toUpperCase();
}

function viaSecretsManager(): Record<string, unknown> {
  return { StringEquals: { 'kms:ViaService': REGIONAL_SECRETS_MANAGER_HOST } };
}
