import type { ModelServices } from './model-services';
import type { ProviderResult, ResourceProvider, ResourceRequest } from './provider';
import { Environment, generatedName, suffixOf } from './resource-names';

/** Properties that name the resource: CloudFormation uses them as its physical id. */
const NAME_PROPERTIES = ['Name', 'LogGroupName', 'TopicName', 'AlarmName', 'RuleName', 'FilterName', 'QueueName', 'BucketName'];

/** Types whose physical id (and Ref) is an ARN or an EC2-style id rather than a name. */
const PHYSICAL_ID: Record<string, (env: Environment, name: string) => string> = {
  'AWS::SNS::Topic': (env, name) => `arn:${env.partition}:sns:${env.region}:${env.account}:${name}`,
  'AWS::KMS::Key': (_env, name) => suffixOf(name).toLowerCase(),
  'AWS::EC2::SecurityGroup': (_env, name) => `sg-${suffixOf(name).toLowerCase().slice(0, 17)}`,
  'AWS::EC2::VPC': (_env, name) => `vpc-${suffixOf(name).toLowerCase().slice(0, 17)}`,
  'AWS::EC2::Subnet': (_env, name) => `subnet-${suffixOf(name).toLowerCase().slice(0, 17)}`,
  'AWS::EC2::VPCEndpoint': (_env, name) => `vpce-${suffixOf(name).toLowerCase().slice(0, 17)}`,
};

/** Attributes of no-op types that later resources read (ARNs in policies, the log group of a function). */
function attributesOf(env: Environment, type: string, physicalId: string): Record<string, unknown> {
  const arn = (service: string, rest: string) => `arn:${env.partition}:${service}:${env.region}:${env.account}:${rest}`;
  switch (type) {
    case 'AWS::Logs::LogGroup': return { Arn: arn('logs', `log-group:${physicalId}:*`) };
    case 'AWS::Events::Rule': return { Arn: arn('events', `rule/${physicalId}`) };
    case 'AWS::CloudWatch::Alarm': return { Arn: arn('cloudwatch', `alarm:${physicalId}`) };
    case 'AWS::SNS::Topic': return { TopicArn: physicalId, TopicName: physicalId.split(':').pop() };
    case 'AWS::KMS::Key': return { Arn: arn('kms', `key/${physicalId}`), KeyId: physicalId };
    case 'AWS::EC2::SecurityGroup': return { GroupId: physicalId, VpcId: 'vpc-model' };
    default: return {};
  }
}

/**
 * Every type the model does not act on (log groups, permissions, rules, alarms, metric filters, topic policies, VPC
 * pieces, ...): it only gets a deterministic physical id and the attributes later resources read.
 */
export class NoopProvider implements ResourceProvider {
  constructor(private readonly services: ModelServices) {}

  public replaces(oldProperties: Record<string, unknown>, newProperties: Record<string, unknown>): boolean {
    return NAME_PROPERTIES.some((k) => oldProperties[k] !== newProperties[k]);
  }

  public async create(request: ResourceRequest): Promise<ProviderResult> {
    const named = NAME_PROPERTIES.map((k) => request.properties[k]).find((v) => typeof v === 'string') as string | undefined;
    const name = named ?? generatedName(request.stack.name, request.logicalId, `${request.stack.id}|${request.stack.operation}`);
    const physicalId = PHYSICAL_ID[request.type]?.(this.services.env, name) ?? name;
    return { physicalId, attributes: attributesOf(this.services.env, request.type, physicalId) };
  }

  public async update(request: ResourceRequest): Promise<ProviderResult> {
    return { physicalId: request.physicalId!, attributes: attributesOf(this.services.env, request.type, request.physicalId!) };
  }

  public async delete(): Promise<void> {}
}
