import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

/**
 * Builds a harness entry point into a temporary folder for a child `node` process: Jest's module loader can run
 * neither the bundled SDK's dynamic imports nor openapi-backend's ES-module dependencies, plain Node can.
 */
export function buildChildEntry(entry: string, options: { prefix: string; externalPackages?: boolean }): { dir: string; outfile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), options.prefix));
  const outfile = path.join(dir, `${path.basename(entry, '.ts')}.js`);
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
  return { dir, outfile };
}
