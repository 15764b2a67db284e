import { AstraClient } from './astra-client';
import { readConfig } from './config';
import { messageOf } from './errors';
import { StepReport, writeLogLine } from './log';
import { Redactor } from './redact';
import { Rotation, StepName, openRotation, parseEvent } from './rotation';
import { SecretStore, regionOf, secretsManagerClient } from './secrets';
import { createSecret } from './steps/create-secret';
import { finishSecret } from './steps/finish-secret';
import { setSecret } from './steps/set-secret';
import { testSecret } from './steps/test-secret';

const STEPS: Record<StepName, (rotation: Rotation) => Promise<string>> = { createSecret, setSecret, testSecret, finishSecret };

/** The error the handler throws: its message names the step, secret and version and holds no secret material. */
export class RotationStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationStepError';
  }
}

/** Secrets Manager rotation entry point: `{Step, SecretId, ClientRequestToken, RotationToken?}`. */
export async function handler(event: unknown): Promise<void> {
  const started = Date.now();
  const redactor = new Redactor();
  const fields = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const report = new StepReport(
    typeof fields.Step === 'string' ? fields.Step : '(no step)',
    typeof fields.SecretId === 'string' ? fields.SecretId : '(no SecretId)',
    typeof fields.ClientRequestToken === 'string' ? fields.ClientRequestToken : '(no ClientRequestToken)',
  );
  try {
    const rotationEvent = parseEvent(event);
    const config = readConfig(process.env);
    const store = new SecretStore(secretsManagerClient(config.secretsManagerEndpoint, regionOf(rotationEvent.secretId)));
    const astra = new AstraClient(config, redactor);
    const rotation = await openRotation(rotationEvent, { store, astra, config, redactor, report });
    const outcome = rotation ? await STEPS[rotationEvent.step](rotation) : 'already-current';
    writeLogLine(report.toLogLine(outcome, Date.now() - started), redactor);
  } catch (error) {
    const message = redactor.redact(`${report.step} of ${report.secretArn} (version ${report.version}) failed: ${messageOf(error)}`);
    writeLogLine(report.toLogLine('failed', Date.now() - started, message), redactor);
    // A fresh error: the original may carry secret material in its fields or cause chain.
    throw new RotationStepError(message);
  }
}
