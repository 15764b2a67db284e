import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { stopChild } from './stop-child';
import { PYTHON_TOOLS_HINT, pythonWithTools } from '../../support/python-tools';

export const MOTO_INSTALL_HINT = `moto's server is missing: ${PYTHON_TOOLS_HINT}`;

export interface MotoServer {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

const LAUNCHER = path.join(__dirname, 'moto_server.py');

/** The port moto's launcher reports once it listens: it binds port 0, so no other process can take it first. */
function reportedPort(child: ChildProcess, output: () => string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error(`moto's server did not report its port within ${timeoutMs} ms: ${output()}`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      lines.close();
      reject(error);
    };
    lines.on('line', (line) => {
      const missing = /^MISSING (\S+)$/.exec(line.trim());
      if (missing) return fail(new Error(`${MOTO_INSTALL_HINT} (no module named ${missing[1]})`));
      const match = /^PORT (\d+)$/.exec(line.trim());
      if (!match) return;
      clearTimeout(timer);
      lines.close();
      resolve(Number(match[1]));
    });
    child.once('error', (error) => fail(new Error(`${MOTO_INSTALL_HINT} (${error.message})`)));
    child.once('exit', (code) => fail(new Error(`moto's server exited with ${code} before it listened: ${output()}`)));
  });
}

/** Starts moto's server; without moto, fails with the command that installs it. */
export async function startMoto(timeoutMs = 20_000): Promise<MotoServer> {
  // stdin stays open: the launcher serves until it closes, so moto never outlives the test process.
  const child = spawn(pythonWithTools(), [LAUNCHER], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  let output = '';
  // Only the tail, for a readable startup error.
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000);
  });
  const stop = () => stopChild(child);
  try {
    const port = await reportedPort(child, () => output, timeoutMs);
    return { endpoint: `http://127.0.0.1:${port}`, port, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
