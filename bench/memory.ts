import { createSecrets, rotateOnce, startRotationEnvironment } from './rotation-env';
import { MIB, round } from './stats';

export interface MemorySample {
  readonly afterRotations: number;
  readonly rssMiB: number;
  /** V8's used heap after a full collection: what the process retains. */
  readonly heapAfterGcMiB?: number;
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
  /** Each MemorySize tried, its peak RSS under that size's heap limits, and the headroom it leaves. */
  readonly candidates: MemoryCandidate[];
  /** The smallest of 128 and 256 MB that leaves `requiredHeadroom` over its own peak (what MemorySize should be). */
  readonly smallestSufficientMiB?: number;
  readonly method: string;
}

export interface MemoryCandidate {
  readonly memorySizeMiB: number;
  readonly rotations: number;
  readonly peakRssMiB: number;
  readonly headroom: number;
}

export const REQUIRED_HEADROOM = 2;
const CANDIDATE_SIZES_MIB = [128, 256];
const SAMPLE_EVERY = 100;
const FLAT_TOLERANCE_MIB = 8;
const SECRETS = 5;

/**
 * A fresh function process, started with Lambda's heap limits for the configured MemorySize, doing `rotations` full
 * rotations, its RSS sampled every hundred: after the first hundred (warm-up: the SDK's and V8's lazily built parts
 * exist) the curve must stay flat, else something retains. Each smaller candidate size then runs `candidateRotations`
 * rotations under its own heap limits, since V8 collects sooner in a smaller function.
 */
export async function measureMemory(bundle: string, configuredMemoryMiB: number, rotations = 1000, candidateRotations = 300): Promise<MemoryResult> {
  const run = await rotateInOneProcess(bundle, configuredMemoryMiB, rotations);
  const peakRssMiB = round(run.maxRssBytes / MIB);
  const candidates: MemoryCandidate[] = [];
  for (const size of CANDIDATE_SIZES_MIB) {
    const peak = size === configuredMemoryMiB ? peakRssMiB : round((await rotateInOneProcess(bundle, size, candidateRotations)).maxRssBytes / MIB);
    const runRotations = size === configuredMemoryMiB ? rotations : candidateRotations;
    candidates.push({ memorySizeMiB: size, rotations: runRotations, peakRssMiB: peak, headroom: round(size / peak, 2) });
  }
  const headroom = round(configuredMemoryMiB / peakRssMiB, 2);
  const afterWarmUpRssMiB = run.samples[0]?.rssMiB ?? round(run.afterLoadRssBytes / MIB);
  const endRssMiB = round(run.endRssBytes / MIB);
  const growthMiB = round(endRssMiB - afterWarmUpRssMiB);
  return {
    rotations,
    afterLoadRssMiB: round(run.afterLoadRssBytes / MIB),
    afterWarmUpRssMiB,
    endRssMiB,
    growthMiB,
    flatToleranceMiB: FLAT_TOLERANCE_MIB,
    flat: growthMiB <= FLAT_TOLERANCE_MIB,
    samples: run.samples,
    peakRssMiB,
    configuredMemoryMiB,
    headroom,
    requiredHeadroom: REQUIRED_HEADROOM,
    pass: headroom >= REQUIRED_HEADROOM,
    candidates,
    smallestSufficientMiB: candidates.find((c) => c.headroom >= REQUIRED_HEADROOM)?.memorySizeMiB,
    method: 'One fresh node process (the harness\'s FunctionHost, test/e2e/harness/lambda-runtime-main.ts) loads the shipped bundle and ' +
      `runs ${rotations} full rotations (${SECRETS} self-rotating secrets, round robin) driven over IPC; moto, the emulator and the ` +
      'driver run in other processes. The process starts with the V8 heap limits that Lambda\'s Node.js runtime sets for the ' +
      `configured MemorySize (a tenth for the young generation, the rest for the old). RSS is sampled every ${SAMPLE_EVERY} rotations; ` +
      `the first sample is the warm-up level, and the curve counts as flat when the end is at most ${FLAT_TOLERANCE_MIB} MiB above it. ` +
      'Peak RSS is the process\'s getrusage ru_maxrss. Configured memory is the MemorySize of the synthesized function. Each other ' +
      `candidate size (${CANDIDATE_SIZES_MIB.join(', ')} MB) runs ${candidateRotations} rotations in its own process under its own heap limits.`,
  };
}

interface ProcessRun {
  readonly afterLoadRssBytes: number;
  readonly endRssBytes: number;
  readonly maxRssBytes: number;
  readonly samples: MemorySample[];
}

async function rotateInOneProcess(bundle: string, memorySizeMiB: number, rotations: number): Promise<ProcessRun> {
  const ctx = await startRotationEnvironment(bundle, { countSmCalls: false, memorySizeMiB });
  try {
    const afterLoad = await ctx.host.memory();
    const secrets = await createSecrets(ctx, 'self', SECRETS);
    const samples: MemorySample[] = [];
    for (let i = 1; i <= rotations; i++) {
      await rotateOnce(ctx, secrets[i % secrets.length].arn);
      if (i % SAMPLE_EVERY === 0) {
        const m = await ctx.host.memory();
        const heapAfterGcMiB = m.heapUsedAfterGcBytes === undefined ? undefined : round(m.heapUsedAfterGcBytes / MIB);
        samples.push({ afterRotations: i, rssMiB: round(m.rssBytes / MIB), heapAfterGcMiB });
      }
    }
    const end = await ctx.host.memory();
    return { afterLoadRssBytes: afterLoad.rssBytes, endRssBytes: end.rssBytes, maxRssBytes: end.maxRssBytes, samples };
  } finally {
    await ctx.stop();
  }
}
