import { InvocationResult, LambdaRuntime, RuntimeMemory, RuntimeOptions } from './lambda-runtime';
import type { LogCapture } from './log-capture';

/**
 * The rotation function as Lambda hosts it: a process that serves invocations until it is killed (at its timeout, or by
 * a test's kill switch), after which the next invocation gets a fresh process with a cold start. The one local function
 * host of the e2e tests, the bench and the demo.
 */
export class FunctionHost {
  /** Processes started so far (cold starts). */
  public starts = 0;
  private runtime?: LambdaRuntime;
  private starting?: Promise<LambdaRuntime>;

  constructor(private readonly bundlePath: string, private readonly logs: LogCapture, private readonly options: RuntimeOptions = {}) {}

  public async start(): Promise<void> {
    await this.current();
  }

  public async invoke(event: unknown, env: Record<string, string>): Promise<InvocationResult> {
    return (await this.current()).invoke(event, env);
  }

  /** The current process's memory. */
  public async memory(): Promise<RuntimeMemory> {
    return (await this.current()).memory();
  }

  /** The Node.js release the current process runs (`process.version`). */
  public async nodeVersion(): Promise<string> {
    return (await this.current()).nodeVersion;
  }

  /** How long the current process took to load the bundle. */
  public async loadMs(): Promise<number> {
    return (await this.current()).loadMs;
  }

  /** Kills the process now, whatever it is doing; invocations in flight reject with FunctionKilled. */
  public kill(reason: string): void {
    this.runtime?.kill(reason);
  }

  public async stop(): Promise<void> {
    await this.runtime?.stop();
  }

  private async current(): Promise<LambdaRuntime> {
    if (this.runtime?.alive) return this.runtime;
    if (!this.starting) {
      this.starting = LambdaRuntime.start(this.bundlePath, this.logs, this.options).then((runtime) => {
        this.runtime = runtime;
        this.starts += 1;
        return runtime;
      }).finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }
}
