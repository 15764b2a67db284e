/** What the Astra model's server does instead of (or before) answering a request. */
export type FaultKind =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterSeconds?: number }
  | { readonly kind: 'plain-text'; readonly status: number; readonly message: string }
  /** Any answer at all, as a proxy or a misbehaving API may give: an empty body and JSON unless told otherwise. */
  | { readonly kind: 'answer'; readonly status: number; readonly body?: string; readonly contentType?: string; readonly headers?: Record<string, string> }
  /** Holds the answer this long; a request whose client has gone by then is not processed. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Never answers and processes nothing: the client's timeout must fire. */
  | { readonly kind: 'hang' }
  /** Destroys the socket before anything is processed or answered. */
  | { readonly kind: 'drop' }
  /**
   * Processes the request (a POST mints), then loses the answer: `drop` destroys the socket, `hold` keeps the answer
   * back for `ms` (past the client's timeout), so the caller never learns what happened.
   */
  | { readonly kind: 'lose-answer'; readonly how: 'drop' | 'hold'; readonly ms?: number };

export interface FaultRule {
  readonly method: string;
  /**
   * An exact path, or a prefix ending in `*` (e.g. `/v2/clientIdSecrets/*`), matched against the path without its query;
   * or, in the tests' own process only (a RegExp does not cross the control port), a RegExp tested on the whole path.
   */
  readonly path: string | RegExp;
  readonly fault: FaultKind;
  /** How many matching calls it applies to. */
  readonly times: number;
  /** Matching calls let through before the fault applies (e.g. 1: the sweep's list passes, the next list fails). */
  readonly after?: number;
}

interface ArmedRule extends FaultRule {
  remaining: number;
  letThrough: number;
}

export interface FaultRecord {
  readonly method: string;
  readonly path: string;
  readonly fault: FaultKind;
}

/** Faults armed for the next N calls to a method and path, consumed in arming order. */
export class FaultPlan {
  private readonly armed: ArmedRule[] = [];
  private readonly fired: FaultRecord[] = [];

  public inject(rule: FaultRule): void {
    if (rule.times < 1) throw new Error('a fault applies to at least one call');
    this.armed.push({ ...rule, remaining: rule.times, letThrough: rule.after ?? 0 });
  }

  /** Takes the fault for this call, if one is armed: the first matching rule decides, even while it lets calls through. */
  public take(method: string, path: string): FaultKind | undefined {
    const rule = this.armed.find((r) => r.method.toUpperCase() === method.toUpperCase() && pathMatches(r.path, path));
    if (!rule) return undefined;
    if (rule.letThrough > 0) {
      rule.letThrough -= 1;
      return undefined;
    }
    rule.remaining -= 1;
    this.fired.push({ method, path, fault: rule.fault });
    if (rule.remaining === 0) this.armed.splice(this.armed.indexOf(rule), 1);
    return rule.fault;
  }

  /** Faults armed but not (yet) hit by any call. */
  public pending(): number {
    return this.armed.reduce((n, r) => n + r.remaining, 0);
  }

  public firedFaults(): readonly FaultRecord[] {
    return this.fired;
  }

  public clear(): void {
    this.armed.length = 0;
  }
}

function pathMatches(pattern: string | RegExp, path: string): boolean {
  if (pattern instanceof RegExp) return pattern.test(path);
  const pathname = path.split('?')[0];
  return pattern.endsWith('*') ? pathname.startsWith(pattern.slice(0, -1)) : pathname === pattern;
}
