import { createSecrets, rotateOnce, startRotationEnvironment } from './rotation-env';
import { MIB, round } from './stats';

export interface MemorySample {
  readonly afterRotations: number;
  readonly rssMiB: number;
}

export interface MemoryResult {
  readonly rotations: number;
  /** RSS of the function process right after it loaded the bundle. */
  readonly afterLoadRssMiB: number;
  /** RSS after the warm-up rotations (the first sample), and at the end. */
  readonly afterWarmUpRssMiB: number;
  readonly endRssMiB: number;
  /** End minus warm-up; "flat" when at most `flatToleranceMiB`. */
  readonly growthMiB: number;
  readonly flatToleranceMiB: number;
  readonly flat: boolean;
  readonly samples: MemorySample[];
  /** Peak RSS (getrusage ru_maxrss) of the function process over all rotations. */
  readonly peakRssMiB: number;
  readonly configuredMemoryMiB: number;
  /** Configured memory / peak RSS; the bench fails below `requiredHeadroom`. */
  readonly headroom: number;
  readonly requiredHeadroom: number;
  readonly pass: boolean;
  /** The smallest of 128 and 256 MB that leaves `requiredHeadroom` over the peak (what MemorySize should be). */
  readonly smallestSufficientMiB?: number;
  readonly method: string;
}

export const REQUIRED_HEADROOM = 2;
const CANDIDATE_SIZES_MIB = [128, 256];
const SAMPLE_EVERY = 100;
const FLAT_TOLERANCE_MIB = 8;

/**
 * A fresh function process (no call counting) doing `rotations` full rotations, its RSS sampled every hundred: after the
 * first hundred (warm-up: the SDK's and V8's lazily built parts exist) the curve must stay flat, else something retains.
 */
export async function measureMemory(bundle: string, configuredMemoryMiB: number, rotations = 1000, secretsCount = 5): Promise<MemoryResult> {
  const ctx = await startRotationEnvironment(bundle, { countSmCalls: false });
  try {
    const afterLoad = await ctx.host.memory();
    const secrets = await createSecrets(ctx, 'self', secretsCount);
    const samples: MemorySample[] = [];
    for (let i = 1; i <= rotations; i++) {
      await rotateOnce(ctx, secrets[i % secrets.length].arn);
      if (i % SAMPLE_EVERY === 0) samples.push({ afterRotations: i, rssMiB: round((await ctx.host.memory()).rssBytes / MIB) });
    }
    const after = await ctx.host.memory();
    const peakRssMiB = round(after.maxRssBytes / MIB);
    const headroom = round(configuredMemoryMiB / peakRssMiB, 2);
    const afterWarmUpRssMiB = samples[0]?.rssMiB ?? round(afterLoad.rssBytes / MIB);
    const endRssMiB = round(after.rssBytes / MIB);
    const growthMiB = round(endRssMiB - afterWarmUpRssMiB);
    return {
      rotations,
      afterLoadRssMiB: round(afterLoad.rssBytes / MIB),
      afterWarmUpRssMiB,
      endRssMiB,
      growthMiB,
      flatToleranceMiB: FLAT_TOLERANCE_MIB,
      flat: growthMiB <= FLAT_TOLERANCE_MIB,
      samples,
      peakRssMiB,
      configuredMemoryMiB,
      headroom,
      requiredHeadroom: REQUIRED_HEADROOM,
      pass: headroom >= REQUIRED_HEADROOM,
      smallestSufficientMiB: CANDIDATE_SIZES_MIB.find((size) => size / peakRssMiB >= REQUIRED_HEADROOM),
      method: 'One fresh node process (the harness\'s FunctionHost, test/e2e/harness/lambda-runtime-main.ts) loads the shipped bundle and ' +
        `runs ${rotations} full rotations (${secretsCount} self-rotating secrets, round robin) driven over IPC; moto, the emulator and the ` +
        `driver run in other processes. RSS is sampled every ${SAMPLE_EVERY} rotations; the first sample is the warm-up level, and ` +
        `the curve counts as flat when the end is at most ${FLAT_TOLERANCE_MIB} MiB above it. Peak RSS is the process's getrusage ` +
        'ru_maxrss. Configured memory is the MemorySize of the synthesized function.',
    };
  } finally {
    await ctx.stop();
  }
}
