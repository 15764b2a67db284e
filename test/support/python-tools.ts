import { existsSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** What to run when a Python tool is missing: it installs requirements-dev.txt where this machine's python3 lacks it. */
export const PYTHON_TOOLS_HINT = 'run `npx projen python-tools` (it installs requirements-dev.txt into .venv when python3 lacks it)';

/**
 * The Python that has the tools of requirements-dev.txt: $E2E_PYTHON when set, the project's .venv when
 * `npx projen python-tools` made one, else this machine's python3.
 */
export function pythonWithTools(): string {
  if (process.env.E2E_PYTHON) return process.env.E2E_PYTHON;
  const venv = path.join(ROOT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}
