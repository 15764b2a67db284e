import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { TieBreak } from './dependencies';
import type { FunctionFleet } from './function-fleet';
import type { IamState } from './iam-state';
import type { Environment } from './resource-names';
import type { ResponseRecorder } from './response-recorder';
import type { SecretDeletions } from './secret-deletions';
import type { SecretLedger } from './secret-ledger';

/**
 * When a rotation that a RotationSchedule started runs. CloudFormation does not wait for it (Secrets Manager runs it
 * after the resource is complete), so on AWS it overlaps whatever comes next; the model runs it at one chosen point:
 * right after the schedule completes, after the next resource CloudFormation handles (so that a failure can land
 * between the two), or only when the test calls `runPendingRotations()`.
 */
export type RotationTiming = 'immediate' | 'after-next-resource' | 'manual';

export interface ModelOptions {
  /** Which of two independent resources goes first. @default 'template' */
  tieBreak: TieBreak;
  /** @default 'immediate' */
  rotationTiming: RotationTiming;
  /** Attempts of a rotation, as Secrets Manager retries a failed one. @default 2 */
  rotationMaxAttempts: number;
  /** How long CloudFormation waits for a custom resource's answer after the last invocation ended. @default 2000 */
  answerTimeoutMs: number;
  /** Lambda's retries of an asynchronous invocation that threw or timed out. @default 2 */
  lambdaAsyncRetries: number;
  /** Tag created secrets with aws:cloudformation:stack-name, stack-id and logical-id, as CloudFormation does. @default true */
  cloudFormationTags: boolean;
  /** Values of template parameters; the others take their Default or a dummy value. */
  parameters: Record<string, unknown>;
  /**
   * IAM's propagation, in resource actions: a policy change takes effect after this many further resources
   * (Infinity: when the operation ends). @default 0 (at once)
   */
  iamPropagationDelay: number;
}

export const DEFAULT_MODEL_OPTIONS: ModelOptions = {
  tieBreak: 'template',
  rotationTiming: 'immediate',
  rotationMaxAttempts: 2,
  answerTimeoutMs: 2000,
  lambdaAsyncRetries: 2,
  cloudFormationTags: true,
  parameters: {},
  iamPropagationDelay: 0,
};

/** One request CloudFormation sent to a custom resource's function, and what came back. */
export interface CustomResourceExchange {
  readonly stackName: string;
  readonly logicalId: string;
  readonly requestType: 'Create' | 'Update' | 'Delete';
  readonly requestId: string;
  /** The stack's status when CloudFormation sent it. */
  readonly phase: string;
  readonly physicalId?: string;
  readonly resourceProperties: Record<string, unknown>;
  readonly oldResourceProperties?: Record<string, unknown>;
  invocations: number;
  readonly invocationErrors: string[];
  answer?: { Status?: string; PhysicalResourceId?: string; Reason?: string; Data?: Record<string, unknown> };
}

/** A rotation a RotationSchedule (or the test, as Secrets Manager's schedule) started. */
export interface RotationRecord {
  readonly secretArn: string;
  readonly functionArn: string;
  readonly token: string;
  /** `<stack> <status>` when it ran. */
  readonly during: string;
  readonly completed: boolean;
  readonly errors: string[];
}

/** What the resource providers share: the services they act on and the records the tests read. */
export interface ModelServices {
  readonly env: Environment;
  /** Straight to moto: the model acts as CloudFormation and Secrets Manager, not as the function. */
  readonly sm: SecretsManagerClient;
  readonly iam: IamState;
  readonly ledger: SecretLedger;
  /** Secrets Manager's side of deletions: refusals, and the ledger entry written before a secret goes. */
  readonly deletions: SecretDeletions;
  readonly fleet: FunctionFleet;
  readonly recorder: ResponseRecorder;
  readonly options: ModelOptions;
  readonly exchanges: CustomResourceExchange[];
  readonly rotations: RotationRecord[];
  /** Broken CloudFormation contracts the model saw itself (an unanswered request, a malformed answer). */
  readonly violations: string[];
}
