import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AstraEmulatorProcess } from './astra-emulator-process';
import { InvariantChecker } from './invariants';
import { LogCapture } from './log-capture';
import { MotoServer, startMoto } from './moto-server';
import { fastHandlerEnvironment, HandlerEnvironment, loadBundledHandler, RotationDriver, RotationHandler } from './rotation-driver';
import { secretsManagerClient, SecretsFixture } from './secrets-fixture';

export interface E2EEnvironment {
  moto: MotoServer;
  astra: AstraEmulatorProcess;
  sm: SecretsManagerClient;
  logs: LogCapture;
  handler: RotationHandler;
  env: HandlerEnvironment;
  driver: RotationDriver;
  secrets: SecretsFixture;
  invariants: InvariantChecker;
}

/**
 * Registers beforeAll/afterAll that start moto and the emulator on free loopback ports for this test file, load the
 * bundled handler once, and stop everything afterwards, also when a test failed.
 */
export function useE2EEnvironment(prefix: string): E2EEnvironment {
  const ctx = {} as E2EEnvironment;
  beforeAll(async () => {
    ctx.logs = new LogCapture();
    [ctx.moto, ctx.astra] = await Promise.all([startMoto(), AstraEmulatorProcess.start()]);
    ctx.sm = secretsManagerClient(ctx.moto.endpoint);
    ctx.env = fastHandlerEnvironment(ctx.moto.endpoint, ctx.astra.url);
    ctx.handler = loadBundledHandler();
    ctx.driver = new RotationDriver(ctx.sm, ctx.handler, () => ctx.env);
    ctx.secrets = new SecretsFixture(ctx.sm, ctx.astra, prefix);
    ctx.invariants = new InvariantChecker(ctx.secrets, ctx.astra, ctx.logs);
    ctx.logs.install();
  }, 60_000);
  afterAll(async () => {
    ctx.logs?.uninstall();
    ctx.sm?.destroy();
    await Promise.allSettled([ctx.moto?.stop(), ctx.astra?.stop()]);
  }, 30_000);
  return ctx;
}
