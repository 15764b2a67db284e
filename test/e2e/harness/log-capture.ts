import { format } from 'node:util';

type ConsoleMethod = 'log' | 'info' | 'warn' | 'error' | 'debug';
const METHODS: ConsoleMethod[] = ['log', 'info', 'warn', 'error', 'debug'];

/**
 * Collects everything the handler writes to the console, so the redaction invariant can scan it. Set E2E_ECHO_LOGS=1
 * to see the lines as well.
 */
export class LogCapture {
  public readonly lines: string[] = [];
  private readonly originals = new Map<ConsoleMethod, (...args: unknown[]) => void>();

  public install(): void {
    for (const method of METHODS) {
      const original = console[method] as (...args: unknown[]) => void;
      this.originals.set(method, original);
      console[method] = (...args: unknown[]) => {
        this.lines.push(format(...args));
        if (process.env.E2E_ECHO_LOGS) original.apply(console, args);
      };
    }
  }

  public uninstall(): void {
    for (const [method, original] of this.originals) console[method] = original;
    this.originals.clear();
  }

  /** The handler's JSON step lines that follow `from` (an index into `lines`). */
  public stepLines(from = 0): Array<Record<string, unknown>> {
    return this.lines.slice(from).flatMap((line) => {
      try {
        const parsed = JSON.parse(line);
        return typeof parsed === 'object' && parsed && 'step' in parsed ? [parsed as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }
}
