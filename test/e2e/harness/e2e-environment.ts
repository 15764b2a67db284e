import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AstraEmulatorProcess } from './astra-emulator-process';
import { InvariantChecker } from './invariants';
import { LambdaRuntime } from './lambda-runtime';
import { LogCapture } from './log-capture';
import { MotoCreatedDateProxy } from './moto-created-date-proxy';
import { MotoServer, startMoto } from './moto-server';
import { assertBundleBuilt, fastHandlerEnvironment, HandlerEnvironment, RotationDriver } from './rotation-driver';
import { secretsManagerClient, SecretsFixture } from './secrets-fixture';

export interface E2EEnvironment {
  moto: MotoServer;
  /** What every client talks to instead of moto itself (see moto-created-date-proxy.ts). */
  smProxy: MotoCreatedDateProxy;
  astra: AstraEmulatorProcess;
  sm: SecretsManagerClient;
  logs: LogCapture;
  /** The bundled handler, loaded once in its own process: every rotation of the file goes through it. */
  lambda: LambdaRuntime;
  env: HandlerEnvironment;
  driver: RotationDriver;
  secrets: SecretsFixture;
  invariants: InvariantChecker;
}

/**
 * Registers beforeAll/afterAll that start moto and the emulator on free loopback ports for this test file, load the
 * bundled handler once in its own process, and stop everything afterwards, also when a test failed.
 */
export function useE2EEnvironment(prefix: string): E2EEnvironment {
  const ctx = {} as E2EEnvironment;
  beforeAll(async () => {
    ctx.logs = new LogCapture();
    const bundle = assertBundleBuilt();
    [ctx.moto, ctx.astra, ctx.lambda] = await Promise.all([startMoto(), AstraEmulatorProcess.start(), LambdaRuntime.start(bundle, ctx.logs)]);
    ctx.smProxy = await MotoCreatedDateProxy.start(ctx.moto.endpoint);
    ctx.sm = secretsManagerClient(ctx.smProxy.endpoint);
    ctx.env = fastHandlerEnvironment(ctx.smProxy.endpoint, ctx.astra.url);
    ctx.driver = new RotationDriver(ctx.sm, (event, env) => ctx.lambda.invoke(event, env), () => ctx.env);
    ctx.secrets = new SecretsFixture(ctx.sm, ctx.astra, prefix);
    ctx.invariants = new InvariantChecker(ctx.secrets, ctx.astra, ctx.logs);
  }, 60_000);
  afterAll(async () => {
    ctx.sm?.destroy();
    await Promise.allSettled([ctx.smProxy?.stop(), ctx.moto?.stop(), ctx.astra?.stop(), ctx.lambda?.stop()]);
  }, 30_000);
  return ctx;
}
