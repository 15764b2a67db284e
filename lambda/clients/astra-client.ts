import { RotationConfig } from './config';
import { Sleep, TimeBudget, fullJitterMs, sleep } from './time-budget';
import { AstraApiError } from '../logging/errors';
import { Redactor } from '../logging/redact';

export interface MintedToken {
  readonly clientId: string;
  readonly secret: string;
  readonly token: string;
  readonly orgId?: string;
  readonly generatedOn?: string;
  /** When the mint answer says; the SDKs' create-response types carry no expiry, so the list is the dependable place. */
  readonly tokenExpiry?: string;
}

/** One client of the org's token list. `description` is "" and `tokenExpiry` null when the token has none. */
export interface AstraClientEntry {
  readonly clientId: string;
  readonly roles: string[];
  readonly description: string;
  readonly generatedOn?: string;
  readonly tokenExpiry?: string | null;
}

export type RevokeOutcome = 'revoked' | 'already-revoked';

/** A mint that answered 2xx without a usable token: one may exist all the same, so it is an unknown outcome. */
export class MalformedMintResponse extends AstraApiError {
  constructor(status: number) {
    super('token mint (POST /v2/clientIdSecrets)', status, 'the response has no clientId, secret and token');
  }
}

interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

const RETRY_AFTER_CAP_MS = 20_000;
// An attempt with less time than this left is not worth starting.
const MIN_ATTEMPT_MS = 1_000;
const BACKOFF_CAP_MS = 20_000;
// A 429's wait is its Retry-After plus a random spread, so that invocations told the same second come back spread out
// and share the rate instead of stampeding. The spread doubles with each 429 of the call from the base, and is capped
// by the square of the invocation's time left times the cap: an invocation near its end retries more often than
// one that has just started, so that the steps closest to failing get the turns (docs/rotation-design.md, Rate limits).
const RATE_LIMIT_SPREAD_BASE_MS = 500;
const RATE_LIMIT_SPREAD_CAP_MS = 12_000;
const MAX_DETAIL_LENGTH = 300;

/**
 * The DevOps API calls the rotation needs. GET and DELETE are retried on 429, 5xx and network errors. A POST is retried
 * here only on 429, which Astra answers without acting; any other failed mint may have created a token, so retrying it
 * is the caller's decision, after a sweep (see rotation/mint.ts). Every attempt and wait fits the invocation's time budget:
 * 429s are retried for as long as it allows, other failures a few times (ASTRA_HTTP_MAX_ATTEMPTS).
 */
export class AstraClient {
  /**
   * Set when a call was given up because Astra's rate limit left no time for another turn, or was never sent because
   * earlier calls' rate-limit waits had used the time: the step failed for the rate limit, whatever the call was.
   */
  public rateLimitedOut = false;
  private waitedForRateLimit = false;
  /** Calls start at least this far apart (pace()); 0: as they come. */
  private callIntervalMs = 0;
  private nextCallAt = 0;

  constructor(
    private readonly config: RotationConfig,
    private readonly redactor: Redactor,
    private readonly budget: TimeBudget,
    private readonly wait: Sleep = sleep,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * Starts this client's calls at least `minIntervalMs` apart, however many are made at once: the teardown makes several
   * at a time, and spaced so they stay under Astra's rate limit rather than meeting it (a 429 costs a Retry-After).
   */
  public pace(minIntervalMs: number): void {
    this.callIntervalMs = minIntervalMs;
  }

  public async mint(bearer: string, roles: string[], description: string, tokenExpiry?: string): Promise<MintedToken> {
    const request = tokenExpiry ? { roles, description, tokenExpiry } : { roles, description };
    const answer = await this.call('token mint (POST /v2/clientIdSecrets)', 'POST', '/v2/clientIdSecrets', bearer, request);
    const body = parseJson(answer.body) as Record<string, unknown> | undefined;
    const clientId = typeof body?.clientId === 'string' && body.clientId ? body.clientId : undefined;
    const secret = typeof body?.secret === 'string' && body.secret ? body.secret : undefined;
    const token = typeof body?.token === 'string' && body.token ? body.token : undefined;
    this.redactor.add(secret, token);
    if (!clientId || !secret || !token) throw new MalformedMintResponse(answer.status);
    return {
      clientId,
      secret,
      token,
      orgId: typeof body?.orgId === 'string' ? body.orgId : undefined,
      generatedOn: typeof body?.generatedOn === 'string' ? body.generatedOn : undefined,
      tokenExpiry: typeof body?.tokenExpiry === 'string' ? body.tokenExpiry : undefined,
    };
  }

  public async revoke(bearer: string, clientId: string): Promise<RevokeOutcome> {
    const answer = await this.call(
      `revocation of ${clientId} (DELETE /v2/clientIdSecrets/{clientId})`,
      'DELETE',
      `/v2/clientIdSecrets/${encodeURIComponent(clientId)}`,
      bearer,
      undefined,
      (status) => status === 404,
    );
    return answer.status === 404 ? 'already-revoked' : 'revoked';
  }

  /** GET /v2/currentOrg: works with any valid token whatever its role. */
  public async currentOrg(bearer: string): Promise<{ id?: string }> {
    const answer = await this.call('token test (GET /v2/currentOrg)', 'GET', '/v2/currentOrg', bearer);
    const body = parseJson(answer.body) as Record<string, unknown> | undefined;
    return { id: typeof body?.id === 'string' ? body.id : undefined };
  }

  /** GET /v2/organizations/roles/{roleId}: the actions the role's policy allows (an empty list when it denies). */
  public async roleActions(bearer: string, roleId: string): Promise<string[]> {
    const answer = await this.call('role read (GET /v2/organizations/roles/{roleID})', 'GET', `/v2/organizations/roles/${encodeURIComponent(roleId)}`, bearer);
    const body = parseJson(answer.body) as { policy?: { actions?: unknown; effect?: unknown } } | undefined;
    const policy = body?.policy;
    if (typeof policy?.effect !== 'string' || policy.effect.toLowerCase() !== 'allow' || !Array.isArray(policy.actions)) return [];
    return policy.actions.filter((a): a is string => typeof a === 'string');
  }

  public async listClients(bearer: string): Promise<AstraClientEntry[]> {
    const answer = await this.call('token list (GET /v2/clientIdSecrets)', 'GET', '/v2/clientIdSecrets', bearer);
    const body = parseJson(answer.body) as { clients?: unknown } | undefined;
    const clients = Array.isArray(body?.clients) ? body.clients : [];
    return clients
      .filter((c): c is Record<string, unknown> => typeof c === 'object' && c !== null && typeof c.clientId === 'string')
      .map((c) => ({
        clientId: c.clientId as string,
        roles: Array.isArray(c.roles) ? c.roles.filter((r): r is string => typeof r === 'string') : [],
        description: typeof c.description === 'string' ? c.description : '',
        generatedOn: typeof c.generatedOn === 'string' ? c.generatedOn : undefined,
        tokenExpiry: typeof c.tokenExpiry === 'string' ? c.tokenExpiry : null,
      }));
  }

  private async call(
    operation: string,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    bearer: string,
    body?: unknown,
    alsoAccept: (status: number) => boolean = () => false,
  ): Promise<HttpAnswer> {
    this.redactor.add(bearer);
    // A POST is retried on 429 only: any other failure may have minted a token (see the class comment).
    const attempts = method === 'POST' ? 1 : this.config.httpMaxAttempts;
    const minAttemptMs = Math.min(this.config.httpTimeoutMs, MIN_ATTEMPT_MS);
    let failures = 0;
    let rateLimited = 0;
    for (;;) {
      if (!this.budget.allows(minAttemptMs)) {
        if (this.waitedForRateLimit) this.rateLimitedOut = true;
        throw new AstraApiError(operation, undefined, this.waitedForRateLimit
          ? 'not sent: waiting for turns under Astra\'s rate limit used the invocation\'s time'
          : 'not sent: the invocation\'s time is almost up', false);
      }
      await this.takeTurn();
      const timeoutMs = Math.min(this.config.httpTimeoutMs, this.budget.remainingMs());
      let answer: HttpAnswer & { retryAfterMs?: number; contentType: string };
      try {
        const response = await fetch(`${this.config.astraApiUrl}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${bearer}`,
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          // A redirect could carry the bearer token somewhere unexpected; the DevOps API never redirects.
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
        answer = {
          status: response.status,
          body: await response.text(),
          contentType: response.headers.get('content-type') ?? '',
          retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
        };
      } catch (error) {
        failures += 1;
        const detail = this.networkDetail(error, timeoutMs);
        const waitMs = this.backoffMs(failures);
        if (failures < attempts && this.budget.allows(waitMs + minAttemptMs)) {
          await this.wait(waitMs);
          continue;
        }
        throw new AstraApiError(operation, undefined, failures > 1 ? `${detail} (after ${failures} attempts)` : detail);
      }
      if ((answer.status >= 200 && answer.status < 300) || alsoAccept(answer.status)) return answer;
      let waitMs: number | undefined;
      if (answer.status === 429) {
        rateLimited += 1;
        // Retry-After is a minimum; the spread on top grows while the call keeps meeting the limit (see the constants).
        const left = this.budget.fractionLeft();
        const spread = Math.min(RATE_LIMIT_SPREAD_BASE_MS * 2 ** (rateLimited - 1), RATE_LIMIT_SPREAD_CAP_MS * left * left);
        waitMs = (answer.retryAfterMs ?? 0) + Math.floor(this.random() * spread);
      } else if (answer.status >= 500 && method !== 'POST' && ++failures < attempts) {
        waitMs = answer.retryAfterMs ?? this.backoffMs(failures);
      }
      if (waitMs !== undefined && this.budget.allows(waitMs + minAttemptMs)) {
        if (answer.status === 429) this.waitedForRateLimit = true;
        await this.wait(waitMs);
        continue;
      }
      const tries = failures + rateLimited;
      const detail = this.redactor.redact(errorDetail(answer.body, answer.contentType));
      if (answer.status === 429) {
        this.rateLimitedOut = true;
        throw new AstraApiError(operation, 429,
          `${detail} (Astra's rate limit: ${tries} attempt${tries > 1 ? 's' : ''}, and no time left in this invocation to wait for another turn)`);
      }
      throw new AstraApiError(operation, answer.status, tries > 1 ? `${detail} (after ${tries} attempts)` : detail);
    }
  }

  private backoffMs(attempt: number): number {
    // Full jitter: concurrent rotations that failed together do not retry together.
    return fullJitterMs(attempt, this.config.retryBaseMs, BACKOFF_CAP_MS, this.random);
  }

  /** Waits for this call's start under pace(). */
  private async takeTurn(): Promise<void> {
    if (!this.callIntervalMs) return;
    const now = Date.now();
    const at = Math.max(now, this.nextCallAt);
    this.nextCallAt = at + this.callIntervalMs;
    if (at > now) await this.wait(at - now);
  }

  private networkDetail(error: unknown, timeoutMs: number): string {
    // Duck-typed: fetch rejects with DOMExceptions, which are not instances of this realm's Error under jest.
    const failure = (error ?? {}) as { name?: unknown; message?: unknown; cause?: { message?: unknown } };
    if (failure.name === 'TimeoutError' || failure.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
    const cause = typeof failure.cause?.message === 'string' ? `: ${failure.cause.message}` : '';
    const message = typeof failure.message === 'string' ? failure.message : String(error);
    return this.redactor.redact(`network error (${message}${cause})`);
  }
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    ms = date - Date.now();
  }
  return Math.max(0, Math.min(RETRY_AFTER_CAP_MS, ms));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Astra's error bodies are `{"errors":[{"ID":..,"message":..}]}` or plain text, whatever the Content-Type says. */
export function errorDetail(body: string, contentType = ''): string {
  const text = body.trim();
  if (!text) return contentType ? `(empty ${contentType.split(';')[0]} body)` : '(empty body)';
  const json = /^[[{]/.test(text) ? parseJson(text) : undefined;
  if (json && typeof json === 'object') {
    const errors = (json as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      return truncate(errors.map((e) => {
        const entry = (e ?? {}) as { ID?: unknown; message?: unknown };
        const message = typeof entry.message === 'string' ? entry.message : JSON.stringify(e);
        return entry.ID !== undefined ? `${message} (ID ${String(entry.ID)})` : message;
      }).join('; '));
    }
    const message = (json as { message?: unknown }).message;
    if (typeof message === 'string') return truncate(message);
  }
  return truncate(text.replace(/\s+/g, ' '));
}

function truncate(text: string): string {
  return text.length > MAX_DETAIL_LENGTH ? `${text.slice(0, MAX_DETAIL_LENGTH)}…` : text;
}
