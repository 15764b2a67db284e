import { createSecrets, rotateOnce, startRotationEnvironment } from './rotation-env';
import { MIB, round } from './stats';

export interface MemoryResult {
  readonly rotations: number;
  /** RSS of the function process right after it loaded the bundle. */
  readonly afterLoadRssMiB: number;
  /** Peak RSS (getrusage ru_maxrss) of the function process over all rotations. */
  readonly peakRssMiB: number;
  readonly configuredMemoryMiB: number;
  /** Configured memory / peak RSS; the bench fails below `requiredHeadroom`. */
  readonly headroom: number;
  readonly requiredHeadroom: number;
  readonly pass: boolean;
  readonly method: string;
}

export const REQUIRED_HEADROOM = 2;

/** A fresh function process (no call counting) doing `rotations` full rotations; its own peak RSS. */
export async function measureMemory(bundle: string, configuredMemoryMiB: number, rotations = 50, secretsCount = 5): Promise<MemoryResult> {
  const ctx = await startRotationEnvironment(bundle, { countSmCalls: false });
  try {
    const afterLoad = await ctx.host.memory();
    const secrets = await createSecrets(ctx, 'self', secretsCount);
    for (let i = 0; i < rotations; i++) await rotateOnce(ctx, secrets[i % secrets.length].arn);
    const after = await ctx.host.memory();
    const peakRssMiB = round(after.maxRssBytes / MIB);
    const headroom = round(configuredMemoryMiB / peakRssMiB, 2);
    return {
      rotations,
      afterLoadRssMiB: round(afterLoad.rssBytes / MIB),
      peakRssMiB,
      configuredMemoryMiB,
      headroom,
      requiredHeadroom: REQUIRED_HEADROOM,
      pass: headroom >= REQUIRED_HEADROOM,
      method: `One fresh node process (the harness's FunctionHost, test/e2e/harness/lambda-runtime-main.ts) loads the shipped bundle and runs ${rotations} full rotations ` +
        `(${secretsCount} self-rotating secrets, round robin) driven over IPC; moto, the emulator and the driver run in other ` +
        'processes. Peak RSS is that process\'s getrusage ru_maxrss. Configured memory is the MemorySize of the synthesized function.',
    };
  } finally {
    await ctx.stop();
  }
}
