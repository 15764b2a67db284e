import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const built = new Map<string, string>();
let buildDir: string | undefined;

/**
 * A harness entry point built into one CommonJS file, for a child `node` process or for require() in Jest: Jest's module
 * loader can run neither the bundled SDK's dynamic imports nor openapi-backend's ES-module dependencies unbundled.
 * Built once per test process (a kill matrix starts the function process about a hundred times) into one temporary
 * folder, removed when the process exits.
 */
export function childEntry(entry: string, options: { externalPackages?: boolean } = {}): string {
  const key = `${entry}|${options.externalPackages ? 'external' : 'bundled'}`;
  const existing = built.get(key);
  if (existing) return existing;
  if (!buildDir) {
    const dir = mkdtempSync(path.join(tmpdir(), 'astra-harness-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    buildDir = dir;
  }
  const outfile = path.join(buildDir, `${path.basename(entry, '.ts')}-${built.size}.js`);
  buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    ...(options.externalPackages ? { packages: 'external' as const } : {}),
    outfile,
    logLevel: 'error',
  });
  built.set(key, outfile);
  return outfile;
}
