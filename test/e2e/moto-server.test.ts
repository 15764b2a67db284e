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

test('starts on a free loopback port and is gone after stop', async () => {
  const moto = await startMoto();
  expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(await reachable(moto.port)).toBe(true);
  await moto.stop();
  expect(await reachable(moto.port)).toBe(false);
});

test('a missing moto fails with the pip install hint', () => {
  expect(MOTO_INSTALL_HINT).toContain('pip install "moto[server]"');
  const previous = process.env.E2E_PYTHON;
  process.env.E2E_PYTHON = spawnSync('which', ['false']).stdout.toString().trim() || '/bin/false';
  try {
    expect(() => assertMotoInstalled()).toThrow('pip install "moto[server]"');
  } finally {
    if (previous === undefined) delete process.env.E2E_PYTHON;
    else process.env.E2E_PYTHON = previous;
  }
});
