import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { freeLoopbackPort } from './free-port';
import { stopChild } from './stop-child';

export const MOTO_INSTALL_HINT = 'moto_server is missing from this machine\'s Python: pip install "moto[server]"';

export interface MotoServer {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

function python(): string {
  return process.env.E2E_PYTHON ?? 'python3';
}

/** Fails early with the install command rather than with a timeout on a server that never starts. */
export function assertMotoInstalled(): void {
  const probe = spawnSync(python(), ['-c', 'import moto.server, flask'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${MOTO_INSTALL_HINT} (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()})`);
  }
}

function answersHttp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/moto-api/', method: 'GET', timeout: 500 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

async function waitUntilReady(port: number, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`moto_server exited with ${child.exitCode} before it was ready: ${output()}`);
    }
    if (await answersHttp(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not answer on 127.0.0.1:${port} within ${timeoutMs} ms: ${output()}`);
}

export async function startMoto(timeoutMs = 20_000): Promise<MotoServer> {
  assertMotoInstalled();
  const port = await freeLoopbackPort();
  const child = spawn(python(), ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let output = '';
  // moto logs every request; keep only the tail for a readable startup error.
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = () => stopChild(child);

  try {
    await waitUntilReady(port, child, () => output, timeoutMs);
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoint: `http://127.0.0.1:${port}`, port, stop };
}
