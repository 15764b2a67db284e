/**
 * Everything the function process wrote to its console, for the redaction invariant. Set E2E_ECHO_LOGS=1 to print the
 * lines as they arrive.
 */
export class LogCapture {
  public readonly lines: string[] = [];

  /** `keep: false` drops every line (the bench): a long run would otherwise hold them all. */
  constructor(private readonly options: { readonly keep?: boolean } = {}) {}

  public add(line: string): void {
    if (this.options.keep !== false) this.lines.push(line);
    if (process.env.E2E_ECHO_LOGS) process.stdout.write(line + '\n');
  }

  /** The handler's JSON step lines from index `from` of `lines` on. */
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
