import { LambdaRuntime } from './lambda-runtime';
import type { LogCapture } from './log-capture';

/**
 * The rotation function as Lambda hosts it: a process that serves invocations until it is killed (at its timeout, or by
 * a test's kill switch), after which the next invocation gets a fresh process with a cold start.
 */
export class FunctionHost {
  /** Processes started so far (cold starts). */
  public starts = 0;
  private runtime?: LambdaRuntime;
  private starting?: Promise<LambdaRuntime>;

  constructor(private readonly bundlePath: string, private readonly logs: LogCapture, private readonly functionTimeoutMs = 30_000) {}

  public async start(): Promise<void> {
    await this.current();
  }

  public async invoke(event: unknown, env: Record<string, string>): Promise<void> {
    return (await this.current()).invoke(event, env);
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
      this.starting = LambdaRuntime.start(this.bundlePath, this.logs, this.functionTimeoutMs).then((runtime) => {
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
