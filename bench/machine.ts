import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { lambdaNode } from '../test/support/lambda-node';
import { pythonWithTools } from '../test/support/python-tools';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly totalMemoryMiB: number;
  readonly os: string;
  /** The Node.js of the bench's own process (the tools'). */
  readonly node: string;
  /** The Node.js the function's processes run on: Lambda's (test/support/lambda-node.ts). */
  readonly functionNode: string;
  readonly python: string;
  readonly date: string;
}

/** The machine every figure was taken on, as the report states it. */
export function describeMachine(): Machine {
  const python = spawnSync(pythonWithTools(), ['--version'], { encoding: 'utf8' });
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    totalMemoryMiB: Math.round(os.totalmem() / (1024 * 1024)),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    functionNode: lambdaNode().version,
    python: (python.stdout || python.stderr || 'unavailable').trim(),
    date: new Date().toISOString(),
  };
}
