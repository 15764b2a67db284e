import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MOTO_INSTALL_HINT, startMoto } from './moto-server';
import { pythonWithTools } from '../../support/python-tools';

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/moto-api/' }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

test('listens on the loopback port the kernel gave it (port 0), reports it, and is gone after stop', async () => {
  const [one, two] = await Promise.all([startMoto(), startMoto()]);
  expect(one.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(one.port).not.toBe(two.port);
  expect(await reachable(one.port)).toBe(true);
  expect(await reachable(two.port)).toBe(true);
  await Promise.all([one.stop(), two.stop()]);
  expect(await reachable(one.port)).toBe(false);
});

async function startMotoWith(python: string): Promise<unknown> {
  const previous = process.env.E2E_PYTHON;
  process.env.E2E_PYTHON = python;
  try {
    return await startMoto();
  } finally {
    if (previous === undefined) delete process.env.E2E_PYTHON;
    else process.env.E2E_PYTHON = previous;
  }
}

describe('a missing moto fails with the command that installs it', () => {
  test('a Python without moto', async () => {
    // GIVEN: the same Python with its site-packages (where moto is) out of sight.
    const dir = mkdtempSync(path.join(tmpdir(), 'no-moto-'));
    const python = path.join(dir, 'python');
    writeFileSync(python, `#!/bin/sh\nexec ${pythonWithTools()} -S "$@"\n`);
    chmodSync(python, 0o755);
    try {
      // WHEN / THEN
      await expect(startMotoWith(python)).rejects.toThrow(`${MOTO_INSTALL_HINT} (no module named moto)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('no Python at all', async () => {
    await expect(startMotoWith('/nonexistent/python3')).rejects.toThrow(/npx projen python-tools.*ENOENT/);
  });
});
