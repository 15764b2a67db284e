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
   * `bundled`: the AWS SDK inside the minified file (what ships); `default-chain`: the same with the SDK's default
   * credential chain instead of lambda/env-credentials.ts; `external`: `@aws-sdk/*` loaded from node_modules.
   */
  readonly name: 'bundled' | 'default-chain' | 'external';
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

/** Measures the shipped asset and builds the variants that each undo one choice of it, into bench/tmp/. */
export function prepareBundles(): BundleVariant[] {
  if (!existsSync(SHIPPED_BUNDLE)) {
    throw new Error(`${SHIPPED_BUNDLE} is missing: run \`npx projen ${BUNDLE_TASK}\` first (the bench task does).`);
  }
  const defaultChain = buildVariant('default-chain', (args) => args.filter((a) => !a.startsWith('--alias:@aws-sdk/credential-provider-node=')));
  const external = buildVariant('external', (args) => [...args, '--external:@aws-sdk/*']);
  return [
    { name: 'bundled', description: 'AWS SDK bundled + minified, credentials from the environment (shipped asset)', file: SHIPPED_BUNDLE, ...sizeOf(SHIPPED_BUNDLE) },
    { name: 'default-chain', description: 'the same with the SDK\'s default credential chain', file: defaultChain, ...sizeOf(defaultChain) },
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
