/** The part of Lambda's context object the function uses. */
export interface InvocationContext {
  /** The function's ARN: the teardown custom resource tells its own secrets from those another function rotates. */
  readonly invokedFunctionArn?: string;
  getRemainingTimeInMillis(): number;
}

/**
 * What is left of the invocation before Lambda would kill it, less a margin kept for the work that must follow the
 * last Astra call (storing the new version, the log line). Every retry loop asks it before it waits or tries again.
 */
export class TimeBudget {
  public static of(context: InvocationContext | undefined, marginMs: number, fallbackMs: number): TimeBudget {
    const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : fallbackMs;
    return new TimeBudget(Date.now() + remaining - marginMs);
  }

  /** The budget it was made with, up to the margin. */
  public readonly totalMs: number;

  constructor(private readonly deadline: number) {
    this.totalMs = Math.max(0, deadline - Date.now());
  }

  /** Milliseconds until the margin starts; never negative. */
  public remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  /** The part of the budget still left, from 1 when it was made to 0 at the margin. */
  public fractionLeft(): number {
    return this.totalMs > 0 && Number.isFinite(this.totalMs) ? Math.min(1, this.remainingMs() / this.totalMs) : 1;
  }

  /** Whether something taking `ms` still ends before the margin. */
  public allows(ms: number): boolean {
    return ms <= this.remainingMs();
  }
}

export type Sleep = (ms: number) => Promise<void>;
export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A wait with full jitter: random up to `baseMs` doubled for each attempt after the first, at most `capMs`, so that
 * callers that failed together do not retry together.
 */
export function fullJitterMs(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
}
