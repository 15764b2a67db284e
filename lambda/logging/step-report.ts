import { Redactor } from './redact';

export interface RevocationFailureRecord {
  readonly clientId: string;
  readonly reason: string;
}

/** What one step did, gathered as it runs and written as a single JSON line when it ends. */
/** A revocation the rule refused: the clientId, why, and where a later check looks (revocation-rule.ts RefusedRevocation). */
interface RefusedLine {
  readonly clientId: string;
  readonly why: string;
  readonly recheckIn?: string;
  readonly unread?: boolean;
}

export class StepReport {
  public mode?: 'admin' | 'self-rotation';
  public policy?: string;
  public readonly clientIds: {
    current?: string;
    previous?: string;
    pending?: string;
    revoked: string[];
    alreadyRevoked: string[];
    revocationFailed: string[];
  } = { revoked: [], alreadyRevoked: [], revocationFailed: [] };
  public readonly revocationFailures: RevocationFailureRecord[] = [];
  /** Tokens a value or an event named for revocation that are not provably the secret's: left live (revocation-rule.ts). */
  public readonly revocationsRefused: RefusedLine[] = [];
  public readonly notes: string[] = [];
  /** Things an operator should fix although the step went on (a value that disagrees with the secret's binding). */
  public readonly warnings: string[] = [];
  /** The new token's expiry (null: none) and when the rotation rules need it until; only after a mint. */
  public token?: { expiry?: string | null; nextRotation?: string; neededUntil?: string };
  /** Lines at ERROR about a step that succeeded (a token that will expire before it is replaced), written after it. */
  public readonly alerts: Array<Record<string, unknown>> = [];

  constructor(
    public step: string,
    public secretArn: string,
    public version: string,
  ) {}

  public toLogLine(outcome: string, durationMs: number, error?: string): Record<string, unknown> {
    return {
      level: error ? 'ERROR' : this.revocationFailures.length > 0 || this.warnings.length > 0 || this.revocationsRefused.length > 0 ? 'WARN' : 'INFO',
      step: this.step,
      secretArn: this.secretArn,
      version: this.version,
      mode: this.mode,
      policy: this.policy,
      clientIds: this.clientIds,
      durationMs,
      outcome,
      ...(this.token ? { token: this.token } : {}),
      ...(this.revocationFailures.length > 0 ? { revocationFailures: this.revocationFailures } : {}),
      ...(this.revocationsRefused.length > 0 ? { revocationsRefused: this.revocationsRefused } : {}),
      ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}),
      ...(this.notes.length > 0 ? { notes: this.notes } : {}),
      ...(error ? { error } : {}),
    };
  }
}

/**
 * Every log line goes through the redactor, whatever it holds. The console method matches the line's level, so that
 * Lambda's JSON log format records that level and its application log level filter applies.
 */
export function writeLogLine(line: Record<string, unknown>, redactor: Redactor): void {
  const write = line.level === 'ERROR' ? console.error : line.level === 'WARN' ? console.warn : console.info;
  write(redactor.redact(JSON.stringify(line)));
}
