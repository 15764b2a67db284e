import { createHash } from 'node:crypto';

/**
 * Names and ARNs the model makes up where CloudFormation would: generated names follow CloudFormation's
 * `<stack>-<logical id>-<12 characters>` shape, derived from a hash (of the stack id, the logical id and a counter) so
 * that a replayed scenario names everything the same way, and two stacks or two replacements never collide.
 */
export interface Environment {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
}

export const MODEL_ENVIRONMENT: Environment = { account: '123456789012', region: 'us-east-1', partition: 'aws' };

export function suffixOf(...parts: string[]): string {
  // Upper-case letters and digits, as CloudFormation's suffixes are.
  const digest = createHash('sha256').update(parts.join('|')).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...digest.subarray(0, 12)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** `<stack>-<logical id>-<suffix>`, the stack name and logical id cut so that the whole fits `maxLength`. */
export function generatedName(stackName: string, logicalId: string, salt: string, maxLength = 64): string {
  const suffix = suffixOf(stackName, logicalId, salt);
  const room = maxLength - suffix.length - 2;
  const stackPart = stackName.slice(0, Math.max(1, Math.floor(room / 2)));
  const logicalPart = logicalId.slice(0, room - stackPart.length);
  return `${stackPart}-${logicalPart}-${suffix}`;
}

export function lambdaFunctionArn(env: Environment, name: string): string {
  return `arn:${env.partition}:lambda:${env.region}:${env.account}:function:${name}`;
}

export function roleArn(env: Environment, name: string, path = '/'): string {
  return `arn:${env.partition}:iam::${env.account}:role${path}${name}`;
}

/** The role name in a role ARN (after its path). */
export function roleNameOf(arn: string): string {
  return arn.split('/').pop() ?? arn;
}

/**
 * A deterministic stand-in for an attribute the model does not know: ARN-shaped for `Arn`/`*Arn` attributes, a list
 * for attributes CloudFormation returns as lists, otherwise a string naming the resource and attribute.
 */
export function fakeAttribute(env: Environment, type: string, physicalId: string, attribute: string): unknown {
  const [, service = 'unknown', kind = 'resource'] = type.split('::');
  if (attribute === 'Arn' || attribute.endsWith('Arn')) {
    if (physicalId.startsWith('arn:')) return physicalId;
    return `arn:${env.partition}:${service.toLowerCase()}:${env.region}:${env.account}:${kind.toLowerCase()}/${physicalId}`;
  }
  if (attribute === 'DnsEntries') return [`Z7HUB22UULQXV:${physicalId}.${service.toLowerCase()}.${env.region}.vpce.amazonaws.com`];
  if (/Ids$|Entries$|Blocks$|Addresses$/.test(attribute)) return [`${physicalId}-${attribute}-1`];
  return `${physicalId}.${attribute}`;
}
