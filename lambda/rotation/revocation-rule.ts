import type { Authority } from './authority';
import { parseMark, secretDigest } from './ownership-mark';
import { AstraClient, AstraClientEntry } from '../clients/astra-client';
import { SecretStore } from '../clients/secret-store';
import { AstraApiError, messageOf } from '../logging/errors';
import { Redactor } from '../logging/redact';
import type { StepReport } from '../logging/step-report';
import { clientIdOfToken, parseSecretString } from '../value/secret-value';

/**
 * The one rule every path that revokes obeys (the sweep, finishSecret, a failed put, the teardown): a token is revoked
 * only when it is provably the secret's. A secret value (anyone with PutSecretValue writes one) and an invocation
 * (anyone with lambda:InvokeFunction sends one) only say which tokens to look at; the evidence comes from Astra:
 * - Astra lists the token with this secret's ownership mark (only a holder of token-write sets a description), or
 * - the function holds the full token: Astra answered it to this invocation's mint, or it authenticated to Astra in
 *   this invocation, or it is held in a version of this secret and authenticates now (`GET /v2/currentOrg`).
 * Anything else stays live, and the step says so (WARN, the clientId and why).
 */
export interface OwnershipEvidence {
  readonly secretArn: string;
  /** The org's tokens as Astra listed them in this invocation; absent when nothing was listed (liveness unknown). */
  readonly listed?: readonly AstraClientEntry[];
  /** ClientIds whose full token this invocation received from Astra's mint answer or saw authenticate. */
  readonly proven?: Iterable<string | undefined>;
  /** Where full tokens held in the secret's versions are found, to prove possession of an unmarked token. */
  readonly held?: TokenLookup;
}

/** A full token held in a version of the secret. */
export interface HeldToken {
  readonly token: string;
  readonly versionId: string;
}

/** The full tokens held for a clientId in versions of the secret, found by its clientId. */
export interface TokenLookup {
  /** Every key found for it (a value writer's may be among them): each that names the clientId itself. */
  tokensOf(clientId: string): Promise<readonly HeldToken[]>;
  /** A version named as holding it that is gone or could not be read, and which (asked after tokensOf). */
  lostVersionOf?(clientId: string): LostVersion | undefined;
  /** Told which key Astra could not judge (403 to every ask): the one a rotation carries on. */
  deferred?(clientId: string, held: HeldToken): void;
}

export interface LostVersion {
  readonly versionId: string;
  readonly why: string;
  /** The version exists but could not be read (a throttle, a KMS key): not known to hold nothing. */
  readonly unread: boolean;
}

export interface RefusedRevocation {
  readonly clientId: string;
  readonly why: string;
  /**
   * Set when only a later check can tell, so that a rotation carries the claim to the next one instead of failing on it
   * or dropping it: the version that holds the key Astra answered 403 to (its check, twice, and its own revocation), or
   * the version named as holding it that could not be read (`unread`).
   */
  readonly recheckIn?: string;
  readonly unread?: boolean;
}

export interface RevocationVerdict {
  /** Live (or of unknown liveness) and provably the secret's. */
  readonly revocable: string[];
  /** Not provably the secret's: left live (deferred, for a later check, where `recheckIn` is set). */
  readonly refused: RefusedRevocation[];
  /** Possession could not be checked now (Astra did not answer usably): left live, to be judged again on a retry. */
  readonly unchecked: RefusedRevocation[];
  /** Held tokens that revoked themselves when asked (judgeForbidden): proven and revoked at once. */
  readonly revokedByItself: string[];
}

export interface RevocationContext {
  readonly astra: AstraClient;
  readonly report: StepReport;
  readonly redactor: Redactor;
}

/**
 * Every revocation goes through here: the candidates the policy does not keep are judged by the rule, the provable
 * ones revoked with the authority (never the authority itself, unless `revokeAuthority`: a deleted self-rotating
 * secret's last token). Refusals are WARN lines' `revocationsRefused`. Returns the clientIds still live for certain or
 * possibly because a revocation, or the check of possession, failed (404 counts as revoked).
 */
export async function revokeOwned(
  context: RevocationContext,
  authority: Authority,
  candidates: Iterable<string | undefined>,
  evidence: OwnershipEvidence,
  options: { readonly keep?: Iterable<string | undefined>; readonly revokeAuthority?: boolean } = {},
): Promise<string[]> {
  const skip = new Set<string | undefined>(options.keep ?? []);
  if (!options.revokeAuthority) skip.add(authority.clientId);
  // A token revoking itself authenticates its own DELETE: the call is its proof of possession (a forgery gets 401).
  const proven = options.revokeAuthority ? { ...evidence, proven: [...evidence.proven ?? [], authority.clientId] } : evidence;
  const verdict = await judgeRevocations(context.astra, [...candidates].filter((c) => !skip.has(c)), proven);
  const { report, redactor } = context;
  for (const refused of verdict.refused) {
    if (!report.revocationsRefused.some((r) => r.clientId === refused.clientId)) report.revocationsRefused.push(refused);
  }
  for (const unchecked of verdict.unchecked) {
    report.clientIds.revocationFailed.push(unchecked.clientId);
    report.revocationFailures.push({ clientId: unchecked.clientId, reason: redactor.redact(unchecked.why) });
  }
  const failed = verdict.unchecked.map((u) => u.clientId);
  report.clientIds.revoked.push(...verdict.revokedByItself);
  for (const clientId of verdict.revocable) {
    try {
      const outcome = await context.astra.revoke(authority.bearer, clientId);
      (outcome === 'revoked' ? report.clientIds.revoked : report.clientIds.alreadyRevoked).push(clientId);
    } catch (error) {
      // A token whose own DELETE does not authenticate was never proven by it: refused, not a revocation to retry.
      if (options.revokeAuthority && clientId === authority.clientId && error instanceof AstraApiError && error.status === 401) {
        report.revocationsRefused.push({ clientId, why: 'the token held as the secret\'s own does not authenticate, so it is not proven the secret\'s' });
        continue;
      }
      failed.push(clientId);
      report.clientIds.revocationFailed.push(clientId);
      report.revocationFailures.push({ clientId, reason: redactor.redact(messageOf(error)) });
    }
  }
  return failed;
}

/**
 * Two values' claims taken in turns (a[0], b[0], a[1], ...): a value writer's long list in one stage does not push the
 * function's own, in the other, behind it.
 */
export function alternating<T>(a: readonly T[], b: readonly T[]): T[] {
  return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => [a[i], b[i]]).flat().filter((x): x is T => x !== undefined);
}

/** Whether Astra's list shows the token with this secret's ownership mark. */
export function markedAsSecrets(entry: AstraClientEntry | undefined, secretArn: string): boolean {
  return parseMark(entry?.description)?.secretDigest === secretDigest(secretArn);
}

/** Applies the rule to each candidate once; candidates the list shows are not live are dropped (nothing to revoke). */
export async function judgeRevocations(
  astra: AstraClient, candidates: Iterable<string | undefined>, evidence: OwnershipEvidence,
): Promise<RevocationVerdict> {
  const listed = evidence.listed ? new Map(evidence.listed.map((c) => [c.clientId, c])) : undefined;
  const proven = new Set([...evidence.proven ?? []].filter((c): c is string => !!c));
  const verdict: RevocationVerdict = { revocable: [], refused: [], unchecked: [], revokedByItself: [] };
  for (const clientId of new Set([...candidates].filter((c): c is string => !!c))) {
    if (listed && !listed.has(clientId)) continue;
    if (proven.has(clientId) || markedAsSecrets(listed?.get(clientId), evidence.secretArn)) {
      verdict.revocable.push(clientId);
      continue;
    }
    // Every key found for it is judged: a value writer's forged one may be found first, and must not hide the real one.
    let decided: 'revocable' | 'revoked' | undefined;
    let deferred: RefusedRevocation | undefined;
    let unchecked: RefusedRevocation | undefined;
    let refuted: string | undefined;
    for (const held of await evidence.held?.tokensOf(clientId) ?? []) {
      const judged = await judgeKey(astra, clientId, held);
      if (judged === 'shown' || judged === 'revoked') {
        decided = judged === 'shown' ? 'revocable' : 'revoked';
        break;
      }
      if ('refused' in judged) {refuted ??= judged.refused;} else if ('deferred' in judged && !deferred) {
        deferred = { clientId, why: judged.deferred, recheckIn: held.versionId };
        evidence.held?.deferred?.(clientId, held);
      } else if ('unchecked' in judged) {
        unchecked ??= { clientId, why: judged.unchecked };
      }
    }
    if (decided === 'revocable') verdict.revocable.push(clientId);
    else if (decided === 'revoked') verdict.revokedByItself.push(clientId);
    else if (unchecked) verdict.unchecked.push(unchecked);
    else if (deferred) verdict.refused.push(deferred);
    else verdict.refused.push(unproven(clientId, refuted, evidence.held?.lostVersionOf?.(clientId)));
  }
  return verdict;
}

/** One held key: its check, and after a 403, what only a token that authenticates can do (judgeForbidden). */
async function judgeKey(
  astra: AstraClient, clientId: string, held: HeldToken,
): Promise<'shown' | 'revoked' | { readonly refused: string } | { readonly deferred: string } | { readonly unchecked: string }> {
  try {
    await astra.currentOrg(held.token);
    return 'shown';
  } catch (error) {
    if (error instanceof AstraApiError && error.status === 403) return judgeForbidden(astra, clientId, held);
    if (error instanceof AstraApiError && refutesPossession(error.status)) return { refused: doesNotAuthenticate(held, error.status) };
    return { unchecked: `possession could not be checked: ${messageOf(error)}` };
  }
}

/**
 * No key proves it the secret's. A version named for it that could not be read carries the claim on (a version that can
 * never be read again must not fail every rotation); one that is gone, or keys that do not authenticate, drop it: a
 * genuine claim Astra could not judge is carried with its key (`pendingRevocationKeys`), not by a version.
 */
function unproven(clientId: string, refuted: string | undefined, lost: LostVersion | undefined): RefusedRevocation {
  if (lost?.unread) {
    return { clientId, why: `Astra does not list it with this secret's mark, and ${lost.why}; left live, and carried as a claim`, recheckIn: lost.versionId, unread: true };
  }
  if (refuted) return { clientId, why: refuted };
  return { clientId, why: `Astra does not list it with this secret's mark, and ${lost ? lost.why : 'no version of the secret holds its full token'}` };
}

/**
 * What a 403 to the held token shows: nothing alone. DataStax's spec documents 403, and no 401, on these paths, and an
 * edge may answer 403 to anything (a throttle, a WAF), once or every time. Only what a forgery cannot get counts: the
 * held token revoking itself (a 2xx: the proof and the revocation at once), or, where its role may not revoke tokens,
 * the check answered 2xx when asked again. A 401 refutes it; 403 to all three leaves it
 * deferred (left live, judged again when it is next named); no answer leaves it unchecked (the step asks again).
 */
async function judgeForbidden(
  astra: AstraClient, clientId: string, held: HeldToken,
): Promise<'shown' | 'revoked' | { readonly refused: string } | { readonly deferred: string } | { readonly unchecked: string }> {
  const answered403 = `the token held in version ${held.versionId} was answered 403`;
  try {
    // A token that authenticates and may revoke is found by its own DELETE: a 404 to it is an answer no token gets.
    if (await astra.revoke(held.token, clientId) === 'revoked') return 'revoked';
    return { unchecked: `possession could not be checked: ${answered403}, and its own revocation 404` };
  } catch (error) {
    if (!(error instanceof AstraApiError && error.status === 403)) return notShown(error, held, `${answered403}, and its own revocation failed`);
  }
  try {
    await astra.currentOrg(held.token);
    return 'shown';
  } catch (error) {
    if (error instanceof AstraApiError && error.status === 403) {
      return { deferred: `possession is not shown: ${answered403}, to its own revocation too, and again to the check; left live, and judged again when it is next named` };
    }
    return notShown(error, held, `${answered403} twice, and asked again it failed`);
  }
}

/** A 401 (or another client error that is not 403 or 429) refutes possession; anything else leaves it unchecked. */
function notShown(
  error: unknown, held: { readonly versionId: string }, context: string,
): { readonly refused: string } | { readonly unchecked: string } {
  if (error instanceof AstraApiError && refutesPossession(error.status)) return { refused: doesNotAuthenticate(held, error.status) };
  return { unchecked: `possession could not be checked: ${context}: ${messageOf(error)}` };
}

function doesNotAuthenticate(held: { readonly versionId: string }, status: number | undefined): string {
  return `it is not marked as this secret's, and the token held in version ${held.versionId} does not authenticate (HTTP ${status})`;
}

/**
 * A client error that says the token does not authenticate: the emulator answers 401 to a token it does not know (Astra's
 * spec names no status for it). Not 429 (the rate), and not 403, which tells nothing alone (judgeForbidden).
 */
function refutesPossession(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 403;
}

/**
 * The full tokens held in the secret's versions, by clientId: the stage values a step has read already (their key, and
 * the keys of claims carried in `pendingRevocationKeys`), and versions a value names as where a pending revocation's
 * token was held (`pendingRevocationVersions`), read on demand. A named version is only a place to look: a key counts
 * only for the clientId it names itself, and must authenticate. Every key found for a clientId is kept, and every
 * version any value names for it is looked at, since a value writer's may come first.
 */
/** The most versions named by pending revocations that planning a deletion reads (the function writes two or three). */
export const MAX_HINTED_READS = 20;
/** The most claims a value carries with their key (`pendingRevocationKeys`), and that are taken from one value. */
export const MAX_CARRIED_KEYS = 5;
const VERSION_ID = /^[A-Za-z0-9-]{32,64}$/;

/** What of a secret value holds keys: its own, and those of the claims it carries. */
interface HeldValue {
  readonly clientId?: string;
  readonly astraKey?: string;
  readonly pendingRevocationKeys?: Readonly<Record<string, string>>;
}

export class HeldTokens implements TokenLookup {
  private readonly byClientId = new Map<string, HeldToken[]>();
  /** Keys values carry for claims (`pendingRevocationKeys`), judged after the versions' own. */
  private readonly carriedKeys = new Map<string, HeldToken[]>();
  private readonly deferredKeys = new Map<string, HeldToken>();
  /** The carried keys (`pendingRevocationKeys`) of the versions read on demand: each counts for its claim when asked. */
  private readonly carriedIn = new Map<string, Readonly<Record<string, string>>>();
  private readonly hints: ReadonlyArray<Readonly<Record<string, string>>>;
  /** Versions read on demand: read, gone (Secrets Manager no longer has them), or failed (read again when asked again). */
  private readonly versionsRead = new Map<string, { readonly read: true } | { readonly gone: true } | { readonly failed: string }>();

  constructor(
    private readonly store: SecretStore,
    private readonly secretArn: string,
    private readonly redactor: Redactor,
    ...hints: Array<Readonly<Record<string, string>> | undefined>
  ) {
    this.hints = hints.filter((h): h is Readonly<Record<string, string>> => !!h);
  }

  /** Registers a value read from one of the secret's versions: its key, and the keys of the claims it carries. */
  public add(value: HeldValue | undefined, versionId: string | undefined): this {
    if (!value || !versionId) return this;
    this.register(value.clientId, value.astraKey, versionId);
    const carried = value.pendingRevocationKeys ?? {};
    for (const clientId of Object.keys(carried).slice(0, MAX_CARRIED_KEYS)) this.register(clientId, carried[clientId], versionId, true);
    return this;
  }

  /** Every full token found so far. */
  public known(): Array<{ clientId: string } & HeldToken> {
    const clientIds = new Set([...this.byClientId.keys(), ...this.carriedKeys.keys()]);
    return [...clientIds].flatMap((clientId) => this.keysOf(clientId).map((h) => ({ clientId, ...h })));
  }

  public deferred(clientId: string, held: HeldToken): void {
    if (!this.deferredKeys.has(clientId)) this.deferredKeys.set(clientId, held);
  }

  /** The key Astra could not judge for it, if any was judged so. */
  public deferredKeyOf(clientId: string): HeldToken | undefined {
    return this.deferredKeys.get(clientId);
  }

  /** The first version a value names for it (a well-formed id). */
  public hintOf(clientId: string): string | undefined {
    return this.hintsOf(clientId)[0];
  }

  /** The keys found so far for this clientId, without reading anything. */
  public keysOf(clientId: string): readonly HeldToken[] {
    // A version's own key first, then the keys values carry: a writer's carried key must not be judged before the real
    // one a stage holds (finishSecret's stage rule looks at where the deferred key was held).
    const own = this.byClientId.get(clientId) ?? [];
    return [...own, ...(this.carriedKeys.get(clientId) ?? []).filter((k) => !own.some((o) => o.token === k.token))];
  }

  /**
   * Reads the versions named for these pending revocations now, while the secret exists (the teardown deletes it next),
   * in the order given, until MAX_HINTED_READS versions are read: a value writer could name thousands. A version that
   * cannot be read is read again once; one that still cannot be leaves its claim unproven (named as a claim in an alert).
   */
  public async readHinted(pendingRevocations: Iterable<string>): Promise<this> {
    for (const clientId of new Set(pendingRevocations)) {
      if (this.versionsRead.size >= MAX_HINTED_READS) break;
      await this.tokensOf(clientId);
      if (this.hintsOf(clientId).some((v) => this.failed(v))) await this.tokensOf(clientId);
    }
    return this;
  }

  /** Every key held for it, in stage values or in the versions named for it; a version that cannot be read is skipped. */
  public async tokensOf(clientId: string): Promise<readonly HeldToken[]> {
    for (const versionId of this.hintsOf(clientId)) {
      // A function's earlier value carries the key of a claim it could not judge: of those, this claim's.
      this.register(clientId, this.carriedIn.get(versionId)?.[clientId], versionId, true);
      if (this.versionsRead.has(versionId) && !this.failed(versionId)) continue;
      let text: string | undefined;
      try {
        text = await this.store.valueOf(this.secretArn, { versionId });
      } catch (error) {
        this.versionsRead.set(versionId, { failed: messageOf(error) });
        continue;
      }
      this.versionsRead.set(versionId, text === undefined ? { gone: true } : { read: true });
      if (!text) continue;
      try {
        const value = parseSecretString(text, `version ${versionId}`, this.redactor);
        this.register(value.clientId, value.astraKey, versionId);
        this.carriedIn.set(versionId, value.pendingRevocationKeys);
        this.register(clientId, value.pendingRevocationKeys[clientId], versionId, true);
      } catch {
        // Not the schema (a value writer's): it holds no token.
      }
    }
    return this.keysOf(clientId);
  }

  /** A version named for this clientId that is gone or could not be read, when no key for it was found. */
  public lostVersionOf(clientId: string): LostVersion | undefined {
    if (this.keysOf(clientId).length) return undefined;
    const named = this.hintsOf(clientId);
    const unread = named.find((v) => this.failed(v));
    if (unread) {
      const seen = this.versionsRead.get(unread) as { readonly failed: string };
      return { versionId: unread, why: `version ${unread}, named as holding its full token, could not be read (${seen.failed})`, unread: true };
    }
    const gone = named.find((v) => { const seen = this.versionsRead.get(v); return !!seen && 'gone' in seen; });
    return gone ? { versionId: gone, why: `version ${gone}, named as holding its full token, no longer exists`, unread: false } : undefined;
  }

  /**
   * A key counts only for the clientId it names itself (AstraCS, the clientId, the secret): any other key proves nothing
   * about a clientId beside it, since Astra may take it for another token (an HTTP client drops a trailing space).
   */
  private register(clientId: string | undefined, token: string | undefined, versionId: string, carried = false): void {
    if (!clientId || !token || clientIdOfToken(token) !== clientId) return;
    const tier = carried ? this.carriedKeys : this.byClientId;
    const held = tier.get(clientId) ?? [];
    if (!held.some((h) => h.token === token)) tier.set(clientId, [...held, { token, versionId }]);
  }

  private failed(versionId: string): boolean {
    const seen = this.versionsRead.get(versionId);
    return !!seen && 'failed' in seen;
  }

  /** The version ids values name for it; a value writer's hint that is no version id (32 to 64 characters) names none. */
  private hintsOf(clientId: string): string[] {
    const named = this.hints.map((h) => Object.prototype.hasOwnProperty.call(h, clientId) ? h[clientId] : undefined);
    return [...new Set(named.filter((v): v is string => typeof v === 'string' && VERSION_ID.test(v)))];
  }
}
