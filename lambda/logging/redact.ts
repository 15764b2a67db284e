const MASK = '[REDACTED]';

// Shapes that are secret whatever their value: Astra tokens, bearer headers, the JSON fields that carry credentials, and
// the user info of a URL (`scheme://user:password@host`; the configuration refuses such URLs, this is the defence behind
// it: a fetch error quotes its URL). Quotes and backslashes end the user info, so a JSON log line stays JSON.
const SECRET_SHAPES: ReadonlyArray<[RegExp, string]> = [
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'\\]+@/gi, `$1${MASK}@`],
  [/AstraCS:[A-Za-z0-9_-]*:?[A-Za-z0-9]*/g, `AstraCS:${MASK}`],
  [/\b(Bearer\s+)[^\s"',;]+/gi, `$1${MASK}`],
  [/(\\?"(?:astraKey|clientSecret|secret|token|authorization)\\?"\s*:\s*\\?")[^"\\]+/gi, `$1${MASK}`],
  [/\b((?:astraKey|clientSecret|secret|token)=)[^\s&,;"]+/gi, `$1${MASK}`],
];

// Values shorter than this are too likely to occur in harmless text to be masked by value.
const MIN_KNOWN_LENGTH = 6;

/**
 * Masks secret material in text about to leave the function (log lines, error messages).
 * Every credential the function reads or mints is registered here first, so it is masked whatever its shape.
 */
export class Redactor {
  private readonly known = new Set<string>();

  public add(...values: Array<string | undefined>): void {
    for (const value of values) {
      if (typeof value === 'string' && value.length >= MIN_KNOWN_LENGTH) this.known.add(value);
    }
  }

  public redact(text: string): string {
    let result = text;
    // Longest first, so a token is masked whole even when a shorter secret is part of it.
    for (const value of [...this.known].sort((a, b) => b.length - a.length)) {
      result = result.split(value).join(MASK);
    }
    for (const [pattern, replacement] of SECRET_SHAPES) {
      result = result.replace(pattern, replacement);
    }
    return result;
  }
}
