import { AstraEmulatorProcess } from '../test/e2e/harness/astra-emulator-process';
import { FunctionHost } from '../test/e2e/harness/function-host';
import { InvocationResult } from '../test/e2e/harness/lambda-runtime';
import { LogCapture } from '../test/e2e/harness/log-capture';
import { MotoServer, startMoto } from '../test/e2e/harness/moto-server';
import { fastHandlerEnvironment, HandlerEnvironment, RotationDriver, StepName } from '../test/e2e/harness/rotation-driver';
import { RotatedSecret, RotationMode, SecretsFixture, secretsManagerClient } from '../test/e2e/harness/secrets-fixture';

export interface RotationEnvironment {
  readonly moto: MotoServer;
  readonly astra: AstraEmulatorProcess;
  readonly sm: ReturnType<typeof secretsManagerClient>;
  readonly host: FunctionHost;
  readonly driver: RotationDriver;
  readonly secrets: SecretsFixture;
  /** The result of the host's last invocation (its duration and Secrets Manager calls). */
  lastInvocation?: InvocationResult;
  stop(): Promise<void>;
}

/**
 * moto and the Astra emulator from the e2e harness, the bundle in its own warm process (the harness's FunctionHost), and
 * the harness's RotationDriver doing what Secrets Manager does. The handler runs with the production defaults of
 * docs/rotation-design.md (timeouts, retries), not the e2e suite's short ones: no fault is injected, so none fires.
 */
export async function startRotationEnvironment(
  bundle: string, options: { countSmCalls: boolean; memorySizeMiB?: number },
): Promise<RotationEnvironment> {
  // The handler's log lines are not needed here: a capture that keeps none, so that long runs do not hold them.
  const host = new FunctionHost(bundle, new LogCapture({ keep: false }), {
    functionTimeoutMs: 180_000, countSmCalls: options.countSmCalls, memorySizeMiB: options.memorySizeMiB,
  });
  const [moto, astra] = await Promise.all([startMoto(), AstraEmulatorProcess.start(), host.start()]);
  const sm = secretsManagerClient(moto.endpoint);
  const env: HandlerEnvironment = {
    ...fastHandlerEnvironment(moto.endpoint, astra.url),
    ASTRA_HTTP_TIMEOUT_MS: '10000',
    ASTRA_HTTP_MAX_ATTEMPTS: '4',
    ASTRA_RETRY_BASE_MS: '250',
    ASTRA_TEST_ATTEMPTS: '5',
    ASTRA_TEST_RETRY_DELAY_MS: '1000',
  };
  const ctx = {} as RotationEnvironment;
  const invoke = async (event: unknown): Promise<void> => {
    ctx.lastInvocation = undefined;
    ctx.lastInvocation = await host.invoke(event, { ...env });
  };
  Object.assign(ctx, {
    moto,
    astra,
    sm,
    host,
    driver: new RotationDriver(sm, invoke, () => env),
    secrets: new SecretsFixture(sm, astra, 'bench'),
    stop: async () => {
      sm.destroy();
      await Promise.allSettled([moto.stop(), astra.stop(), host.stop()]);
    },
  });
  return ctx;
}

export function createSecrets(ctx: RotationEnvironment, mode: RotationMode, count: number): Promise<RotatedSecret[]> {
  // The construct tags every secret with its policy; AT_NEXT_ROTATION is its default.
  return Promise.all(Array.from({ length: count }, () => ctx.secrets.createRotatedSecret({ mode, policyTag: 'AT_NEXT_ROTATION' })));
}

export interface StepSample {
  readonly step: StepName;
  readonly durationMs: number;
  readonly smCalls: Record<string, number>;
  readonly astraCalls: Record<string, number>;
}

export interface RotationSample {
  readonly secretArn: string;
  /** Sum of the four step invocations, as the parent saw them (IPC included, the driver's own calls excluded). */
  readonly durationMs: number;
  readonly steps: StepSample[];
}

/** One full rotation; fails the bench if any step failed. Astra calls are attributed to steps via the emulator's log. */
export async function rotateOnce(ctx: RotationEnvironment, secretArn: string): Promise<RotationSample> {
  const steps: StepSample[] = [];
  let stepStart = 0;
  let astraSeen = (await ctx.astra.records()).requests.length;
  const result = await ctx.driver.rotate(secretArn, {
    maxAttempts: 1,
    beforeStep: () => {
      stepStart = performance.now();
    },
    afterStep: async (stepCtx, error) => {
      const durationMs = performance.now() - stepStart;
      if (error) throw new Error(`${stepCtx.step} of ${secretArn} failed during the bench: ${error.message}`);
      const requests = (await ctx.astra.records()).requests;
      const astraCalls: Record<string, number> = {};
      for (const r of requests.slice(astraSeen)) {
        const key = `${r.method} ${r.path.replace(/\/v2\/clientIdSecrets\/[^/?]+/, '/v2/clientIdSecrets/{id}')} ${r.status}`;
        astraCalls[key] = (astraCalls[key] ?? 0) + 1;
      }
      astraSeen = requests.length;
      steps.push({ step: stepCtx.step, durationMs, smCalls: { ...(ctx.lastInvocation?.smCalls ?? {}) }, astraCalls });
    },
  });
  if (!result.completed) throw new Error(`rotation of ${secretArn} did not complete: ${result.errors.map((e) => e.message).join('; ')}`);
  return { secretArn, durationMs: steps.reduce((sum, s) => sum + s.durationMs, 0), steps };
}
