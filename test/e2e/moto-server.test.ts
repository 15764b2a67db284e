import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { assertMotoInstalled, MOTO_INSTALL_HINT, startMoto } from './harness/moto-server';

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

test('a missing moto fails with the command that installs it', () => {
  expect(MOTO_INSTALL_HINT).toContain('npx projen python-tools');
  const previous = process.env.E2E_PYTHON;
  process.env.E2E_PYTHON = spawnSync('which', ['false']).stdout.toString().trim() || '/bin/false';
  try {
    expect(() => assertMotoInstalled()).toThrow('npx projen python-tools');
  } finally {
    if (previous === undefined) delete process.env.E2E_PYTHON;
    else process.env.E2E_PYTHON = previous;
  }
});
