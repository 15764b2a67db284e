import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const BENCH_TMP = path.join(REPO_ROOT, 'bench', 'tmp');
export const SHIPPED_BUNDLE = path.join(REPO_ROOT, 'assets', 'rotation-handler', 'index.js');
const BUNDLE_TASK = 'bundle:rotation-handler';

export interface BundleVariant {
  /**
   * `bundled`: the AWS SDK inside the minified file (what ships); `external`: `@aws-sdk/*` loaded from node_modules;
   * each `with-...`: the shipped build with one left-out part put back (see LEFT_OUT).
   */
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly rawBytes: number;
  /** node:zlib gzipSync at its default level (6). */
  readonly gzipBytes: number;
}

/** The esbuild arguments of the projen task that builds the shipped asset, so the variant differs in one flag only. */
function shippedEsbuildArgs(): string[] {
  const tasks = JSON.parse(readFileSync(path.join(REPO_ROOT, '.projen', 'tasks.json'), 'utf8'));
  const exec: string | undefined = tasks.tasks?.[BUNDLE_TASK]?.steps?.find((s: { exec?: string }) => s.exec?.startsWith('esbuild '))?.exec;
  if (!exec) throw new Error(`.projen/tasks.json has no esbuild step in ${BUNDLE_TASK}`);
  return exec.split(/\s+/).slice(1);
}

function sizeOf(file: string): { rawBytes: number; gzipBytes: number } {
  const content = readFileSync(file);
  return { rawBytes: content.length, gzipBytes: gzipSync(content).length };
}

/** The shipped asset's esbuild arguments changed by `change`, built into bench/tmp/<name>/index.js. */
function buildVariant(name: string, change: (args: string[]) => string[]): string {
  const args = shippedEsbuildArgs().filter((a) => !a.startsWith('--outfile='));
  const outDir = path.join(BENCH_TMP, name);
  mkdirSync(outDir, { recursive: true });
  const outfile = path.join(outDir, 'index.js');
  const built = spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'esbuild'),
    [...change(args), `--outfile=${outfile}`, '--log-level=warning'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`esbuild of the ${name} variant failed: ${built.stderr}`);
  return outfile;
}

/**
 * What the shipped build leaves out of the bundle (.projenrc.ts), each undone by one variant so that the bench shows
 * what it bought: the variant's cold start minus the shipped one's.
 */
export const LEFT_OUT: ReadonlyArray<{ name: string; description: string; undo: (args: string[]) => string[] }> = [
  { name: 'with-default-chain', description: 'the SDK\'s default credential chain', undo: without('--alias:@aws-sdk/credential-provider-node=') },
  { name: 'with-keep-names', description: 'esbuild --keep-names', undo: (args) => [...args, '--keep-names'] },
  { name: 'with-web-streams', description: 'WHATWG streams (the global ReadableStream)', undo: without('--define:ReadableStream=') },
  { name: 'with-zlib', description: 'node:zlib', undo: without('--alias:node:zlib=') },
  { name: 'with-config-files', description: 'shared config file reading (node:fs/promises)', undo: without('--alias:node:fs/promises=') },
];

function without(prefix: string): (args: string[]) => string[] {
  return (args) => {
    const kept = args.filter((a) => !a.startsWith(prefix));
    if (kept.length === args.length) throw new Error(`the bundle task has no argument ${prefix}: update bench/bundles.ts`);
    return kept;
  };
}

/** Measures the shipped asset and builds the variants that each undo one choice of it, into bench/tmp/. */
export function prepareBundles(): BundleVariant[] {
  if (!existsSync(SHIPPED_BUNDLE)) {
    throw new Error(`${SHIPPED_BUNDLE} is missing: run \`npx projen ${BUNDLE_TASK}\` first (the bench task does).`);
  }
  const external = buildVariant('external', (args) => [...args, '--external:@aws-sdk/*']);
  const allBack = buildVariant('with-all-left-out', (args) => LEFT_OUT.reduce((changed, l) => l.undo(changed), args));
  return [
    { name: 'bundled', description: 'AWS SDK bundled + minified, credentials from the environment (shipped asset)', file: SHIPPED_BUNDLE, ...sizeOf(SHIPPED_BUNDLE) },
    ...LEFT_OUT.map((l) => {
      const file = buildVariant(l.name, l.undo);
      return { name: l.name, description: `the same with ${l.description} put back`, file, ...sizeOf(file) };
    }),
    { name: 'with-all-left-out', description: 'the same with everything left out put back', file: allBack, ...sizeOf(allBack) },
    { name: 'external', description: '@aws-sdk/* external, from node_modules', file: external, ...sizeOf(external) },
  ];
}

/** Bundles a small TypeScript entry point of bench/ (node built-ins only) into bench/tmp/, to run under plain node. */
export function buildBenchScript(entry: string): string {
  const outfile = path.join(BENCH_TMP, 'scripts', `${path.basename(entry, '.ts')}.js`);
  const built = spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'esbuild'), [
    path.join(REPO_ROOT, 'bench', entry), '--bundle', '--platform=node', '--target=node20', '--format=cjs',
    `--outfile=${outfile}`, '--log-level=warning',
  ], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`esbuild of bench/${entry} failed: ${built.stderr}`);
  return outfile;
}
