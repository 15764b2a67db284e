/**
 * The benchmark suite: cold start, rotation latency and calls, memory, bundle size and synth scaling, each beside what
 * users would use instead, in one run on this machine. Prints a table and writes bench/results.json and
 * bench/RESULTS.md; exits non-zero when the function's memory headroom is below 2x.
 *
 * Run: npx projen bench
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { prepareBundles, REPO_ROOT, SHIPPED_BUNDLE } from './bundles';
import { measureColdStart } from './cold-start';
import { measureFanOut } from './fan-out';
import { describeMachine } from './machine';
import { measureMemory } from './memory';
import { BenchResults, machineLine, renderMarkdown, summaryTable } from './report';
import { measureRotationLatency } from './rotation-latency';
import { measureSynthScaling } from './synth-scaling';

/** What the projen task `bench` runs; quoted in RESULTS.md as the command that made the figures. */
export const BENCH_COMMAND = 'npx projen bench';

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function main(): Promise<number> {
  const started = Date.now();
  const machine = describeMachine();
  log(`machine: ${machineLine(machine)}`);

  log('bundle sizes (and building the @aws-sdk/* external variant into bench/tmp/)');
  const bundles = prepareBundles();

  log('cold start: 25 interleaved rounds of fresh processes');
  const coldStart = measureColdStart(bundles, 25);

  log('synth scaling: 1, 10, 100 secrets, both variants');
  const synth = measureSynthScaling([{ secrets: 1, runs: 5 }, { secrets: 10, runs: 5 }, { secrets: 100, runs: 3 }]);

  log('rotation latency and calls: self and admin modes, 60 measured rotations each');
  const rotation = await measureRotationLatency(SHIPPED_BUNDLE, 10, 6);

  log('memory: 1,000 rotations in a fresh function process');
  const memory = await measureMemory(SHIPPED_BUNDLE, synth.configuredMemoryMiB, 1000);

  const fanOut = [];
  for (const secrets of [60, 245]) {
    log(`fan-out: ${secrets} secrets at once against an Astra allowing 5 calls a second`);
    fanOut.push(await measureFanOut(SHIPPED_BUNDLE, secrets, 5));
  }

  const results: BenchResults = {
    command: BENCH_COMMAND,
    machine,
    durationSeconds: Math.round((Date.now() - started) / 1000),
    bundles: bundles.map((b) => ({ ...b, file: path.relative(REPO_ROOT, b.file) })),
    coldStart,
    rotation,
    memory,
    fanOut,
    synth,
  };
  writeFileSync(path.join(REPO_ROOT, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(path.join(REPO_ROOT, 'bench', 'RESULTS.md'), renderMarkdown(results));
  process.stdout.write(`\nMachine: ${machineLine(machine)}\n\n${summaryTable(results)}\n\nWritten: bench/results.json, bench/RESULTS.md\n`);
  if (!memory.flat) {
    process.stderr.write(`[bench] FAIL: RSS grew ${memory.growthMiB} MiB from the warm-up to rotation ${memory.rotations}\n`);
    return 1;
  }
  if (!memory.pass) {
    process.stderr.write(`[bench] FAIL: memory headroom ${memory.headroom}x is below ${memory.requiredHeadroom}x ` +
      `(peak RSS ${memory.peakRssMiB} MiB, configured ${memory.configuredMemoryMiB} MB)\n`);
    return 1;
  }
  return 0;
}

main().then((code) => {
  process.exitCode = code;
}, (error: Error) => {
  process.stderr.write(`[bench] failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
