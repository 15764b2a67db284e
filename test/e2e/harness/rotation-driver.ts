import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { DescribeSecretCommand, RotateSecretCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { E2E_FUNCTION_ARN } from './function-arn';
import { REGION } from './secrets-fixture';
import { STEP_NAMES, StepName } from '../../../lambda/rotation/rotation';

/** The four steps, in the order Secrets Manager invokes them: the handler's own list. */
export const STEPS = STEP_NAMES;
export type { StepName };
/** Invokes the function with an event and the environment of that invocation; rejects when the handler throws. */
export type RotationHandler = (event: unknown, env: Record<string, string>) => Promise<void>;

export const BUNDLE_PATH = path.resolve(__dirname, '..', '..', '..', 'assets', 'rotation-handler', 'index.js');
/** moto knows no Lambda functions: RotateSecret with this ARN stages AWSPENDING, then answers ResourceNotFoundException. */
const UNKNOWN_LAMBDA_ARN = E2E_FUNCTION_ARN;

/** Fails with the command that builds the bundle, rather than with a process that cannot load it. */
export function assertBundleBuilt(): string {
  if (!existsSync(BUNDLE_PATH)) {
    throw new Error(`${BUNDLE_PATH} is missing: run \`npx projen bundle:rotation-handler\` (the test task does it before jest)`);
  }
  return BUNDLE_PATH;
}

// An index signature keeps it assignable to the environment a RotationHandler takes.
export interface HandlerEnvironment extends Record<string, string> {
  SECRETS_MANAGER_ENDPOINT: string;
  ASTRA_API_URL: string;
  ASTRA_HTTP_TIMEOUT_MS: string;
  ASTRA_HTTP_MAX_ATTEMPTS: string;
  ASTRA_RETRY_BASE_MS: string;
  ASTRA_TEST_ATTEMPTS: string;
  ASTRA_TEST_RETRY_DELAY_MS: string;
  ROTATION_TIME_MARGIN_MS: string;
  SECRETS_MANAGER_TIMEOUT_MS: string;
  AWS_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  CLOUDFORMATION_ENDPOINT: string;
}

/** Small timeouts and delays keep fault scenarios fast; the timeout is what a `delay` fault has to exceed. */
export function fastHandlerEnvironment(smEndpoint: string, astraUrl: string): HandlerEnvironment {
  return {
    SECRETS_MANAGER_ENDPOINT: smEndpoint,
    ASTRA_API_URL: astraUrl,
    ASTRA_HTTP_TIMEOUT_MS: '250',
    ASTRA_HTTP_MAX_ATTEMPTS: '3',
    ASTRA_RETRY_BASE_MS: '5',
    ASTRA_TEST_ATTEMPTS: '3',
    ASTRA_TEST_RETRY_DELAY_MS: '5',
    ROTATION_TIME_MARGIN_MS: '1000',
    SECRETS_MANAGER_TIMEOUT_MS: '3000',
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIAE2ETESTDUMMY0000',
    AWS_SECRET_ACCESS_KEY: 'e2e-dummy-secret-key',
    // Never the regional endpoint: traffic stays on loopback. Port 9 (discard) refuses, unless a test runs a stand-in.
    CLOUDFORMATION_ENDPOINT: 'http://127.0.0.1:9',
  };
}

export interface StepContext {
  readonly secretId: string;
  readonly token: string;
  readonly step: StepName;
  /** 1-based attempt of the whole rotation. */
  readonly attempt: number;
  /** 1-based invocation of this step within the attempt (2 when steps are invoked twice). */
  readonly invocation: number;
}

/** Thrown by a `beforeStep` hook: the function "crashed" before this step, so the attempt ends here. */
export class SimulatedCrash extends Error {
  constructor(where: string) {
    super(`simulated crash before ${where}`);
  }
}

/** What RotateSecret records for the secret: the rotation function and schedule. */
export interface RotationTarget {
  /** moto knows no Lambda functions, so any ARN stages AWSPENDING and is recorded as the secret's RotationLambdaARN. */
  readonly rotationLambdaArn?: string;
  readonly rotationRules?: { AutomaticallyAfterDays?: number; ScheduleExpression?: string; Duration?: string };
  /** RotateSecret's RotateImmediately (moto then still stages AWSPENDING, holding a copy of AWSCURRENT's value). */
  readonly rotateImmediately?: boolean;
}

export interface RotationOptions extends RotationTarget {
  /** RotateSecret has staged AWSPENDING with `token` already (the lifecycle model calls it when CloudFormation does). */
  readonly staged?: boolean;
  /** Whole-rotation attempts, as Secrets Manager retries a failed rotation. */
  readonly maxAttempts?: number;
  readonly invocationsPerStep?: number;
  readonly token?: string;
  /** Runs before each invocation; may arm faults, or throw SimulatedCrash. */
  beforeStep?(ctx: StepContext): void | Promise<void>;
  /** Runs after each invocation, failed or not (invariant checks go here). */
  afterStep?(ctx: StepContext, error?: Error): void | Promise<void>;
  /** Environment overrides for one invocation. */
  environmentFor?(ctx: StepContext): Partial<HandlerEnvironment> | undefined;
}

export interface RotationResult {
  readonly token: string;
  readonly completed: boolean;
  readonly attempts: number;
  /** Every error the handler threw, in order. */
  readonly errors: Error[];
}

/** Does what Secrets Manager does around a rotation Lambda, against moto. */
export class RotationDriver {
  constructor(
    private readonly sm: SecretsManagerClient,
    private readonly handler: RotationHandler,
    private readonly environment: () => HandlerEnvironment,
  ) {}

  /**
   * Stages an empty AWSPENDING version as RotateSecret does before it invokes createSecret. Refuses, as AWS does, while
   * AWSPENDING sits on a version other than AWSCURRENT.
   */
  public async stagePendingVersion(secretId: string, token: string, rotation: RotationTarget = {}): Promise<void> {
    const stages = await this.versionStages(secretId);
    for (const [versionId, labels] of Object.entries(stages)) {
      if (!labels.includes('AWSPENDING')) continue;
      if (!labels.includes('AWSCURRENT')) {
        throw new Error(`RotateSecret refused: previous rotation of ${secretId} still in progress (AWSPENDING on ${versionId})`);
      }
      // moto quirk 4 (docs TOOLING.md): it refuses RotateSecret in the state AWS calls finished; AWS does not.
      await this.removePending(secretId, versionId);
    }
    try {
      await this.sm.send(new RotateSecretCommand({
        SecretId: secretId,
        ClientRequestToken: token,
        RotationLambdaARN: rotation.rotationLambdaArn ?? UNKNOWN_LAMBDA_ARN,
        RotationRules: rotation.rotationRules ?? { AutomaticallyAfterDays: 30 },
        RotateImmediately: rotation.rotateImmediately,
      }));
    } catch (e) {
      if ((e as Error).name !== 'ResourceNotFoundException') throw e;
    }
    const after = await this.versionStages(secretId);
    if (!after[token]?.includes('AWSPENDING')) {
      // A concurrent RotateSecret took the label (moto allows that; AWS would have refused one of the two calls).
      throw new Error(`RotateSecret refused: previous rotation of ${secretId} still in progress (AWSPENDING is no longer on ${token})`);
    }
  }

  /** One handler invocation with the handler's environment in place; returns the error it threw, if any. */
  public async invoke(event: unknown, overrides: Partial<HandlerEnvironment> = {}): Promise<Error | undefined> {
    try {
      await this.handler(event, { ...this.environment(), ...overrides } as Record<string, string>);
      return undefined;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  public async rotate(secretId: string, options: RotationOptions = {}): Promise<RotationResult> {
    const token = options.token ?? randomUUID();
    const maxAttempts = options.maxAttempts ?? 3;
    const errors: Error[] = [];
    if (!options.staged) await this.stagePendingVersion(secretId, token, options);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (await this.runAttempt(secretId, token, attempt, options, errors)) {
        return { token, completed: true, attempts: attempt, errors };
      }
    }
    await this.abandon(secretId, token);
    return { token, completed: false, attempts: maxAttempts, errors };
  }

  /** What the README tells an operator to do after a failed rotation: take AWSPENDING off the abandoned version. */
  public async abandon(secretId: string, token: string): Promise<void> {
    const stages = await this.versionStages(secretId);
    if (stages[token]?.includes('AWSPENDING')) await this.removePending(secretId, token);
  }

  /** Tolerates a concurrent driver having removed the label first. */
  private async removePending(secretId: string, versionId: string): Promise<void> {
    try {
      await this.sm.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: 'AWSPENDING', RemoveFromVersionId: versionId }));
    } catch (e) {
      if (!/AWSPENDING not found/.test((e as Error).message)) throw e;
    }
  }

  private async runAttempt(secretId: string, token: string, attempt: number, options: RotationOptions, errors: Error[]): Promise<boolean> {
    for (const step of STEPS) {
      for (let invocation = 1; invocation <= (options.invocationsPerStep ?? 1); invocation++) {
        const ctx: StepContext = { secretId, token, step, attempt, invocation };
        try {
          await options.beforeStep?.(ctx);
        } catch (e) {
          if (e instanceof SimulatedCrash) return false;
          throw e;
        }
        const error = await this.invoke({ Step: step, SecretId: secretId, ClientRequestToken: token }, options.environmentFor?.(ctx) ?? {});
        if (error) errors.push(error);
        await options.afterStep?.(ctx, error);
        if (error) return false;
      }
    }
    return true;
  }

  private async versionStages(secretId: string): Promise<Record<string, string[]>> {
    const d = await this.sm.send(new DescribeSecretCommand({ SecretId: secretId }));
    return (d.VersionIdsToStages ?? {}) as Record<string, string[]>;
  }
}
