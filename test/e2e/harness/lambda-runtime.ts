import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { childEntry } from './child-entry';
import type { LogCapture } from './log-capture';
import { stopChild } from './stop-child';
import { lambdaNode } from '../../support/lambda-node';

/** An error the handler threw, rebuilt in the test process; `serialized` is its JSON form, for the redaction check. */
export class HandlerError extends Error {
  constructor(name: string, message: string, stack: string | undefined, public readonly serialized: string) {
    super(message);
    this.name = name;
    this.stack = stack;
  }
}

/** What one invocation cost: its time in the function process, and (when counted) its Secrets Manager calls. */
export interface InvocationResult {
  readonly durationMs: number;
  /** By operation; empty unless the runtime was started with `countSmCalls`. */
  readonly smCalls: Record<string, number>;
}

/** The function process's memory: its peak resident set size so far (getrusage ru_maxrss) and its current one. */
export interface RuntimeMemory {
  readonly maxRssBytes: number;
  readonly rssBytes: number;
  /** V8's used heap right after a full collection; only when the process runs with Lambda's flags (--expose-gc). */
  readonly heapUsedAfterGcBytes?: number;
}

export interface RuntimeOptions {
  /** The Lambda timeout: the handler's context counts down from it, and the process is killed at it. */
  readonly functionTimeoutMs?: number;
  /** Count the Secrets Manager calls of each invocation (the bench). */
  readonly countSmCalls?: boolean;
  /**
   * Start node as Lambda's Node.js runtime does for a function of this MemorySize: its V8 heap limits follow the size
   * (see `lambdaHeapFlags`), which decides how much garbage the process keeps before it collects.
   * @default node's own heap limits
   */
  readonly memorySizeMiB?: number;
  /**
   * The function's ARN, as Lambda passes it in `context.invokedFunctionArn` (the lifecycle model runs several
   * functions, each with its own).
   * @default E2E_FUNCTION_ARN
   */
  readonly functionArn?: string;
}

/**
 * V8 flags of Lambda's Node.js runtime bootstrap for a MemorySize: a tenth of the memory for the young generation
 * (two semi-spaces), the rest for the old generation, and --expose-gc.
 */
export function lambdaHeapFlags(memorySizeMiB: number): string[] {
  const newSpace = Math.floor(memorySizeMiB / 10);
  return ['--expose-gc', `--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memorySizeMiB - newSpace}`];
}

type RuntimeMessage =
  | { type: 'ready'; loadMs: number; nodeVersion: string }
  | { type: 'log'; line: string }
  | { type: 'stats'; id: number; maxRssBytes: number; rssBytes: number; heapUsedAfterGcBytes?: number }
  | { type: 'result'; id: number; durationMs: number; smCalls: Record<string, number>; error?: { name: string; message: string; stack?: string; serialized: string } };

/** The function process was killed mid-invocation: by its timeout, as Lambda does, or by a test. */
export class FunctionKilled extends Error {
  constructor(reason: string) {
    super(`the function process was killed mid-invocation: ${reason}`);
    this.name = 'FunctionKilled';
  }
}

/** One loaded copy of the bundled handler in its own Node process, invoked like a Lambda function. */
export class LambdaRuntime {
  public static async start(bundlePath: string, logs: LogCapture, options: RuntimeOptions = {}, timeoutMs = 15_000): Promise<LambdaRuntime> {
    const functionTimeoutMs = options.functionTimeoutMs ?? 30_000;
    const outfile = childEntry(path.join(__dirname, 'lambda-runtime-main.ts'));
    // A clean environment: nothing of the test process's AWS settings leaks into the function.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '', NODE_ENV: 'production', LANG: 'C.UTF-8', FUNCTION_HOST_COUNT_SM_CALLS: options.countSmCalls ? '1' : '0',
    };
    if (options.memorySizeMiB) env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE = String(options.memorySizeMiB);
    const heapFlags = options.memorySizeMiB ? lambdaHeapFlags(options.memorySizeMiB) : [];
    // Lambda's Node, not the test runner's: the bundle meets the runtime it gets (test/support/lambda-node.ts).
    const child = spawn(lambdaNode().binary, [...heapFlags, outfile, bundlePath], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], env });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    const runtime = new LambdaRuntime(child, logs, () => stderr, functionTimeoutMs, options.functionArn);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the function process did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
        runtime.onReady = (loadMs, nodeVersion) => {
          runtime.nodeVersion = nodeVersion;
          clearTimeout(timer);
          runtime.loadMs = loadMs;
          resolve();
        };
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the function process exited with ${code}: ${stderr}`));
        });
      });
    } catch (e) {
      await runtime.stop();
      throw e;
    }
    return runtime;
  }

  /** How long the process took to load the bundle. */
  public loadMs = 0;
  /** The function process's `process.version`: Lambda's Node, which the harness runs the bundle on. */
  public nodeVersion = '';
  private onReady?: (loadMs: number, nodeVersion: string) => void;
  private nextId = 1;
  private killedBecause?: string;
  private readonly pending = new Map<number, { resolve: (value: never) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess, private readonly logs: LogCapture, private readonly stderr: () => string,
    private readonly functionTimeoutMs: number, private readonly functionArn?: string,
  ) {
    child.on('message', (message: RuntimeMessage) => this.receive(message));
    child.on('exit', (code, signal) => {
      const error = this.killedBecause ? new FunctionKilled(this.killedBecause) : new Error(`the function process exited (${code ?? signal}) mid-invocation: ${this.stderr()}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
  }

  public get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.killedBecause === undefined;
  }

  /** Resolves when the handler returns; rejects with a HandlerError when it throws, FunctionKilled when it is killed. */
  public invoke(event: unknown, env: Record<string, string>): Promise<InvocationResult> {
    const id = this.nextId++;
    return new Promise<InvocationResult>((resolve, reject) => {
      const timer = setTimeout(() => this.kill(`Task timed out after ${this.functionTimeoutMs} ms`), this.functionTimeoutMs);
      const settle = <T>(done: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        done(value);
      };
      this.pending.set(id, { resolve: settle(resolve) as (value: never) => void, reject: settle(reject) });
      this.child.send({ type: 'invoke', id, event, env, timeoutMs: this.functionTimeoutMs, functionArn: this.functionArn });
    });
  }

  public memory(): Promise<RuntimeMemory> {
    const id = this.nextId++;
    return new Promise<RuntimeMemory>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject });
      this.child.send({ type: 'stats', id });
    });
  }

  /** SIGKILL, as Lambda ends a function at its timeout or when it runs out of memory: nothing in it runs any more. */
  public kill(reason: string): void {
    if (!this.alive) return;
    this.killedBecause = reason;
    this.child.kill('SIGKILL');
  }

  public async stop(): Promise<void> {
    await stopChild(this.child);
  }

  private receive(message: RuntimeMessage): void {
    if (message.type === 'ready') {
      this.onReady?.(message.loadMs, message.nodeVersion);
    } else if (message.type === 'log') {
      this.logs.add(message.line);
    } else {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiter) return;
      const { error } = message as { error?: { name: string; message: string; stack?: string; serialized: string } };
      if (message.type === 'stats') waiter.resolve({ maxRssBytes: message.maxRssBytes, rssBytes: message.rssBytes, heapUsedAfterGcBytes: message.heapUsedAfterGcBytes } as never);
      else if (error) waiter.reject(new HandlerError(error.name, error.message, error.stack, error.serialized));
      else waiter.resolve({ durationMs: message.durationMs, smCalls: message.smCalls } as never);
    }
  }
}
