import { randomUUID } from 'node:crypto';
import {
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { AwsStub, mockClient } from 'aws-sdk-client-mock';

interface Version {
  value?: string;
  stages: Set<string>;
  created: Date;
}

interface Secret {
  arn: string;
  name: string;
  rotationEnabled: boolean;
  tags: Array<{ Key: string; Value: string }>;
  versions: Map<string, Version>;
  rotationLambdaArn?: string;
  /** Set by a DeleteSecret with a recovery window: the secret is scheduled for deletion. */
  deletedDate?: Date;
  /** Regions it is replicated to (DescribeSecret's ReplicationStatus). */
  replicaRegions?: string[];
  /** When it was created, by the real clock (the teardown compares it with CloudFormation's operation start). */
  createdDate: Date;
}

/**
 * Secrets Manager removes unlabeled versions once a secret has more than 100, but none younger than a day (the
 * PutSecretValue reference): a secret written more often runs out of versions, and the write is refused.
 */
export const VERSIONS_KEPT = 100;
const DAY_MS = 24 * 3600_000;

export type Operation = 'DescribeSecret' | 'GetSecretValue' | 'PutSecretValue' | 'UpdateSecretVersionStage' | 'ListSecretVersionIds' | 'DeleteSecret';

export function awsError(name: string, message: string, fault: 'client' | 'server' = 'server', httpStatusCode = fault === 'client' ? 400 : 500): Error {
  const error = new Error(message);
  error.name = name;
  // The SDK's service errors carry these; the handler tells a refused call from one whose outcome is unknown by them.
  return Object.assign(error, { $fault: fault, $metadata: { httpStatusCode } });
}

/**
 * A secret scheduled for deletion (by DeleteSecret with a recovery window, or a forced one still under way) still
 * answers DescribeSecret, with its DeletedDate, but its value can be neither read nor written (InvalidRequestException).
 */
function refuseIfMarkedForDeletion(secret: Secret): void {
  if (secret.deletedDate) throw awsError('InvalidRequestException', 'You can\'t perform this operation on the secret because it was marked for deletion.', 'client');
}

/**
 * Secrets Manager as AWS documents it (not moto's quirks), behind aws-sdk-client-mock: versions, stages,
 * deprecated versions, idempotent PutSecretValue, the version quota. `failNext` injects a failure into the next call of an operation.
 */
export class FakeSecretsManager {
  public readonly mock: AwsStub<any, any, any>;
  public readonly secrets = new Map<string, Secret>();
  public readonly calls: Array<{ operation: Operation; input: any }> = [];
  private readonly faults: Array<{ operation: Operation; error?: Error; when?: (input: any) => boolean; afterCommit?: boolean }> = [];
  private clock = Date.parse('2024-01-01T00:00:00Z');
  /**
   * Secrets Manager deletes a secret ForceDeleteWithoutRecovery asynchronously: with this set, the next DescribeSecret
   * still shows it, with a DeletedDate, and then it is gone.
   */
  public asyncForceDeletion = false;
  /** How long each call takes to be answered (a scale test's Secrets Manager), in real milliseconds. */
  public latencyMs = 0;
  private readonly deleting = new Set<string>();

  constructor() {
    this.mock = mockClient(SecretsManagerClient);
    this.mock.on(DescribeSecretCommand).callsFake((input) => this.call('DescribeSecret', input, () => this.describe(input)));
    this.mock.on(GetSecretValueCommand).callsFake((input) => this.call('GetSecretValue', input, () => this.getValue(input)));
    this.mock.on(PutSecretValueCommand).callsFake((input) => this.call('PutSecretValue', input, () => this.put(input)));
    this.mock.on(UpdateSecretVersionStageCommand).callsFake((input) => this.call('UpdateSecretVersionStage', input, () => this.updateStage(input)));
    this.mock.on(ListSecretVersionIdsCommand).callsFake((input) => this.call('ListSecretVersionIds', input, () => this.list(input)));
    this.mock.on(DeleteSecretCommand).callsFake((input) => this.call('DeleteSecret', input, () => this.delete(input)));
  }

  public restore(): void {
    this.mock.restore();
  }

  public create(name: string, value: string | undefined, options: { rotationEnabled?: boolean; tags?: Record<string, string> } = {}): string {
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    const versions = new Map<string, Version>();
    versions.set(randomUUID(), { value, stages: new Set(['AWSCURRENT']), created: this.tick() });
    this.secrets.set(arn, {
      arn,
      name,
      rotationEnabled: options.rotationEnabled ?? true,
      createdDate: new Date(),
      tags: Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
      versions,
    });
    return arn;
  }

  /** What RotateSecret does before it invokes createSecret: a new version labelled AWSPENDING, with no value. */
  public startRotation(secretId: string, versionId: string = randomUUID()): string {
    const secret = this.secret(secretId);
    for (const version of secret.versions.values()) version.stages.delete('AWSPENDING');
    secret.versions.set(versionId, { stages: new Set(['AWSPENDING']), created: this.tick() });
    return versionId;
  }

  /** Adds a version with a value and the given stages (moving those stages from other versions). */
  public addVersion(secretId: string, value: string | undefined, stages: string[] = []): string {
    const secret = this.secret(secretId);
    const id = randomUUID();
    for (const stage of stages) for (const version of secret.versions.values()) version.stages.delete(stage);
    secret.versions.set(id, { value, stages: new Set(stages), created: this.tick() });
    return id;
  }

  public removeStage(secretId: string, stage: string): void {
    for (const version of this.secret(secretId).versions.values()) version.stages.delete(stage);
  }

  public versionWith(secretId: string, stage: string): string | undefined {
    return [...this.secret(secretId).versions.entries()].find(([, v]) => v.stages.has(stage))?.[0];
  }

  public valueAt(secretId: string, stage: string): any {
    const id = this.versionWith(secretId, stage);
    const value = id ? this.secret(secretId).versions.get(id)!.value : undefined;
    return value === undefined ? undefined : JSON.parse(value);
  }

  public valueOf(secretId: string, versionId: string): string | undefined {
    return this.secret(secretId).versions.get(versionId)?.value;
  }

  public failNext(operation: Operation, error: Error = awsError('InternalServiceError', 'injected failure'), when?: (input: any) => boolean): void {
    this.faults.push({ operation, error, when });
  }

  /** The next call of the operation takes effect, then reports `error`: a write that commits and reports a failure. */
  public failNextAfterCommit(operation: Operation, error: Error = awsError('InternalServiceError', 'injected failure')): void {
    this.faults.push({ operation, error, afterCommit: true });
  }

  /** The next call of the operation (that `when` matches) never returns: Lambda stopped the invocation there. */
  public hangNext(operation: Operation, when?: (input: any) => boolean): void {
    this.faults.push({ operation, when });
  }

  /** Moves the clock the versions' creation dates are taken from. */
  public elapse(ms: number): void {
    this.clock += ms;
  }

  public count(operation: Operation): number {
    return this.calls.filter((c) => c.operation === operation).length;
  }

  private tick(): Date {
    this.clock += 1000;
    return new Date(this.clock);
  }

  private async call<T>(operation: Operation, input: any, run: () => T): Promise<T> {
    this.calls.push({ operation, input });
    if (this.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const index = this.faults.findIndex((f) => f.operation === operation && (!f.when || f.when(input)));
    if (index >= 0) {
      const [fault] = this.faults.splice(index, 1);
      if (!fault.error) return new Promise<T>(() => undefined);
      if (fault.afterCommit) run();
      throw fault.error;
    }
    return run();
  }

  private secret(secretId: string): Secret {
    const secret = this.secrets.get(secretId) ?? [...this.secrets.values()].find((s) => s.name === secretId);
    if (!secret) throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.", 'client');
    return secret;
  }

  private describe(input: any) {
    const secret = this.secret(input.SecretId);
    if (this.deleting.delete(secret.arn)) this.secrets.delete(secret.arn);
    const stages: Record<string, string[]> = {};
    for (const [id, v] of secret.versions) if (v.stages.size > 0) stages[id] = [...v.stages];
    return {
      ARN: secret.arn,
      Name: secret.name,
      RotationEnabled: secret.rotationEnabled,
      RotationLambdaARN: secret.rotationLambdaArn,
      // What the construct's default schedule gives: every 30 days, a day of window.
      RotationRules: secret.rotationEnabled ? { ScheduleExpression: 'rate(30 days)' } : undefined,
      Tags: secret.tags,
      VersionIdsToStages: stages,
      ...secret.deletedDate ? { DeletedDate: secret.deletedDate } : {},
      ...secret.replicaRegions ? { ReplicationStatus: secret.replicaRegions.map((Region) => ({ Region, Status: 'InSync' })) } : {},
      CreatedDate: secret.createdDate,
    };
  }

  private getValue(input: any) {
    const secret = this.secret(input.SecretId);
    refuseIfMarkedForDeletion(secret);
    let id: string | undefined = input.VersionId;
    if (id === undefined) id = [...secret.versions.entries()].find(([, v]) => v.stages.has(input.VersionStage ?? 'AWSCURRENT'))?.[0];
    const version = id ? secret.versions.get(id) : undefined;
    if (!version || (input.VersionStage && !version.stages.has(input.VersionStage))) {
      throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: " + (input.VersionStage ?? ''), 'client');
    }
    if (version.value === undefined) throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for VersionId: " + id, 'client');
    return { ARN: secret.arn, Name: secret.name, VersionId: id, SecretString: version.value, VersionStages: [...version.stages] };
  }

  private put(input: any) {
    const secret = this.secret(input.SecretId);
    refuseIfMarkedForDeletion(secret);
    // The SDK fills in a token the caller leaves out.
    const id = (input.ClientRequestToken as string | undefined) ?? randomUUID();
    const existing = secret.versions.get(id);
    if (existing?.value !== undefined && existing.value !== input.SecretString) {
      throw awsError('ResourceExistsException', 'A version with this ClientRequestToken already exists with a different value.', 'client');
    }
    if (!existing) this.makeRoomForVersion(secret);
    const stages: string[] = input.VersionStages ?? ['AWSCURRENT'];
    for (const stage of stages) for (const version of secret.versions.values()) version.stages.delete(stage);
    const version = existing ?? { stages: new Set<string>(), created: this.tick() };
    version.value = input.SecretString;
    for (const stage of stages) version.stages.add(stage);
    secret.versions.set(id, version);
    return { ARN: secret.arn, Name: secret.name, VersionId: id, VersionStages: stages };
  }

  private makeRoomForVersion(secret: Secret): void {
    for (const [id, v] of secret.versions) {
      if (secret.versions.size >= VERSIONS_KEPT && v.stages.size === 0 && v.created.getTime() <= this.clock - DAY_MS) secret.versions.delete(id);
    }
    if (secret.versions.size >= VERSIONS_KEPT) {
      throw awsError('LimitExceededException', 'The request failed because it would exceed one of the Secrets Manager quotas.', 'client');
    }
  }

  /** With ForceDeleteWithoutRecovery (as CloudFormation and the teardown delete) the secret is gone at once (see asyncForceDeletion). */
  private delete(input: any) {
    const secret = this.secret(input.SecretId);
    if (input.ForceDeleteWithoutRecovery && !this.asyncForceDeletion) this.secrets.delete(secret.arn);
    else secret.deletedDate = new Date();
    if (input.ForceDeleteWithoutRecovery && this.asyncForceDeletion) this.deleting.add(secret.arn);
    return { ARN: secret.arn, Name: secret.name };
  }

  private updateStage(input: any) {
    const secret = this.secret(input.SecretId);
    const stage = input.VersionStage as string;
    const holder = [...secret.versions.entries()].find(([, v]) => v.stages.has(stage))?.[0];
    if (holder && input.MoveToVersionId !== holder && input.RemoveFromVersionId !== holder) {
      throw awsError('InvalidParameterException', `The staging label ${stage} is currently attached to version ${holder}; specify it in RemoveFromVersionId.`);
    }
    if (input.RemoveFromVersionId) {
      const from = secret.versions.get(input.RemoveFromVersionId);
      if (!from?.stages.has(stage)) throw awsError('InvalidParameterException', 'RemoveFromVersionId does not hold the label.');
      from.stages.delete(stage);
      if (stage === 'AWSCURRENT' && input.MoveToVersionId) {
        for (const v of secret.versions.values()) v.stages.delete('AWSPREVIOUS');
        from.stages.add('AWSPREVIOUS');
      }
    }
    if (input.MoveToVersionId) {
      const to = secret.versions.get(input.MoveToVersionId);
      if (!to) throw awsError('ResourceNotFoundException', 'no such version', 'client');
      to.stages.add(stage);
    }
    return { ARN: secret.arn, Name: secret.name };
  }

  private list(input: any) {
    const secret = this.secret(input.SecretId);
    return {
      ARN: secret.arn,
      Name: secret.name,
      Versions: [...secret.versions.entries()]
        .filter(([, v]) => input.IncludeDeprecated || v.stages.size > 0)
        .map(([id, v]) => ({ VersionId: id, VersionStages: [...v.stages], CreatedDate: v.created })),
    };
  }
}
