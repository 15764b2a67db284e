import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CloudFormationApi } from './cloudformation-api';
import { CloudFormationModel } from './cloudformation-model';
import { FunctionFleet } from './function-fleet';
import { IamProxy } from './iam-proxy';
import { IamState } from './iam-state';
import { LifecycleInvariants } from './lifecycle-invariants';
import { DEFAULT_MODEL_OPTIONS, ModelOptions, ModelServices } from './model-services';
import { MODEL_ENVIRONMENT } from './resource-names';
import { ResponseRecorder } from './response-recorder';
import { SecretDeletions } from './secret-deletions';
import { SecretLedger } from './secret-ledger';
import { AstraEmulatorProcess } from '../astra-emulator-process';
import { LogCapture } from '../log-capture';
import { MotoServer, startMoto } from '../moto-server';
import { assertBundleBuilt } from '../rotation-driver';
import { secretsManagerClient } from '../secrets-fixture';

export interface LifecycleEnvironment {
  readonly moto: MotoServer;
  readonly astra: AstraEmulatorProcess;
  /** The test's own client, straight to moto. */
  readonly sm: SecretsManagerClient;
  readonly logs: LogCapture;
  readonly recorder: ResponseRecorder;
  /** The function's CLOUDFORMATION_ENDPOINT. */
  readonly cloudFormationApi: CloudFormationApi;
  /** The function's SECRETS_MANAGER_ENDPOINT. */
  readonly iamProxy: IamProxy;
  readonly fleet: FunctionFleet;
  readonly model: CloudFormationModel;
  readonly invariants: LifecycleInvariants;
  /** Secrets Manager's side of deletions: a test makes it refuse to delete a secret. */
  readonly deletions: SecretDeletions;
  stop(): Promise<void>;
}

export interface LifecycleEnvironmentOptions extends Partial<ModelOptions> {
  /** Every function's timeout instead of its template's. */
  readonly functionTimeoutMs?: number;
  /** Settings for every function under its template's variables (see FleetOptions.extraEnvironment). */
  readonly extraEnvironment?: Record<string, string>;
  /** ListStackResources page size of the CloudFormation stand-in. @default 100 */
  readonly pageSize?: number;
}

/** Starts moto, the Astra emulator and the model's stand-ins on loopback ports, and the model over them. */
export async function startLifecycleEnvironment(options: LifecycleEnvironmentOptions = {}): Promise<LifecycleEnvironment> {
  const bundlePath = assertBundleBuilt();
  const [moto, astra, recorder] = await Promise.all([startMoto(), AstraEmulatorProcess.start(), ResponseRecorder.start()]);
  const sm = secretsManagerClient(moto.endpoint);
  const logs = new LogCapture();
  let model: CloudFormationModel | undefined;
  const cloudFormationApi = await CloudFormationApi.start({
    stacks: () => model?.stacks() ?? [],
    identify: (key) => model?.identify(key),
  }, { pageSize: options.pageSize });
  const ledger = new SecretLedger();
  const deletions = new SecretDeletions(sm, ledger);
  const iamProxy = await IamProxy.start(moto.endpoint, sm, MODEL_ENVIRONMENT, (key) => model?.identify(key), deletions);
  const fleet = new FunctionFleet(bundlePath, logs, {
    secretsManager: iamProxy.url, astra: astra.url, cloudFormation: cloudFormationApi.url, region: MODEL_ENVIRONMENT.region,
  }, (arn) => model?.functionDefinition(arn), { functionTimeoutMs: options.functionTimeoutMs, extraEnvironment: options.extraEnvironment });
  const modelOptions: ModelOptions = { ...DEFAULT_MODEL_OPTIONS, ...withoutUndefined(options) };
  const services: ModelServices = {
    env: MODEL_ENVIRONMENT,
    sm,
    iam: new IamState(() => modelOptions.iamPropagationDelay),
    ledger,
    deletions,
    fleet,
    recorder,
    options: modelOptions,
    exchanges: [],
    rotations: [],
    violations: [],
  };
  model = new CloudFormationModel(services);
  const invariants = new LifecycleInvariants(services, astra, sm);
  await invariants.baseline();
  const stop = async () => {
    sm.destroy();
    await Promise.allSettled([fleet.stop(), cloudFormationApi.stop(), iamProxy.stop(), recorder.stop(), moto.stop(), astra.stop()]);
  };
  return { moto, astra, sm, logs, recorder, cloudFormationApi, iamProxy, fleet, model, invariants, deletions, stop };
}

/**
 * Registers beforeAll/afterAll that start the environment for a test file and stop it afterwards, also when a test
 * failed. Each file gets one model; tests make stacks of their own names in it.
 */
export function useLifecycleEnvironment(options: LifecycleEnvironmentOptions = {}): LifecycleEnvironment {
  const ctx = {} as { current?: LifecycleEnvironment };
  beforeAll(async () => {
    ctx.current = await startLifecycleEnvironment(options);
  }, 60_000);
  afterAll(async () => {
    await ctx.current?.stop();
  }, 30_000);
  return new Proxy({} as LifecycleEnvironment, {
    get: (_target, property) => {
      if (!ctx.current) throw new Error('the lifecycle environment is not started (use it inside a test)');
      return ctx.current[property as keyof LifecycleEnvironment];
    },
  });
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
