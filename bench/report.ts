import { BundleVariant, LEFT_OUT } from './bundles';
import { ColdStartResult } from './cold-start';
import { FanOutResult } from './fan-out';
import { Machine } from './machine';
import { MemoryResult } from './memory';
import { CallCount, LatencyResult } from './rotation-latency';
import { SynthResult } from './synth-scaling';

export interface BenchResults {
  readonly command: string;
  readonly machine: Machine;
  readonly durationSeconds: number;
  readonly bundles: BundleVariant[];
  readonly coldStart: ColdStartResult;
  readonly rotation: LatencyResult;
  readonly memory: MemoryResult;
  readonly fanOut: FanOutResult[];
  readonly synth: SynthResult;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const num = (n: number) => n.toLocaleString('en-US');

function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${num(m.totalMemoryMiB)} MiB RAM, ${m.os}, function on node ${m.functionNode} (tools on ${m.node}), ${m.python}`;
}

/** The calls a rotation makes beyond the contract's minimum, one line each. */
export function extraCalls(calls: CallCount[]): string[] {
  return calls.filter((c) => c.measured > c.minimum).map((c) => `${c.step}: ${c.call} +${c.measured - c.minimum} (${c.extraReason})`);
}

/** The summary printed to the console and opening RESULTS.md. */
export function summaryTable(r: BenchResults): string {
  const cs = (name: string) => r.coldStart.subjects.find((s) => s.name === name)!;
  const bundle = (name: string) => r.bundles.find((b) => b.name === name)!;
  const synth = (variant: string, n: number) => r.synth.points.find((p) => p.variant === variant && p.secrets === n)!;
  const limit = (variant: string) => r.synth.limits.find((l) => l.variant === variant)!;
  const rows: Array<Array<string | number>> = [
    ['Cold start, shipped bundle (SDK bundled+minified)', `${cs('node-bundled').medianMs} ms`, `median of ${cs('node-bundled').runs} fresh processes`],
    ...LEFT_OUT.map((l) => [`Cold start, the same with ${l.description} put back`, `${cs(`node-${l.name}`).medianMs} ms`,
      `median of ${cs(`node-${l.name}`).runs}; leaving it out saves ${r.coldStart.leftOutSavesMs[l.name]} ms`]),
    ['Cold start, the same with everything left out put back', `${cs('node-with-all-left-out').medianMs} ms`,
      `median of ${cs('node-with-all-left-out').runs}; leaving it all out saves ${r.coldStart.leftOutSavesMs['with-all-left-out']} ms`],
    ['Cold start, bundle with @aws-sdk/* external', `${cs('node-external').medianMs} ms`, `median of ${cs('node-external').runs} fresh processes`],
    ['Load overhead above bare node, of boto3\'s load', `${r.coldStart.overheadOfBoto3.bundled} (with everything put back: ${r.coldStart.overheadOfBoto3['with-all-left-out']})`,
      '(bundle - node -e 0) / python3+boto3, medians; goal at most 0.12'],
    ['Cold start, python3 + boto3 (DataStax rotator)', `${cs('python-boto3').medianMs} ms`, `median of ${cs('python-boto3').runs} fresh processes`],
    ['Python / shipped bundle', `${r.coldStart.pythonOverBundled}x`, 'ratio of medians'],
    ['Python / external bundle', `${r.coldStart.pythonOverExternal}x`, 'ratio of medians'],
    ['Baselines: node -e 0 / python3 -c pass', `${cs('node-empty').medianMs} / ${cs('python-empty').medianMs} ms`, `medians of ${cs('node-empty').runs}`],
  ];
  for (const m of r.rotation.modes) {
    rows.push([`Rotation latency (${m.mode}), 4 steps`, `p50 ${m.p50Ms} ms, p95 ${m.p95Ms} ms`, `${m.rotations} rotations`]);
    rows.push([`Calls per rotation (${m.mode}): Secrets Manager`, `${m.smCallsPerRotation.measured} (minimum ${m.smCallsPerRotation.minimum})`,
      `median of ${m.rotations}; range ${m.smCallsPerRotation.min}-${m.smCallsPerRotation.max}`]);
    rows.push([`Calls per rotation (${m.mode}): Astra`, `${m.astraCallsPerRotation.measured} (minimum ${m.astraCallsPerRotation.minimum})`,
      `median of ${m.rotations}; range ${m.astraCallsPerRotation.min}-${m.astraCallsPerRotation.max}`]);
  }
  rows.push(
    ['Peak RSS of the function process', `${r.memory.peakRssMiB} MiB`, `1 process, ${r.memory.rotations} rotations (after load: ${r.memory.afterLoadRssMiB} MiB)`],
    ['RSS after warm-up / at the end', `${r.memory.afterWarmUpRssMiB} / ${r.memory.endRssMiB} MiB`,
      `${r.memory.flat ? 'FLAT' : 'GROWS'}: ${r.memory.growthMiB} MiB over ${r.memory.rotations - 100} rotations (at most ${r.memory.flatToleranceMiB})`],
    ['V8 heap in use after a full collection, warm-up / at the end',
      `${r.memory.samples[0]?.heapAfterGcMiB ?? '-'} / ${r.memory.samples[r.memory.samples.length - 1]?.heapAfterGcMiB ?? '-'} MiB`,
      'what the process retains (sampled with the RSS)'],
    ['Smallest MemorySize with 2x headroom', r.memory.smallestSufficientMiB ? `${r.memory.smallestSufficientMiB} MB` : 'neither 128 nor 256 MB',
      r.memory.candidates.map((c) => `${c.memorySizeMiB} MB: peak ${c.peakRssMiB} MiB, ${c.headroom}x`).join('; ') + ' (each under its own heap limits)'],
    ['Memory headroom (configured / peak RSS)', `${r.memory.headroom}x (${r.memory.configuredMemoryMiB} MB configured)`,
      `${r.memory.pass ? 'PASS' : 'FAIL'}: at least ${r.memory.requiredHeadroom}x required`],
    ...r.fanOut.flatMap((f) => [
      [`Fan-out: ${f.secrets} secrets rotating at once`, `${f.wallSeconds} s, ${f.ratioToLimit}x the physical limit (${f.physicalLimitSeconds} s)`,
        `Astra allows ${f.callsPerSecond} calls/s; all completed; goal at most 1.3x`],
      [`Fan-out (${f.secrets}): Astra calls / 429s per rotation`, `${f.astraCallsPerRotation} / ${f.answered429PerRotation}`,
        `${f.attempts} attempts for ${f.completed} rotations`],
    ]),
    ['Bundle, shipped (SDK bundled+minified)', `${num(bundle('bundled').rawBytes)} B raw, ${num(bundle('bundled').gzipBytes)} B gzip`, 'bytes; gzip = node:zlib level 6'],
    ['Bundle, with everything left out put back', `${num(bundle('with-all-left-out').rawBytes)} B raw, ${num(bundle('with-all-left-out').gzipBytes)} B gzip`, 'bytes'],
    ['Bundle, @aws-sdk/* external', `${num(bundle('external').rawBytes)} B raw, ${num(bundle('external').gzipBytes)} B gzip`, 'bytes (plus the SDK in node_modules or the runtime)'],
  );
  for (const variant of r.synth.limits.map((l) => l.variant)) {
    for (const n of [1, 10, 100]) {
      const p = synth(variant, n);
      if (!p) continue;
      rows.push([`Synth ${n} x ${variant}`, `${p.synthMedianMs} ms, ${num(p.templateBytes)} B, ${p.resources} resources`,
        `median of ${p.runs}; ${p.resourcesPerSecret} resources/secret${p.deployable ? '' : '; OVER CloudFormation quota'}`]);
    }
    const l = limit(variant);
    rows.push([`Max secrets per stack, ${variant}`, `${num(l.maxSecretsPerStack)}`,
      `limited by ${l.limitedBy}; +${l.resourcesPerAddedSecret} resources and +${num(l.bytesPerAddedSecret)} B per secret`]);
  }
  return table(['Measure', 'Value', 'Runs / basis'], rows);
}

function callRows(calls: CallCount[]): Array<Array<string | number>> {
  return calls.map((c) => [c.step, c.call, c.measured, c.minimum,
    [...c.why, ...(c.measured > c.minimum ? [`EXTRA +${c.measured - c.minimum}, see below`] : [])].join('; ')]);
}

export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  out.push('# Benchmark results', '');
  out.push('Generated by the `bench` task; do not edit by hand. Figures are medians or percentiles of the stated runs, taken in one run on one machine.', '');
  out.push(`- Command: \`${r.command}\``);
  out.push(`- Machine: ${machineLine(r.machine)}`);
  out.push(`- Date: ${r.machine.date}; the whole run took ${r.durationSeconds} s`, '');
  out.push('## Summary', '', summaryTable(r), '');

  out.push('## Cold start', '', r.coldStart.method, '');
  out.push(table(['Subject', 'Median (ms)', 'Min (ms)', 'Max (ms)', 'Runs'],
    r.coldStart.subjects.map((s) => [s.description, s.medianMs, s.minMs, s.maxMs, s.runs])), '');
  out.push(`Faster Node bundle: **${r.coldStart.fasterBundle}**. Python takes ${r.coldStart.pythonOverBundled}x the shipped bundle's time ` +
    `and ${r.coldStart.pythonOverExternal}x the external bundle's.`, '');

  out.push('## Rotation latency and calls', '', r.rotation.method, '');
  for (const m of r.rotation.modes) {
    out.push(`### ${m.mode === 'self' ? 'Self-rotation (no adminSecret)' : 'Admin mode (adminSecret / rootarn)'}`, '');
    out.push(`${m.rotations} measured rotations after ${m.warmupRotations} warm-up rotations: p50 **${m.p50Ms} ms**, p95 **${m.p95Ms} ms**, mean ${m.meanMs} ms. ` +
      `Step p50s: ${Object.entries(m.stepP50Ms).map(([k, v]) => `${k} ${v} ms`).join(', ')}.`, '');
    out.push(`Secrets Manager calls per rotation: **${m.smCallsPerRotation.measured}** (contract minimum ${m.smCallsPerRotation.minimum}); ` +
      `Astra calls: **${m.astraCallsPerRotation.measured}** (minimum ${m.astraCallsPerRotation.minimum}).`, '');
    out.push(table(['Step', 'Call', 'Per rotation', 'Minimum', 'Why the minimum needs it'], [...callRows(m.smCalls), ...callRows(m.astraCalls)]), '');
    const extra = [...extraCalls(m.smCalls), ...extraCalls(m.astraCalls)];
    out.push(extra.length ? ['Calls beyond the minimum:', '', ...extra.map((e) => `- ${e}`)].join('\n') : 'Calls beyond the minimum: none.', '');
  }

  out.push('## Memory', '', r.memory.method, '');
  out.push(`Peak RSS **${r.memory.peakRssMiB} MiB** over ${r.memory.rotations} rotations (RSS after loading the bundle: ${r.memory.afterLoadRssMiB} MiB). ` +
    `Configured memory ${r.memory.configuredMemoryMiB} MB: headroom **${r.memory.headroom}x** (required: ${r.memory.requiredHeadroom}x) - ${r.memory.pass ? 'PASS' : 'FAIL'}.`, '');

  out.push(`RSS every 100 rotations (MiB): ${r.memory.samples.map((s) => s.rssMiB).join(', ')}; V8 heap in use after a full collection ` +
    `(MiB): ${r.memory.samples.map((s) => s.heapAfterGcMiB ?? '-').join(', ')}. ` +
    `${r.memory.flat ? 'Flat' : 'Growing'}: ${r.memory.growthMiB} MiB from the first sample to the end. ` +
    `Smallest MemorySize with ${r.memory.requiredHeadroom}x headroom: ${r.memory.smallestSufficientMiB ?? 'neither 128 nor 256'} MB.`, '');
  out.push(table(['MemorySize', 'Rotations', 'Peak RSS (MiB)', 'Headroom'],
    r.memory.candidates.map((c) => [`${c.memorySizeMiB} MB`, String(c.rotations), String(c.peakRssMiB), `${c.headroom}x`])), '');

  out.push('## Fan-out', '', r.fanOut[0]?.method ?? '', '');
  out.push(table(['Secrets', 'Wall time', 'Physical limit', 'Ratio (goal at most 1.3)', 'Astra calls answered (per rotation)', '429s (per rotation)', 'Attempts'],
    r.fanOut.map((f) => [String(f.secrets), `**${f.wallSeconds} s**`, `${f.physicalLimitSeconds} s`, `**${f.ratioToLimit}**`,
      `${f.astraCallsAnswered} (${f.astraCallsPerRotation})`, `${f.answered429} (${f.answered429PerRotation})`, `${f.attempts} for ${f.completed} rotations`])), '');

  out.push('## Bundle size', '', 'Bytes of the handler file; gzip with node:zlib gzipSync at its default level (6), as a rough proxy for the zipped asset.', '');
  out.push(table(['Bundle', 'Raw', 'Gzip'], r.bundles.map((b) => [b.description, `${num(b.rawBytes)} B (${kib(b.rawBytes)})`, `${num(b.gzipBytes)} B (${kib(b.gzipBytes)})`])), '');

  out.push('## Synth scaling', '', r.synth.method, '');
  out.push(table(['Variant', 'Secrets', 'Synth median (ms)', 'Runs', 'Template (B)', 'Resources', 'Resources/secret', 'Deployable'],
    r.synth.points.map((p) => [p.variant, p.secrets, p.synthMedianMs, p.runs, num(p.templateBytes), p.resources, p.resourcesPerSecret,
      p.deployable ? 'yes' : 'no: over the 500-resource quota, `cdk synth` refuses it'])), '');
  out.push(table(['Variant', 'Fixed resources', '+Resources/secret', 'Fixed bytes', '+Bytes/secret', 'Max by 500 resources', 'Max by 1 MB', 'Max secrets/stack'],
    r.synth.limits.map((l) => [l.variant, l.fixedResources, l.resourcesPerAddedSecret, num(l.fixedBytes), num(l.bytesPerAddedSecret),
      num(l.maxSecretsByResources), num(l.maxSecretsByBytes), `${num(l.maxSecretsPerStack)} (${l.limitedBy})`])), '');
  const types = r.synth.points.filter((p) => p.secrets === 100)
    .map((p) => `- ${p.variant}, 100 secrets: ${Object.entries(p.resourceTypes).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  out.push('Resource types at 100 secrets:', '', ...types, '');
  return out.join('\n');
}
