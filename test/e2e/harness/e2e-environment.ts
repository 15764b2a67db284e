import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AstraEmulatorProcess } from './astra-emulator-process';
import { FunctionHost } from './function-host';
import { InvariantChecker } from './invariants';
import { KillSwitch } from './kill-switch';
import { LogCapture } from './log-capture';
import { MotoServer, startMoto } from './moto-server';
import { assertBundleBuilt, fastHandlerEnvironment, HandlerEnvironment, RotationDriver } from './rotation-driver';
import { secretsManagerClient, SecretsFixture } from './secrets-fixture';

export interface E2EEnvironment {
  moto: MotoServer;
  astra: AstraEmulatorProcess;
  sm: SecretsManagerClient;
  logs: LogCapture;
  /** The bundled handler in its own process, restarted after a kill: every rotation of the file goes through it. */
  lambda: FunctionHost;
  /** Between the function and its servers: counts its calls and kills it at a chosen one. */
  killSwitch: KillSwitch;
  env: HandlerEnvironment;
  driver: RotationDriver;
  secrets: SecretsFixture;
  invariants: InvariantChecker;
}

/**
 * Registers beforeAll/afterAll that start moto and the emulator on free loopback ports for this test file, load the
 * bundled handler in its own process, and stop everything afterwards, also when a test failed.
 */
export function useE2EEnvironment(prefix: string, options: { functionTimeoutMs?: number } = {}): E2EEnvironment {
  const ctx = {} as E2EEnvironment;
  beforeAll(async () => {
    ctx.logs = new LogCapture();
    ctx.lambda = new FunctionHost(assertBundleBuilt(), ctx.logs, { functionTimeoutMs: options.functionTimeoutMs });
    [ctx.moto, ctx.astra] = await Promise.all([startMoto(), AstraEmulatorProcess.start(), ctx.lambda.start()]);
    ctx.killSwitch = await KillSwitch.start({ 'secrets-manager': ctx.moto.endpoint, 'astra': ctx.astra.url }, (reason) => ctx.lambda.kill(reason));
    ctx.sm = secretsManagerClient(ctx.moto.endpoint);
    ctx.env = fastHandlerEnvironment(ctx.killSwitch.url('secrets-manager'), ctx.killSwitch.url('astra'));
    ctx.driver = new RotationDriver(ctx.sm, async (event, env) => {
      await ctx.lambda.invoke(event, env);
    }, () => ctx.env);
    ctx.secrets = new SecretsFixture(ctx.sm, ctx.astra, prefix);
    ctx.invariants = new InvariantChecker(ctx.secrets, ctx.astra, ctx.logs);
  }, 60_000);
  afterAll(async () => {
    ctx.sm?.destroy();
    await Promise.allSettled([ctx.killSwitch?.stop(), ctx.moto?.stop(), ctx.astra?.stop(), ctx.lambda?.stop()]);
  }, 30_000);
  return ctx;
}
