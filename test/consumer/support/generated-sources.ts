import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT, ensureBuiltLibrary } from './built-package';

/**
 * The sources jsii-pacmak generates from the built assembly for `targets` (`--code-only`: building the packages would
 * need PyPI, Maven Central and NuGet, which this machine cannot reach; the release workflow builds and publishes them).
 * Returns a reader of files under the output folder and a function that removes it.
 */
export function generatedSources(targets: string[]): { read: (file: string) => string; cleanUp: () => void } {
  ensureBuiltLibrary();
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'astra-pacmak-'));
  execFileSync('npx', ['jsii-pacmak', ...targets.flatMap((t) => ['--target', t]), '--code-only', '--outdir', outdir],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    read: (file) => fs.readFileSync(path.join(outdir, file), 'utf8'),
    cleanUp: () => fs.rmSync(outdir, { recursive: true, force: true }),
  };
}
