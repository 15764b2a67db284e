import {
  DescribeSecretCommand,
  DescribeSecretCommandOutput,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  SecretVersionsListEntry,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { RotationFailure, messageOf } from './errors';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

const clients = new Map<string, SecretsManagerClient>();

/** One client per endpoint and region: env may change between invocations in one process (tests, the e2e harness). */
export function secretsManagerClient(endpoint: string | undefined, region: string | undefined): SecretsManagerClient {
  const key = `${endpoint ?? ''}|${region ?? ''}`;
  let client = clients.get(key);
  if (!client) {
    client = new SecretsManagerClient({ endpoint, region, maxAttempts: 3 });
    clients.set(key, client);
  }
  return client;
}

export function regionOf(secretId: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || /^arn:[^:]+:secretsmanager:([^:]+):/.exec(secretId)?.[1];
}

export function isNotFound(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === 'ResourceNotFoundException';
}

/** Secrets Manager calls of one rotation. Every read names a stage and/or a version (see docs/rotation-design.md). */
export class SecretStore {
  constructor(private readonly client: SecretsManagerClient) {}

  public async describe(secretId: string): Promise<DescribeSecretCommandOutput> {
    return this.run('DescribeSecret', secretId, () => this.client.send(new DescribeSecretCommand({ SecretId: secretId })));
  }

  /** The SecretString of a version; undefined when the version has no value yet (createSecret has not stored one). */
  public async valueOf(secretId: string, selector: { versionId?: string; stage?: string }): Promise<string | undefined> {
    const label = [selector.stage, selector.versionId && `version ${selector.versionId}`].filter(Boolean).join(', ');
    try {
      const answer = await this.client.send(new GetSecretValueCommand({
        SecretId: secretId,
        VersionId: selector.versionId,
        VersionStage: selector.stage,
      }));
      return answer.SecretString ?? '';
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw smFailure(`GetSecretValue(${label})`, secretId, error);
    }
  }

  public async putPending(secretId: string, versionId: string, secretString: string): Promise<void> {
    await this.run('PutSecretValue(AWSPENDING)', secretId, () => this.client.send(new PutSecretValueCommand({
      SecretId: secretId,
      ClientRequestToken: versionId,
      SecretString: secretString,
      VersionStages: [AWSPENDING],
    })));
  }

  public async promote(secretId: string, versionId: string, currentVersionId: string | undefined): Promise<void> {
    await this.run('UpdateSecretVersionStage(AWSCURRENT)', secretId, () => this.client.send(new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: AWSCURRENT,
      MoveToVersionId: versionId,
      RemoveFromVersionId: currentVersionId,
    })));
  }

  public async removeStage(secretId: string, stage: string, versionId: string): Promise<void> {
    await this.run(`UpdateSecretVersionStage(remove ${stage})`, secretId, () => this.client.send(new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: stage,
      RemoveFromVersionId: versionId,
    })));
  }

  public async listVersions(secretId: string): Promise<SecretVersionsListEntry[]> {
    const versions: SecretVersionsListEntry[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.run('ListSecretVersionIds', secretId, () => this.client.send(new ListSecretVersionIdsCommand({
        SecretId: secretId,
        IncludeDeprecated: true,
        NextToken: nextToken,
      })));
      versions.push(...(page.Versions ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return versions;
  }

  private async run<T>(operation: string, secretId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw smFailure(operation, secretId, error);
    }
  }
}

function smFailure(operation: string, secretId: string, error: unknown): RotationFailure {
  return new RotationFailure(
    `Secrets Manager ${operation} on ${secretId} failed: ${messageOf(error)}.`,
    'Check that the secret exists and that the rotation function\'s role may call this action on it (and kms:Decrypt on its key).',
  );
}
