import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The repository root (this file sits in test/consumer/support/). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

const HANDLER_BUNDLE = path.join(REPO_ROOT, 'assets', 'rotation-handler', 'index.js');
const JSII_ASSEMBLY = path.join(REPO_ROOT, '.jsii');

/**
 * Makes sure lib/, .jsii and the bundled handler match src/ and lambda/, building what is missing
 * or older than its sources: `npx projen test` bundles the handler but does not run jsii, and a
 * fresh clone has neither. Jest runs test files in parallel workers, so builds take a lock.
 */
export function ensureBuiltLibrary(): void {
  withBuildLock(() => {
    if (isOlderThanSources(HANDLER_BUNDLE, ['lambda'])) {
      run('npx', ['projen', 'bundle:rotation-handler']);
    }
    if (isOlderThanSources(JSII_ASSEMBLY, ['src', 'package.json'])) {
      run('npx', ['projen', 'compile']);
    }
  });
}

/** Packs the built library as `npm publish` would; returns the tarball's path. */
export function packLibrary(destination: string): string {
  ensureBuiltLibrary();
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [{ filename }] = JSON.parse(output) as Array<{ filename: string }>;
  return path.join(destination, filename);
}

/** The compiled jsii assembly (the type system every language binding is generated from). */
export function readJsiiAssembly(): JsiiAssembly {
  ensureBuiltLibrary();
  return JSON.parse(fs.readFileSync(JSII_ASSEMBLY, 'utf8'));
}

export interface JsiiAssembly {
  readonly name: string;
  readonly types: Record<string, { kind: string; name: string; properties?: Array<{ name: string }> }>;
}

function isOlderThanSources(output: string, sources: string[]): boolean {
  if (!fs.existsSync(output)) return true;
  const builtAt = fs.statSync(output).mtimeMs;
  return sources.some((source) => newestMtime(path.join(REPO_ROOT, source)) > builtAt);
}

function newestMtime(file: string): number {
  const stat = fs.statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs.readdirSync(file).reduce((newest, entry) => Math.max(newest, newestMtime(path.join(file, entry))), stat.mtimeMs);
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

// mkdir is atomic: the worker that creates the folder builds, the others wait for it to go.
function withBuildLock(build: () => void): void {
  const lock = path.join(os.tmpdir(), `astra-token-secret-build-${Buffer.from(REPO_ROOT).toString('hex').slice(-24)}.lock`);
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (Date.now() > deadline) throw new Error(`Build lock ${lock} held for over 5 minutes; remove it if no test is running.`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
  try {
    build();
  } finally {
    fs.rmdirSync(lock);
  }
}
