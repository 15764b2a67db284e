import { SecretStore } from '../clients/secret-store';
import { Redactor } from '../logging/redact';
import { AstraSecretValue, JsonObject, parseSecretString } from '../value/secret-value';

/** Marks a value as the escrow's own format: anything else (the value it was created with) holds no entry. */
const FORMAT = 'astra-token-teardown-escrow/1';

/**
 * The escrow holds, at most, a few kilobytes per secret in flight; Secrets Manager takes 65,536 bytes per value. A
 * teardown with this many entries unfinished stops deleting more secrets until some are done.
 */
export const MAX_ESCROW_BYTES = 60_000;

/** A full token held in one of the secret's versions when it still existed: what proves possession once it is gone. */
export interface EscrowedToken {
  readonly clientId: string;
  readonly token: string;
  readonly versionId: string;
}

/**
 * What revoking a secret's tokens needs once the secret is gone, read from it before the function deleted it: its
 * AWSCURRENT and AWSPREVIOUS values (without the clientSecret, which no revocation needs), the versions they were, the
 * admin secret that mints for it, and the full tokens its versions held.
 */
export interface EscrowEntry {
  readonly arn: string;
  readonly adminSecretArn?: string;
  readonly current?: AstraSecretValue;
  readonly previous?: AstraSecretValue;
  readonly versions: { readonly current?: string; readonly previous?: string };
  readonly held: readonly EscrowedToken[];
}

/**
 * The teardown's escrow: one Secrets Manager secret per rotation function, declared beside the teardown resource, that
 * only the function's role reads and writes. The function deletes a secret CloudFormation is deleting before it revokes
 * the secret's tokens (a secret that still exists always keeps a live token); the escrow carries what the revocation
 * needs across that deletion, so that a function killed in between finds it on Lambda's retry. An entry is only a
 * place to look: each token is still revoked under the revocation rule (its mark, or its full token authenticating).
 *
 * Entries belong to the CloudFormation operation that confirmed them (its phase, its start by CloudFormation's clock and
 * the teardown's physical id), never to a request: anyone allowed lambda:InvokeFunction can send a Delete with any
 * RequestId, but not start an operation. Every invocation confirmed in the same operation judges the same secrets the
 * same way, so each may use the entries another wrote. A write reads the escrow again and keeps the others' entries:
 * an invocation removes only the entries it is done with.
 */
export class TeardownEscrow {
  /** What the escrow holds as far as this invocation knows: the text last read or written, '' when it holds no entry. */
  private holds?: string;

  constructor(
    private readonly store: SecretStore, public readonly arn: string, private readonly operation: string, private readonly redactor: Redactor,
  ) {}

  /**
   * The entries invocations of this operation left; those of any other operation are nothing to act on (an entry says
   * only what one operation meant to delete). A value that is not the escrow's format holds none.
   */
  public async read(): Promise<EscrowEntry[]> {
    const text = await this.store.valueOf(this.arn, { stage: 'AWSCURRENT' });
    let parsed: { format?: unknown; operation?: unknown; entries?: unknown } | undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    const written = parsed?.format === FORMAT && Array.isArray(parsed.entries) ? parsed.entries : [];
    // Another operation's entries are left over (a final write that failed): the next write drops them.
    this.holds = written.length ? text : '';
    return parsed?.operation === this.operation ? written.flatMap((e) => this.entryOf(e)) : [];
  }

  /**
   * The escrow afterwards holds `inFlight` and whatever other invocations of the operation left in it, less the entries
   * of `done` (secrets this invocation finished, or gave up on and reported). No call when that is what it holds.
   * Throws when the value would not fit.
   */
  public async write(inFlight: readonly EscrowEntry[], done: ReadonlySet<string> = new Set()): Promise<void> {
    const mine = new Set(inFlight.map((e) => e.arn));
    const others = (await this.read()).filter((e) => !mine.has(e.arn) && !done.has(e.arn));
    const entries = [...others, ...inFlight];
    const text = JSON.stringify({ format: FORMAT, operation: this.operation, entries: entries.map(serialized) });
    if (text === this.holds || (entries.length === 0 && this.holds === '')) return;
    if (Buffer.byteLength(text) > MAX_ESCROW_BYTES) throw new Error(`the escrow ${this.arn} would exceed ${MAX_ESCROW_BYTES} bytes`);
    try {
      await this.store.putCurrent(this.arn, text);
    } catch (error) {
      // It may have been stored all the same (a lost answer): what the escrow holds is unknown until a write succeeds.
      this.holds = undefined;
      throw error;
    }
    this.holds = entries.length ? text : '';
  }

  private entryOf(entry: unknown): EscrowEntry[] {
    const e = (entry ?? {}) as Record<string, unknown>;
    if (typeof e.arn !== 'string') return [];
    try {
      const value = (raw: unknown, what: string) => raw && typeof raw === 'object'
        ? parseSecretString(JSON.stringify(raw), `the escrowed ${what} value of ${e.arn}`, this.redactor) : undefined;
      const versions = (e.versions ?? {}) as Record<string, unknown>;
      const held = Array.isArray(e.held) ? e.held.filter((h): h is EscrowedToken =>
        typeof h?.clientId === 'string' && typeof h?.token === 'string' && typeof h?.versionId === 'string') : [];
      this.redactor.add(...held.map((h) => h.token));
      return [{
        arn: e.arn,
        adminSecretArn: typeof e.adminSecretArn === 'string' ? e.adminSecretArn : undefined,
        current: value(e.current, 'AWSCURRENT'),
        previous: value(e.previous, 'AWSPREVIOUS'),
        versions: {
          current: typeof versions.current === 'string' ? versions.current : undefined,
          previous: typeof versions.previous === 'string' ? versions.previous : undefined,
        },
        held,
      }];
    } catch {
      // Written by this function only; an entry it cannot read names nothing to act on.
      return [];
    }
  }
}

function serialized(entry: EscrowEntry): JsonObject {
  const value = (v: AstraSecretValue | undefined) => {
    if (!v) return undefined;
    const { clientSecret: _dropped, ...rest } = v.raw;
    return rest;
  };
  return {
    arn: entry.arn,
    adminSecretArn: entry.adminSecretArn,
    current: value(entry.current),
    previous: value(entry.previous),
    versions: entry.versions,
    held: entry.held,
  };
}
