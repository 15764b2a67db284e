import {
  DeleteSecretCommand,
  DescribeSecretCommand,
  DescribeSecretCommandOutput,
  GetSecretValueCommand,
  GetSecretValueCommandOutput,
  ListSecretVersionIdsCommand,
  ListSecretVersionIdsCommandOutput,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { awsClientSettings, cachedClient } from './aws-client-settings';
import { Sleep, TimeBudget, fullJitterMs, sleep } from './time-budget';
import { RotationFailure, messageOf } from '../logging/errors';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';
/** The label of a version written but not yet made AWSCURRENT (replaceCurrent): never read as a value. */
const UNPROMOTED_WRITE = 'UNPROMOTED-WRITE';

const clients = new Map<string, SecretsManagerClient>();

export function secretsManagerClient(endpoint: string | undefined, region: string | undefined, requestTimeoutMs: number): SecretsManagerClient {
  return cachedClient(clients, endpoint, region, requestTimeoutMs,
    () => new SecretsManagerClient(awsClientSettings(endpoint, region, requestTimeoutMs)));
}

/**
 * A Secrets Manager call that failed; `refused` when Secrets Manager answered it with a client error (a refusal: the
 * same call will fail again, and it did nothing), not a timeout, a server error or throttling, which may pass.
 */
export class SecretsManagerFailure extends RotationFailure {
  constructor(reason: string, remedy: string, public readonly refused: boolean) {
    super(reason, remedy);
  }
}

/**
 * The secret was not found by a read after DescribeSecret had found it: it was deleted meanwhile (by another delivery of
 * the same event, or out of band). Not "no token": what it held is unknown to this read.
 */
export class SecretGone extends Error {
  constructor(secretId: string, operation: string) {
    super(`the secret ${secretId} was not found by ${operation}: it was deleted while it was read`);
    this.name = 'SecretGone';
  }
}

/**
 * A PutSecretValue that failed; `rejected` when Secrets Manager answered a client error, so the last request stored
 * nothing. `resent` when more than one request went (the SDK's retries, or ours after throttling): one before the last,
 * whose answer was lost, may have stored the version all the same.
 */
export class PutFailure extends RotationFailure {
  constructor(reason: string, remedy: string, public readonly rejected: boolean, public readonly resent = false) {
    super(reason, remedy);
  }
}

/** Secrets Manager's answer to DescribeSecret, or why there is none. */
export type Description =
  | { readonly found: DescribeSecretCommandOutput }
  | { readonly missing: 'not-found' | 'access-denied' };

/** What DeleteSecret did: the secret is gone (now or before), or the role may not delete it, or it cannot be deleted. */
export type Deletion =
  | { readonly deleted: 'now' | 'already-gone' }
  | { readonly refused: 'access-denied' | 'cannot-delete'; readonly why: string };

/** The version that holds `stage`, from DescribeSecret's VersionIdsToStages. */
export function versionWithStage(versions: Record<string, string[]> | undefined, stage: string): string | undefined {
  return Object.keys(versions ?? {}).find((id) => versions![id].includes(stage));
}

/**
 * Whether DescribeSecret shows the secret rotated by a function other than `functionArn` (its settings moved it to
 * another rotation function). An invoked ARN may carry a version or alias qualifier; no ARN known means no.
 */
export function rotatedByAnotherFunction(description: Pick<DescribeSecretCommandOutput, 'RotationLambdaARN'>, functionArn: string | undefined): boolean {
  const base = (arn: string) => arn.split(':').slice(0, 7).join(':');
  return functionArn !== undefined && description.RotationLambdaARN !== undefined && base(description.RotationLambdaARN) !== base(functionArn);
}

export function regionOf(secretId: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || /^arn:[^:]+:secretsmanager:([^:]+):/.exec(secretId)?.[1];
}

export function isNotFound(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === 'ResourceNotFoundException';
}

// Waits after throttling beyond the SDK's own retries: random, doubling from this, up to the cap, within the budget.
const THROTTLE_WAIT_BASE_MS = 500;
const THROTTLE_WAIT_CAP_MS = 5_000;

/**
 * Throttling, and only that: the names Secrets Manager and the SDK give it, or HTTP 429. Not the SDK's wider list,
 * which counts LimitExceededException, Secrets Manager's answer to a quota (too many versions) that no wait lifts.
 */
export function isThrottling(error: unknown): boolean {
  const e = (error ?? {}) as { name?: unknown; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  return e.$metadata?.httpStatusCode === 429 || e.name === 'ThrottlingException' || e.name === 'TooManyRequestsException'
    || e.name === 'Throttling' || e.$retryable?.throttling === true;
}

/**
 * Secrets Manager calls of one invocation. Every read names a stage and/or a version (see docs/rotation-design.md).
 * A throttled call is retried for as long as the invocation's budget allows (many rotations at once share the account's
 * rate), after the SDK's own few retries.
 */
export class SecretStore {
  /** Set when a call was given up still throttled: the step failed for the rate, not for what the call was. */
  public throttledOut = false;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly budget: TimeBudget = new TimeBudget(Number.POSITIVE_INFINITY),
    private readonly wait: Sleep = sleep,
    private readonly random: () => number = Math.random,
  ) {}

  public async describe(secretId: string): Promise<DescribeSecretCommandOutput> {
    return this.run('DescribeSecret', secretId, () => this.send<DescribeSecretCommandOutput>(new DescribeSecretCommand({ SecretId: secretId })));
  }

  /** DescribeSecret, with a missing secret and one the role may not describe told apart from other failures. */
  public async describeIfAllowed(secretId: string): Promise<Description> {
    try {
      return { found: await this.send<DescribeSecretCommandOutput>(new DescribeSecretCommand({ SecretId: secretId })) };
    } catch (error) {
      if (isNotFound(error)) return { missing: 'not-found' };
      if ((error as { name?: unknown } | undefined)?.name === 'AccessDeniedException') return { missing: 'access-denied' };
      throw smFailure('DescribeSecret', secretId, error);
    }
  }

  /** The SecretString of a version; undefined when the version has no value yet (createSecret has not stored one). */
  public async valueOf(secretId: string, selector: { versionId?: string; stage?: string }): Promise<string | undefined> {
    const label = [selector.stage, selector.versionId && `version ${selector.versionId}`].filter(Boolean).join(', ');
    try {
      const answer = await this.send<GetSecretValueCommandOutput>(new GetSecretValueCommand({
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
    const sent = { requests: 0 };
    try {
      await this.send(new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: versionId,
        SecretString: secretString,
        VersionStages: [AWSPENDING],
      }), sent);
    } catch (error) {
      const failure = smFailure('PutSecretValue(AWSPENDING)', secretId, error);
      const answer = error as { $fault?: unknown; $metadata?: { httpStatusCode?: number } };
      const status = answer.$metadata?.httpStatusCode;
      const rejected = answer.$fault === 'client' && status !== undefined && status >= 400 && status < 500;
      throw new PutFailure(failure.reason, failure.remedy, rejected, sent.requests > 1);
    }
  }

  /** AWSCURRENT's value and the version that holds it (the teardown's escrow; never a managed secret). */
  public async current(secretId: string): Promise<{ readonly text: string; readonly versionId?: string }> {
    const answer = await this.run('GetSecretValue(AWSCURRENT)', secretId,
      () => this.send<GetSecretValueCommandOutput>(new GetSecretValueCommand({ SecretId: secretId, VersionStage: AWSCURRENT })));
    return { text: answer.SecretString ?? '', versionId: answer.VersionId };
  }

  /**
   * Makes `secretString` AWSCURRENT only while AWSCURRENT is still the version `expectedVersionId`: a version under a
   * label of its own, then UpdateSecretVersionStage, which Secrets Manager refuses when AWSCURRENT is on another version
   * than RemoveFromVersionId names. False when another write came first.
   */
  public async replaceCurrent(secretId: string, secretString: string, expectedVersionId: string): Promise<boolean> {
    const written = await this.run('PutSecretValue', secretId, () => this.send<{ VersionId?: string }>(new PutSecretValueCommand({
      SecretId: secretId, SecretString: secretString, VersionStages: [UNPROMOTED_WRITE],
    })));
    try {
      await this.send(new UpdateSecretVersionStageCommand({
        SecretId: secretId, VersionStage: AWSCURRENT, MoveToVersionId: written.VersionId, RemoveFromVersionId: expectedVersionId,
      }));
      return true;
    } catch (error) {
      if ((error as { name?: unknown } | undefined)?.name === 'InvalidParameterException') return false;
      throw smFailure('UpdateSecretVersionStage(AWSCURRENT)', secretId, error);
    }
  }

  /**
   * DeleteSecret with no recovery window, as CloudFormation deletes a secret. A secret already gone counts as deleted (a
   * retry after a lost answer finds it so); a refusal says whether the role lacks the right or the secret cannot go
   * (replicas, a resource policy, a pending operation), for CloudFormation's own deletion then fails the same way.
   */
  public async deleteForever(secretId: string): Promise<Deletion> {
    try {
      await this.send(new DeleteSecretCommand({ SecretId: secretId, ForceDeleteWithoutRecovery: true }));
      return { deleted: 'now' };
    } catch (error) {
      if (isNotFound(error)) return { deleted: 'already-gone' };
      const name = (error as { name?: unknown } | undefined)?.name;
      const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
      if (name === 'AccessDeniedException') return { refused: 'access-denied', why: messageOf(error) };
      if (!isThrottling(error) && status !== undefined && status >= 400 && status < 500) return { refused: 'cannot-delete', why: messageOf(error) };
      throw smFailure('DeleteSecret', secretId, error);
    }
  }

  /**
   * The versions neither AWSCURRENT nor AWSPREVIOUS is on, newest first: what those held before later values were put
   * over them, unlabelled or still labelled AWSPENDING (the last rotation's version keeps that label once promoted).
   * Secrets Manager keeps about 100 versions a secret; one page holds them.
   */
  public async versionsOutsideStages(secretId: string): Promise<string[]> {
    let answer: ListSecretVersionIdsCommandOutput;
    try {
      answer = await this.send<ListSecretVersionIdsCommandOutput>(
        new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true, MaxResults: 100 }));
    } catch (error) {
      if (isNotFound(error)) throw new SecretGone(secretId, 'ListSecretVersionIds');
      throw smFailure('ListSecretVersionIds', secretId, error);
    }
    return (answer.Versions ?? [])
      .filter((v) => !!v.VersionId && !(v.VersionStages ?? []).some((stage) => stage === AWSCURRENT || stage === AWSPREVIOUS))
      .sort((a, b) => (b.CreatedDate?.getTime() ?? 0) - (a.CreatedDate?.getTime() ?? 0))
      .map((v) => v.VersionId!);
  }

  public async promote(secretId: string, versionId: string, currentVersionId: string | undefined): Promise<void> {
    await this.run('UpdateSecretVersionStage(AWSCURRENT)', secretId, () => this.send(new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: AWSCURRENT,
      MoveToVersionId: versionId,
      RemoveFromVersionId: currentVersionId,
    })));
  }

  /** `sent` counts the requests of the calls that failed, the SDK's retries included. */
  private async send<O>(command: unknown, sent?: { requests: number }): Promise<O> {
    for (let throttled = 1; ; throttled++) {
      try {
        return await (this.client.send(command as never) as Promise<O>);
      } catch (error) {
        // The SDK's retry middleware counts its requests on the error; an error it did not count sent one at most.
        if (sent) sent.requests += (error as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1;
        if (!isThrottling(error)) throw error;
        const waitMs = fullJitterMs(throttled, THROTTLE_WAIT_BASE_MS, THROTTLE_WAIT_CAP_MS, this.random);
        if (!this.budget.allows(waitMs + 1_000)) {
          this.throttledOut = true;
          throw error;
        }
        await this.wait(waitMs);
      }
    }
  }

  private async run<T>(operation: string, secretId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw smFailure(operation, secretId, error);
    }
  }
}

function smFailure(operation: string, secretId: string, error: unknown): SecretsManagerFailure {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return new SecretsManagerFailure(
    `Secrets Manager ${operation} on ${secretId} failed: ${messageOf(error)}.`,
    // Throttling is the crowd's doing, not the role's: the handler adds the rate's remedy.
    isThrottling(error) ? '' : 'Check that the secret exists and that the rotation function\'s role may call this action on it (and kms:Decrypt on its key).',
    !isThrottling(error) && status !== undefined && status >= 400 && status < 500,
  );
}
