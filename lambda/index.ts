import { AstraClient } from './clients/astra-client';
import { DEFAULT_INVOCATION_MS, endpointSetting, readConfig } from './clients/config';
import { SecretStore, regionOf, secretsManagerClient } from './clients/secret-store';
import { InvocationContext, TimeBudget } from './clients/time-budget';
import { handleSecretEvent, isSecretEvent, SecretEvent, secretArnOf } from './events/secret-events';
import { RotationFailure, messageOf, rateLimitRemedy, reasonOf } from './logging/errors';
import { Redactor } from './logging/redact';
import { StepReport, writeLogLine } from './logging/step-report';
import { Rotation, StepName, openRotation, parseEvent } from './rotation/rotation';
import { createSecret } from './rotation/steps/create-secret';
import { finishSecret } from './rotation/steps/finish-secret';
import { setSecret } from './rotation/steps/set-secret';
import { testSecret } from './rotation/steps/test-secret';
import { CustomResourceEvent, handleTeardown, isCustomResourceEvent } from './teardown/teardown';

const STEPS: Record<StepName, (rotation: Rotation) => Promise<string>> = { createSecret, setSecret, testSecret, finishSecret };

/** The error the handler throws: its message names the step, secret and version and holds no secret material. */
export class RotationStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationStepError';
  }
}

/**
 * Secrets Manager rotation entry point: `{Step, SecretId, ClientRequestToken, RotationToken?}` and Lambda's context.
 * The same function is the token teardown custom resource of its secrets (CloudFormation's requests, see teardown.ts)
 * and the filter of Secrets Manager's events about them (EventBridge's, see secret-events.ts).
 */
export async function handler(event: unknown, context?: InvocationContext): Promise<void> {
  if (isCustomResourceEvent(event)) return teardown(event, context);
  if (isSecretEvent(event)) return secretEvent(event, context);
  const started = Date.now();
  const redactor = new Redactor();
  const fields = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const report = new StepReport(
    typeof fields.Step === 'string' ? fields.Step : '(no step)',
    typeof fields.SecretId === 'string' ? fields.SecretId : '(no SecretId)',
    typeof fields.ClientRequestToken === 'string' ? fields.ClientRequestToken : '(no ClientRequestToken)',
  );
  let used: ReturnType<typeof services> | undefined;
  try {
    const rotationEvent = parseEvent(event);
    used = services(regionOf(rotationEvent.secretId), context, redactor);
    const rotation = await openRotation(rotationEvent, { ...used, report });
    // finishSecret still owes its revocations after the promotion, so it runs on a version already AWSCURRENT.
    const outcome = rotation.alreadyCurrent && rotationEvent.step !== 'finishSecret' ? 'already-current' : await STEPS[rotationEvent.step](rotation);
    writeLogLine(report.toLogLine(outcome, Date.now() - started), redactor);
    for (const alert of report.alerts) writeLogLine(alert, redactor);
  } catch (error) {
    // A step the rate limit stopped says so whatever call it stopped at, and not the remedy of that call's other failures;
    // a remedy that asks a person to act stays.
    const handsOn = error instanceof RotationFailure && error.handsOn;
    const limitedBy = handsOn ? undefined : used?.astra.rateLimitedOut ? 'Astra' : used?.store.throttledOut ? 'Secrets Manager' : undefined;
    const what = limitedBy ? `${reasonOf(error)} ${rateLimitRemedy(limitedBy)}` : messageOf(error);
    const message = redactor.redact(`${report.step} of ${report.secretArn} (version ${report.version}) failed: ${what}`);
    writeLogLine(report.toLogLine('failed', Date.now() - started, message), redactor);
    // A fresh error: the original may carry secret material in its fields or cause chain.
    throw new RotationStepError(message);
  }
}

async function teardown(event: CustomResourceEvent, context?: InvocationContext): Promise<void> {
  const redactor = new Redactor();
  const region = process.env.AWS_REGION || /^arn:[^:]+:cloudformation:([^:]+):/.exec(event.StackId)?.[1];
  await handleTeardown(event, () => {
    const base = services(region, context, redactor);
    const endpoint = endpointSetting(process.env, 'CLOUDFORMATION_ENDPOINT');
    return {
      ...base,
      deployedStackId: process.env.STACK_ID?.trim() || undefined,
      // Loaded on the teardown's first request only: a rotation step never pays for the CloudFormation client.
      readStack: (stackId: string) => loadCloudFormation()
        .readStackState(stackId, { endpoint, region, requestTimeoutMs: base.config.secretsManagerTimeoutMs }),
    };
  }, redactor);
}

/** Required on the teardown's first request only: the bundle evaluates it then, so a rotation step never pays for it. */
function loadCloudFormation(): typeof import('./clients/cloudformation') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./clients/cloudformation');
}

async function secretEvent(event: SecretEvent, context?: InvocationContext): Promise<void> {
  const redactor = new Redactor();
  const { store } = services(regionOf(secretArnOf(event) ?? ''), context, redactor);
  await handleSecretEvent(event, {
    describe: (secretArn) => store.describeIfAllowed(secretArn),
    functionArn: context?.invokedFunctionArn,
    roleName: process.env.FUNCTION_ROLE_NAME?.trim() || undefined,
  }, redactor);
}

/** What every invocation works with, built from the environment it carries (it may change between invocations). */
function services(region: string | undefined, context: InvocationContext | undefined, redactor: Redactor) {
  const config = readConfig(process.env);
  const budget = TimeBudget.of(context, config.timeMarginMs, DEFAULT_INVOCATION_MS);
  const store = new SecretStore(secretsManagerClient(config.secretsManagerEndpoint, region, config.secretsManagerTimeoutMs), budget);
  return { config, budget, store, astra: new AstraClient(config, redactor, budget), redactor };
}
