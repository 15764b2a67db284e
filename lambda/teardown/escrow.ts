import { createHash } from 'node:crypto';
import { SecretStore } from '../clients/secret-store';
import { sleep } from '../clients/time-budget';
import { Redactor } from '../logging/redact';
import { AstraSecretValue, JsonObject, parseSecretString } from '../value/secret-value';

/** Marks a value as the escrow's own format: anything else (the value it was created with) holds no entry. */
const FORMAT = 'astra-token-teardown-escrow/1';

/**
 * The escrow holds, at most, a few kilobytes per secret in flight; Secrets Manager takes 65,536 bytes per value. A
 * write past this fails, and the teardown revokes the rest of its secrets before CloudFormation deletes them.
 */
export const MAX_ESCROW_BYTES = 60_000;

/** Writes made again when another came first: more means many invocations at once, none of them CloudFormation's. */
const MAX_WRITE_TRIES = 5;

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
  /**
   * A self-rotating secret whose AWSCURRENT is not provably a rotation's: the tokens of its unlabelled versions, where
   * a value put over the secret moves its own tokens (pushed-out.ts).
   */
  readonly pushedOut?: readonly EscrowedToken[];
  /** Why the unlabelled versions could not be read: what pushed-out tokens there are is unknown. */
  readonly pushedOutUnread?: string;
  /**
   * Written with a batch before its secret's DeleteSecret was sent: a kill in the batch can leave it for a secret that
   * still exists, so it counts only where the secret is not found (never on AccessDenied or a DeletedDate).
   */
  readonly writtenAhead?: boolean;
}

/**
 * A secret this operation is done with, as the escrow records it: a digest of its ARN, a fraction of the ARN's bytes, for
 * an operation may be done with every one of 245 secrets. A retry of the operation that finds the secret hidden from the
 * role (a deleted secret has no tags for the role's condition) knows from it that nothing is left to do there.
 */
export function finishedId(arn: string): string {
  return createHash('sha256').update(arn).digest('hex').slice(0, 16);
}

/** The escrow as one read found it. */
interface EscrowRead {
  readonly entries: OperationEntry[];
  /** The secrets this operation is done with (finishedId), when the escrow was last written by it. */
  readonly finished: readonly string[];
  readonly text: string;
  /** Entries the text holds, readable or not. */
  readonly written: number;
  readonly versionId?: string;
}

/** Other invocations kept writing the escrow: nothing is wrong with it, and a later try may succeed. */
export class EscrowBusy extends Error {}

/** The value would not fit in the escrow: fewer entries may. */
export class EscrowFull extends Error {}

/** An entry with the CloudFormation operation that wrote it. */
export interface OperationEntry {
  readonly operation: string;
  readonly entry: EscrowEntry;
}

/**
 * The teardown's escrow: one Secrets Manager secret per rotation function, declared beside the teardown resource, that
 * only the function's role reads and writes. The function deletes a secret CloudFormation is deleting before it revokes
 * the secret's tokens (a secret that still exists always keeps a live token); the escrow carries what the revocation
 * needs across that deletion, so that a function killed in between finds it on Lambda's retry. An entry is only a
 * place to look: each token is still revoked under the revocation rule (its mark, or its full token authenticating).
 *
 * Each entry records the CloudFormation operation that wrote it (its phase, its start by CloudFormation's clock and the
 * teardown's logical id), never a request: anyone allowed lambda:InvokeFunction can send a Delete with any RequestId,
 * but not start an operation. An entry leaves the escrow only with the invocation that revoked its secret's tokens, or
 * that found the secret still there: a write reads the escrow again and keeps every other entry, whoever wrote it.
 */
export class TeardownEscrow {
  /** This invocation's writes, one after another. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: SecretStore, public readonly arn: string, public readonly operation: string, private readonly redactor: Redactor,
  ) {}

  /**
   * Every entry, with the operation that wrote it, and the secrets (finishedId) this operation's invocations were done
   * with. A value that is not the escrow's format holds none.
   */
  public async contents(): Promise<{ readonly entries: OperationEntry[]; readonly finished: ReadonlySet<string> }> {
    const { entries, finished } = await this.readVersion();
    return { entries, finished: new Set(finished) };
  }

  /**
   * The escrow afterwards holds `inFlight`, written by this operation, and every other entry it holds now, but those
   * of `done`: secrets whose tokens this invocation revoked, or that it found still there. It records `finished` (secrets
   * done with and clean: no alert owed) beside those this operation recorded before; another operation's go. No call
   * when that is what it holds. A write that another came before (another invocation of the function: a forged one, or Lambda's delivery
   * of an event twice) is made again over what that one wrote, so neither loses the other's entries. Throws when the
   * value would not fit, or keeps changing.
   */
  public async write(
    inFlight: readonly EscrowEntry[], done: ReadonlySet<string> = new Set(), finished: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    // One write at a time from this invocation: its secrets' turns overlap, and two writes of its own would collide.
    const turn = this.writes.then(() => this.writeNow(inFlight, done, finished));
    this.writes = turn.catch(() => undefined);
    return turn;
  }

  private async writeNow(inFlight: readonly EscrowEntry[], done: ReadonlySet<string>, finished: ReadonlySet<string>): Promise<void> {
    const mine = new Set(inFlight.map((e) => e.arn));
    for (let tries = 1; ; tries++) {
      const { entries: now, finished: finishedBefore, text: before, written, versionId } = await this.readVersion();
      const others = now.filter(({ entry }) => !mine.has(entry.arn) && !done.has(entry.arn));
      const entries = [...others, ...inFlight.map((entry) => ({ operation: this.operation, entry }))];
      const withIds = [...new Set([...finishedBefore, ...[...finished].map(finishedId)])];
      const textOf = (ids: readonly string[]) => JSON.stringify({
        format: FORMAT,
        entries: entries.map(({ operation, entry }) => ({ operation, ...serialized(entry) })),
        ...ids.length ? { finished: { operation: this.operation, ids } } : {},
      });
      // The record of finished secrets spares a retry a false alert; an entry carries tokens: it never takes an entry's room.
      const full = textOf(withIds);
      const ids = withIds.length > 0 && Buffer.byteLength(full) > MAX_ESCROW_BYTES ? [] : withIds;
      const text = ids === withIds ? full : textOf(ids);
      if (text === before || (entries.length === 0 && written === 0 && ids.length === 0)) return;
      if (Buffer.byteLength(text) > MAX_ESCROW_BYTES) throw new EscrowFull(`the escrow ${this.arn} would exceed ${MAX_ESCROW_BYTES} bytes`);
      if (!versionId) throw new Error(`the escrow ${this.arn} has no AWSCURRENT version to write over`);
      if (await this.store.replaceCurrent(this.arn, text, versionId)) return;
      if (tries >= MAX_WRITE_TRIES) throw new EscrowBusy(`the escrow ${this.arn} changed under each of ${MAX_WRITE_TRIES} writes`);
      // Apart, so that writers that collided do not collide again.
      await sleep(Math.floor(Math.random() * 250) + 50);
    }
  }

  /** The entries, the text and version they were read from, and how many entries the text holds, readable or not. */
  private async readVersion(): Promise<EscrowRead> {
    const { text, versionId } = await this.store.current(this.arn);
    let parsed: { format?: unknown; entries?: unknown; finished?: { operation?: unknown; ids?: unknown } } | undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    const written = parsed?.format === FORMAT && Array.isArray(parsed.entries) ? parsed.entries : [];
    const entries = written.flatMap((e: unknown) => {
      const operation = (e as { operation?: unknown } | null)?.operation;
      return typeof operation === 'string' ? this.entryOf(e).map((entry) => ({ operation, entry })) : [];
    });
    const ids = parsed?.format === FORMAT && parsed.finished?.operation === this.operation && Array.isArray(parsed.finished.ids)
      ? parsed.finished.ids.filter((id): id is string => typeof id === 'string') : [];
    return { entries, finished: ids, text, written: written.length, versionId };
  }


  private entryOf(entry: unknown): EscrowEntry[] {
    const e = (entry ?? {}) as Record<string, unknown>;
    if (typeof e.arn !== 'string') return [];
    try {
      const value = (raw: unknown, what: string) => raw && typeof raw === 'object'
        ? parseSecretString(JSON.stringify(raw), `the escrowed ${what} value of ${e.arn}`, this.redactor) : undefined;
      const versions = (e.versions ?? {}) as Record<string, unknown>;
      const tokens = (raw: unknown) => Array.isArray(raw) ? raw.filter((h): h is EscrowedToken =>
        typeof h?.clientId === 'string' && typeof h?.token === 'string' && typeof h?.versionId === 'string') : [];
      const [held, pushedOut] = [tokens(e.held), tokens(e.pushedOut)];
      this.redactor.add(...[...held, ...pushedOut].map((h) => h.token));
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
        ...pushedOut.length ? { pushedOut } : {},
        ...typeof e.pushedOutUnread === 'string' ? { pushedOutUnread: e.pushedOutUnread } : {},
        writtenAhead: e.writtenAhead === true,
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
    ...entry.pushedOut?.length ? { pushedOut: entry.pushedOut } : {},
    ...entry.pushedOutUnread ? { pushedOutUnread: entry.pushedOutUnread } : {},
    ...entry.writtenAhead ? { writtenAhead: true } : {},
  };
}
