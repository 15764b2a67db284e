import { ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { buildChildEntry } from './child-entry';
import type { LogCapture } from './log-capture';
import { stopChild } from './stop-child';

/** An error the handler threw, rebuilt in the test process; `serialized` is its JSON form, for the redaction check. */
export class HandlerError extends Error {
  constructor(name: string, message: string, stack: string | undefined, public readonly serialized: string) {
    super(message);
    this.name = name;
    this.stack = stack;
  }
}

type RuntimeMessage =
  | { type: 'ready' }
  | { type: 'log'; line: string }
  | { type: 'result'; id: number; error?: { name: string; message: string; stack?: string; serialized: string } };

/** The function process was killed mid-invocation: by its timeout, as Lambda does, or by a test. */
export class FunctionKilled extends Error {
  constructor(reason: string) {
    super(`the function process was killed mid-invocation: ${reason}`);
    this.name = 'FunctionKilled';
  }
}

/** One loaded copy of the bundled handler in its own Node process, invoked like a Lambda function. */
export class LambdaRuntime {
  /** `functionTimeoutMs` is the Lambda timeout: the handler's context counts down from it, and the process is killed at it. */
  public static async start(bundlePath: string, logs: LogCapture, functionTimeoutMs = 30_000, timeoutMs = 15_000): Promise<LambdaRuntime> {
    const { dir, outfile } = buildChildEntry(path.join(__dirname, 'lambda-runtime-main.ts'), { prefix: 'lambda-runtime-' });
    // A clean environment: nothing of the test process's AWS settings leaks into the function.
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LANG: 'C.UTF-8' };
    const child = spawn(process.execPath, [outfile, bundlePath], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], env });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    const runtime = new LambdaRuntime(child, dir, logs, () => stderr, functionTimeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the function process did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
        runtime.onReady = () => {
          clearTimeout(timer);
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

  private onReady?: () => void;
  private nextId = 1;
  private killedBecause?: string;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess, private readonly dir: string, private readonly logs: LogCapture, private readonly stderr: () => string,
    private readonly functionTimeoutMs: number,
  ) {
    child.on('message', (message: RuntimeMessage) => this.receive(message));
    child.on('exit', (code, signal) => {
      const error = this.killedBecause ? new FunctionKilled(this.killedBecause) : new Error(`the function process exited (${code ?? signal}) mid-invocation: ${this.stderr()}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  public get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.killedBecause === undefined;
  }

  /** Resolves when the handler returns; rejects with a HandlerError when it throws, FunctionKilled when it is killed. */
  public invoke(event: unknown, env: Record<string, string>): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.kill(`Task timed out after ${this.functionTimeoutMs} ms`), this.functionTimeoutMs);
      const settle = <T>(done: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        done(value);
      };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.child.send({ id, event, env, timeoutMs: this.functionTimeoutMs });
    });
  }

  /** SIGKILL, as Lambda ends a function at its timeout or when it runs out of memory: nothing in it runs any more. */
  public kill(reason: string): void {
    if (!this.alive) return;
    this.killedBecause = reason;
    this.child.kill('SIGKILL');
  }

  /** The exit handler removes the entry's folder. */
  public async stop(): Promise<void> {
    await stopChild(this.child);
  }

  private receive(message: RuntimeMessage): void {
    if (message.type === 'ready') {this.onReady?.();} else if (message.type === 'log') {this.logs.add(message.line);} else {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiter) return;
      if (message.error) waiter.reject(new HandlerError(message.error.name, message.error.message, message.error.stack, message.error.serialized));
      else waiter.resolve();
    }
  }
}
