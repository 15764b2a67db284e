import { AstraClient, AstraClientEntry } from '../clients/astra-client';
import { AstraApiError } from '../logging/errors';
import { Authority } from '../rotation/authority';
import { markedTokens } from '../rotation/sweep';
import { clientIdOfToken } from '../value/secret-value';

/** The authority no longer authenticates (revoked by an earlier attempt, along an admin chain, or by hand). */
export class DeadAuthority extends Error {}

/**
 * The org's token list, read once per invocation and shared: any token that may read tokens lists the whole org, so
 * a secret whose authority the list already shows needs no list of its own (245 self-rotating secrets: one list, not
 * 245). Revocations are taken out of it as they happen. Each list carries its org as Astra answers it for the token
 * that read it, never as a value or an escrow entry records it: the org a secret claims decides that an authority its
 * org's list does not show is dead, and which list says what the secret has left.
 */
export class OrgTokenLists {
  /**
   * `verified`: Astra named the org (`orgId`). Otherwise `orgId` is the one the secret records, a claim that only spares
   * prime() another read of that org: it judges nothing.
   */
  private readonly lists: Array<{
    readonly orgId?: string;
    readonly verified: boolean;
    reader: string;
    readonly listed: AstraClientEntry[];
    /** When the request that read it was sent (moment()). */
    readAt: number;
    /** A read again under way: secrets deleted before it was sent wait for it rather than read their own. */
    rereading?: { readonly readAt: number; readonly done: Promise<boolean> };
  }> = [];
  /** This invocation's order of events: a list read after a deletion was answered has a later moment (clocks tie). */
  private moments = 0;
  /** Authorities that answered 401 in this invocation: never asked twice. */
  private readonly dead = new Set<string>();

  constructor(private readonly astra: AstraClient) {}

  /**
   * The list that shows the authority, and its org; `listedWithIt` when it was read with the authority itself (which
   * proves it). An authority is dead only on its own 401: a list that does not show it is of another org, or the
   * org a value records (anyone who may put a value writes it) names a list it was never in. A list read before
   * `notBefore` (the moment the secret's deletion was answered) is read again, with this authority, once for all the
   * secrets deleted by then: a rotation that minted after it was read may have stored its token just before the
   * deletion, and only a later list shows it.
   */
  public async listFor(
    authority: Authority, orgId: string | undefined, notBefore?: number,
  ): Promise<{ listed: AstraClientEntry[]; listedWithIt: boolean; listOrg?: string; stale?: true }> {
    // Only a bearer that is the listed clientId's token (or none that authenticates) may take its list: a value can pair
    // a clientId with any working token of another org, whose revocations there would answer 404 (taken as done).
    const tied = !!authority.clientId && clientIdOfToken(authority.bearer) === authority.clientId;
    const known = tied ? this.lists.find((l) => l.listed.some((c) => c.clientId === authority.clientId)) : undefined;
    const fresh = (l: NonNullable<typeof known>) => notBefore === undefined || l.readAt > notBefore;
    const fromKnown = (l: NonNullable<typeof known>) =>
      ({ listed: l.listed, listedWithIt: l.reader === authority.bearer, listOrg: l.verified ? l.orgId : undefined });
    if (known && fresh(known)) return fromKnown(known);
    if (known?.rereading && notBefore !== undefined && known.rereading.readAt > notBefore && await known.rereading.done && fresh(known)) {
      return fromKnown(known);
    }
    if (this.dead.has(authority.bearer)) throw new DeadAuthority();
    let listed: AstraClientEntry[];
    const readAt = this.moment();
    const reading = this.astra.listClients(authority.bearer);
    if (known) known.rereading = { readAt, done: reading.then(() => true, () => false) };
    try {
      listed = await reading;
    } catch (error) {
      const dead = error instanceof AstraApiError && error.status === 401;
      if (dead) this.dead.add(authority.bearer);
      // A read again that failed leaves the list in hand, as it was, and says so: what it shows is still revoked, and a
      // token stored after it was read is work left (the list's own failure would leave everything it shows unnamed).
      if (known && !dead) return { ...fromKnown(known), stale: true };
      if (!dead) throw error;
      throw new DeadAuthority();
    }
    if (known) {
      // The same org (the list showed this clientId, and the authority is its token): read again, in place, for every
      // secret that holds it. Its org was named when first read. A later read already in place stays.
      if (known.readAt < readAt) {
        known.listed.splice(0, known.listed.length, ...listed);
        Object.assign(known, { reader: authority.bearer, readAt });
      }
      return fromKnown(known);
    }
    // Unanswered (an outage, a token still warming up): the org is unread, as a list that failed would be. A mark on a
    // token in it is no evidence either: anyone with an org of their own can write the function's mark there.
    const org = await this.astra.currentOrg(authority.bearer).then((o) => o.id, () => undefined);
    this.lists.push({ orgId: org ?? orgId, verified: org !== undefined, reader: authority.bearer, listed, readAt });
    return { listed, listedWithIt: true, listOrg: org };
  }

  /** Now, in this invocation's order of events. */
  public moment(): number {
    return ++this.moments;
  }

  /** The token answered 401 in this invocation. */
  public isDead(bearer: string | undefined): boolean {
    return !!bearer && this.dead.has(bearer);
  }

  /**
   * One list per org before anything else, read with the token most likely still live: a retry of this request finds
   * the first secrets' tokens revoked (each a 401), the last ones' not.
   */
  public async prime(candidates: ReadonlyArray<{ readonly authority?: Authority; readonly orgId?: string }>): Promise<void> {
    for (const { authority, orgId } of [...candidates].reverse()) {
      // A secret that never rotated records no org: any list will do for it.
      // Only calls are spared here: a list labelled by a claim still leaves each authority to its own list in its turn.
      const listedAlready = orgId ? this.lists.some((l) => l.orgId === orgId) : this.lists.length > 0;
      if (!authority || listedAlready) continue;
      try {
        await this.listFor(authority, orgId);
      } catch {
        // Dead or unreachable: the next candidate of the org tries.
      }
    }
  }

  /**
   * Which of these clientIds, or of the tokens marked as the secret's, its org's list shows live; undefined when no list
   * of that org was read (another org's list says nothing about it). A secret that never rotated records no org (its
   * value has only the bootstrap token): every list read counts for it. Asked only once every stage's token answered
   * 401: the org a value records then picks the list, and a list Astra did not name counts for nothing.
   */
  public shown(clientIds: ReadonlyArray<string | undefined>, secretArn: string, orgId: string | undefined): string[] | undefined {
    // Only lists whose org Astra named: one of another org (a value writer's token, read while currentOrg did not answer)
    // would say that nothing of the secret is left.
    const lists = this.lists.filter((l) => l.verified && (!orgId || l.orgId === orgId)).map((l) => l.listed);
    if (lists.length === 0) return undefined;
    const wanted = new Set(clientIds.filter((c): c is string => !!c));
    return lists.flatMap((list) => [...list.filter((c) => wanted.has(c.clientId)).map((c) => c.clientId), ...markedTokens(list, secretArn)]);
  }

  /**
   * The tokens marked as the secret's in any list read, whatever its org: the mark names the secret, so a list of
   * another org than its values record showing one says those values did not lead to all of its tokens.
   */
  public markedLive(secretArn: string): string[] {
    return [...new Set(this.lists.flatMap((l) => markedTokens(l.listed, secretArn)))];
  }

  public find(clientId: string): AstraClientEntry | undefined {
    for (const { listed } of this.lists) {
      const entry = listed.find((c) => c.clientId === clientId);
      if (entry) return entry;
    }
    return undefined;
  }

  public forget(clientIds: readonly string[]): void {
    const gone = new Set(clientIds);
    for (const { listed } of this.lists) {
      for (let i = listed.length - 1; i >= 0; i--) if (gone.has(listed[i].clientId)) listed.splice(i, 1);
    }
  }
}
