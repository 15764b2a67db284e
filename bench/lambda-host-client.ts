import { ChildProcess, spawn } from 'node:child_process';
import { buildBenchScript } from './bundles';
import { stopChild } from '../test/e2e/harness/stop-child';

export interface InvocationResult {
  readonly durationMs: number;
  /** Secrets Manager calls of this invocation by operation (only when counting was asked for). */
  readonly smCalls: Record<string, number>;
  readonly error?: string;
}

export interface HostMemory {
  /** Peak resident set size of the host process so far (getrusage ru_maxrss). */
  readonly maxRssBytes: number;
  readonly rssBytes: number;
}

/** The parent's end of bench/lambda-host.ts: one node process that loaded the bundle, invoked over IPC. */
export class LambdaHost {
  public static async start(bundle: string, options: { countSmCalls: boolean }): Promise<LambdaHost> {
    const script = buildBenchScript('lambda-host.ts');
    const child = spawn(process.execPath, [script, bundle], {
      // The handler's JSON log lines are not needed here; stderr is kept for a readable failure.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, BENCH_COUNT_SM_CALLS: options.countSmCalls ? '1' : '0' },
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    const loadMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the Lambda host did not start: ${stderr}`)), 20_000);
      child.once('message', (m: { type: string; loadMs: number }) => {
        clearTimeout(timer);
        resolve(m.loadMs);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the Lambda host exited with ${code}: ${stderr}`));
      });
    });
    return new LambdaHost(child, loadMs, () => stderr);
  }

  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (m: never) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: ChildProcess, public readonly loadMs: number, private readonly stderr: () => string) {
    child.on('message', (m: { id?: number }) => {
      const pending = m.id !== undefined ? this.waiting.get(m.id) : undefined;
      if (pending && m.id !== undefined) {
        this.waiting.delete(m.id);
        pending.resolve(m as never);
      }
    });
    child.on('exit', (code) => {
      // Fail the invocations in flight (a throw here would be an uncaught exception in the bench process).
      const error = new Error(`the Lambda host exited with ${code} during an invocation: ${this.stderr()}`);
      for (const pending of this.waiting.values()) pending.reject(error);
      this.waiting.clear();
    });
  }

  public invoke(event: unknown, env: Record<string, string>): Promise<InvocationResult> {
    return this.request({ type: 'invoke', event, env });
  }

  public memory(): Promise<HostMemory> {
    return this.request({ type: 'stats' });
  }

  public async stop(): Promise<void> {
    // The host exits when its IPC channel closes.
    await stopChild(this.child, () => this.child.disconnect());
  }

  private request<T>(message: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (m: never) => void, reject });
      this.child.send({ ...message, id });
    });
  }
}
