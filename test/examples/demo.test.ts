import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

test('the README\'s demo rotates both example secrets twice, every Astra request valid against the spec', () => {
  const run = spawnSync('npx', ['ts-node', '-P', 'tsconfig.dev.json', 'examples/demo.ts'], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  expect(run.stderr).not.toMatch(/Error/);
  expect(run.status).toBe(0);
  const out = run.stdout;
  expect(out).toMatch(/rotation function asset: asset\.[0-9a-f]{64}\/index\.js/);
  expect(out.match(/rotation [12]: completed/g)).toHaveLength(4);
  expect(out).not.toMatch(/FAILED/);
  // After two rotations: the admin-minted secret keeps AWSPREVIOUS live, the IMMEDIATELY one revoked it.
  const [appToken, ciToken] = out.split('astra/ci-token');
  expect(appToken.split('after rotation 2:')[1]).toMatch(/AWSPREVIOUS +clientID \S+ +live\n.*AWSCURRENT +clientID \S+ +live/);
  expect(ciToken.split('after rotation 2:')[1]).toMatch(/AWSPREVIOUS +clientID \S+ +revoked\n.*AWSCURRENT +clientID \S+ +live/);
  expect(out).toMatch(/all valid against DataStax's OpenAPI spec/);
  expect(out).not.toMatch(/AstraCS:/);
}, 180_000);
