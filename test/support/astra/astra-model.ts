import { randomUUID } from 'node:crypto';
import { Answer, errorAnswer, jsonAnswer, textAnswer } from './answer';
import { AstraRole, ROLE_READ, TOKEN_READ, TOKEN_WRITE } from './roles';
import { newCredentials } from './token-material';

export interface IssuedToken {
  readonly clientId: string;
  readonly secret: string;
  readonly token: string;
  readonly roles: readonly string[];
  /** When the token was made (ISO-8601), as the list shows it; `backdate` moves it. */
  readonly generatedOn: string;
  readonly description?: string;
  /** When the token stops working (ISO-8601); undefined: never. */
  readonly tokenExpiry?: string;
  /** The clientId of the token that minted it; undefined for tokens the test seeded directly. */
  readonly mintedBy?: string;
  readonly revoked: boolean;
}

type StoredToken = { -readonly [K in keyof IssuedToken]: IssuedToken[K] };

/** A request the spec accepted, as the model answers it. */
interface MintRequest {
  readonly roles: string[];
  readonly orgId?: string;
  readonly description?: string;
  readonly tokenExpiry?: string;
}

export interface ApiCall {
  /** The spec's operation; undefined when the spec has none for the method and path. */
  readonly operationId?: string;
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  /** The token the bearer names, when it is live. */
  readonly caller?: IssuedToken;
}

/** The knobs' settings for an org that behaves as the spec reads. */
export const KNOB_DEFAULTS = { deleteStatus: 200, warmUpFailures: 0, malformedMint: false } as const;

/**
 * The token part of the Astra DevOps API: one org, its roles, the tokens with their permissions, revocation and
 * expiry, and how each operation answers. The knobs are the ways a real org may behave that DataStax leaves open.
 */
export class AstraModel<R extends Record<string, AstraRole> = Record<string, AstraRole>> {
  public readonly orgId = randomUUID();
  /** DELETE answers 200 as the spec says; DataStax's Vault plugin expects 204, so a test can switch. */
  public deleteStatus: number = KNOB_DEFAULTS.deleteStatus;
  /**
   * The org's maximum token lifetime: a token asked for with no expiry gets now + this; one asked for with more is
   * shortened to it or refused (DataStax documents neither: the function must cope with both).
   */
  public orgTokenLifetime?: { readonly ms: number; readonly onLonger: 'shorten' | 'refuse' };
  /** Minted tokens answer 401 on GET /v2/currentOrg this many times before they work (a token still propagating). */
  public warmUpFailures: number = KNOB_DEFAULTS.warmUpFailures;
  /** A mint creates the token but answers 200 without its credentials. */
  public malformedMint: boolean = KNOB_DEFAULTS.malformedMint;
  /** The list leaves out tokens minted from this time on (epoch ms): an eventually consistent list. */
  public listLagsFrom?: number;
  /** Calls in which a token revoked itself: the design says a rotation never should. */
  public readonly selfRevocations: string[] = [];
  private readonly issued = new Map<string, StoredToken>();
  /** When each token was really made, which `backdate` leaves alone (the list's lag is in real time). */
  private readonly madeAt = new Map<string, number>();
  private readonly warmUpLeft = new Map<string, number>();

  public constructor(public readonly roles: R) {}

  /** Forgets every token, record and knob; the org and its roles stay. */
  public reset(): void {
    this.issued.clear();
    this.madeAt.clear();
    this.warmUpLeft.clear();
    this.selfRevocations.length = 0;
    this.deleteStatus = KNOB_DEFAULTS.deleteStatus;
    this.orgTokenLifetime = undefined;
    this.warmUpFailures = KNOB_DEFAULTS.warmUpFailures;
    this.malformedMint = KNOB_DEFAULTS.malformedMint;
    this.listLagsFrom = undefined;
  }

  /** Adds a role to the org, e.g. one whose UUID an app's template names. */
  public defineRole(role: AstraRole): void {
    (this.roles as Record<string, AstraRole>)[`custom-${role.id}`] = role;
  }

  /** A token made outside the API, as an operator makes the first one in Astra's UI: it gets the org's cap too. */
  public seedToken(roles: readonly string[], description?: string): IssuedToken {
    const expiry = this.expiryFor(undefined);
    return this.newToken(roles, description, undefined, expiry === 'refused' ? undefined : expiry);
  }

  public revokeOutOfBand(clientId: string): void {
    const t = this.issued.get(clientId);
    if (t) t.revoked = true;
  }

  /** Makes every token issued so far look `ms` older in the list (its generatedOn). */
  public backdate(ms: number): void {
    for (const t of this.issued.values()) t.generatedOn = new Date(Date.parse(t.generatedOn) - ms).toISOString();
  }

  /** The live token a bearer credential names: not revoked, not expired, and the whole token right. */
  public authenticate(bearer: string | undefined): IssuedToken | undefined {
    const clientId = bearer?.split(':')[1];
    const t = clientId ? this.issued.get(clientId) : undefined;
    return t && t.token === bearer && this.works(t) ? t : undefined;
  }

  public isLive(clientId: string | undefined): boolean {
    const t = clientId === undefined ? undefined : this.issued.get(clientId);
    return t !== undefined && this.works(t);
  }

  public token(clientId: string): IssuedToken | undefined {
    return this.issued.get(clientId);
  }

  /** Every token ever issued, live or not, in the order they were. */
  public allTokens(): IssuedToken[] {
    return [...this.issued.values()];
  }

  public answer(call: ApiCall): Answer {
    const { operationId, method, path, caller } = call;
    if (!operationId) return errorAnswer(404, 0, `no route for ${method} ${path}`);
    if (!caller) return errorAnswer(401, 340018, 'The Auth Token provided is invalid or has expired');
    const actions = this.actionsOf(caller);
    const lacking = (action: string) => errorAnswer(403, 340000, `role lacks ${action}`);
    switch (operationId) {
      case 'getCurrentOrganization':
        return this.stillWarmingUp(caller) ? errorAnswer(401, 340018, 'token not yet active') : jsonAnswer(200, { id: this.orgId, name: 'emulated-org' });
      case 'getOrganizationRoles':
        return actions.has(ROLE_READ) ? jsonAnswer(200, Object.values(this.roles).map((r) => this.roleBody(r))) : lacking(ROLE_READ);
      case 'getOrganizationRole': {
        if (!actions.has(ROLE_READ)) return lacking(ROLE_READ);
        const role = this.role(lastSegment(path));
        return role ? jsonAnswer(200, this.roleBody(role)) : errorAnswer(404, 0, 'role not found');
      }
      case 'getClientsForOrg':
        return actions.has(TOKEN_READ) || actions.has(TOKEN_WRITE) ? jsonAnswer(200, { clients: this.listed() }) : lacking(TOKEN_READ);
      case 'generateTokenForClient':
        return this.mint(caller, actions, JSON.parse(call.body ?? '{}'));
      case 'deleteTokenForClient':
        return this.revoke(caller, actions, lastSegment(path));
      default:
        return errorAnswer(501, 0, `${operationId} is not emulated`);
    }
  }

  private mint(caller: IssuedToken, actions: Set<string>, request: MintRequest): Answer {
    if (!actions.has(TOKEN_WRITE)) return textAnswer(403, 'You do not have permission to generate tokens (org-token-write)');
    const expiry = this.expiryFor(request.tokenExpiry);
    if (expiry === 'refused') return textAnswer(400, 'tokenExpiry exceeds the organization\'s maximum token lifetime');
    if (request.orgId !== undefined && request.orgId !== this.orgId) return textAnswer(400, 'unknown orgId');
    const unknown = request.roles.filter((id) => !this.role(id));
    if (request.roles.length === 0 || unknown.length) return textAnswer(400, `invalid roles: ${unknown.join(', ')}`);
    if (request.roles.some((id) => this.role(id)!.actions.some((a) => !actions.has(a)))) {
      return textAnswer(403, 'A token cannot create new tokens with higher permissions than it has');
    }
    const t = this.newToken(request.roles, request.description, caller.clientId, expiry);
    if (this.warmUpFailures > 0) this.warmUpLeft.set(t.clientId, this.warmUpFailures);
    if (this.malformedMint) return jsonAnswer(200, { clientId: t.clientId, orgId: this.orgId });
    const { clientId, secret, roles, token, generatedOn } = t;
    return jsonAnswer(200, { clientId, secret, orgId: this.orgId, roles, token, generatedOn });
  }

  private revoke(caller: IssuedToken, actions: Set<string>, clientId: string): Answer {
    if (!actions.has(TOKEN_WRITE)) return errorAnswer(403, 340000, 'You do not have permission to revoke tokens (org-token-write)');
    const target = this.issued.get(clientId);
    if (!target || target.revoked) return errorAnswer(404, 340013, 'client id not found');
    if (clientId === caller.clientId) this.selfRevocations.push(clientId);
    target.revoked = true;
    return this.deleteStatus === 204 ? { status: 204, headers: {}, body: '' } : jsonAnswer(this.deleteStatus, {});
  }

  private listed() {
    const lags = this.listLagsFrom;
    const lagging = (t: IssuedToken) => lags !== undefined && t.mintedBy !== undefined && this.madeAt.get(t.clientId)! >= lags;
    return this.allTokens().filter((t) => !t.revoked && !lagging(t)).map((t) => ({
      clientId: t.clientId, roles: t.roles, generatedOn: t.generatedOn, description: t.description ?? '', tokenExpiry: t.tokenExpiry ?? null,
    }));
  }

  private newToken(roles: readonly string[], description?: string, mintedBy?: string, tokenExpiry?: string): IssuedToken {
    const now = Date.now();
    const generatedOn = new Date(now).toISOString();
    const t: StoredToken = { ...newCredentials(), roles: [...roles], generatedOn, description, tokenExpiry, mintedBy, revoked: false };
    this.issued.set(t.clientId, t);
    this.madeAt.set(t.clientId, now);
    return t;
  }

  private works(t: IssuedToken): boolean {
    return !t.revoked && (t.tokenExpiry === undefined || Date.parse(t.tokenExpiry) > Date.now());
  }

  private stillWarmingUp(t: IssuedToken): boolean {
    const left = this.warmUpLeft.get(t.clientId) ?? 0;
    if (left > 0) this.warmUpLeft.set(t.clientId, left - 1);
    return left > 0;
  }

  private expiryFor(asked: string | undefined): string | undefined | 'refused' {
    const cap = this.orgTokenLifetime;
    if (!cap) return asked;
    const latest = Date.now() + cap.ms;
    if (asked === undefined) return new Date(latest).toISOString();
    if (Date.parse(asked) <= latest) return asked;
    return cap.onLonger === 'refuse' ? 'refused' : new Date(latest).toISOString();
  }

  private actionsOf(t: IssuedToken): Set<string> {
    return new Set(t.roles.flatMap((id) => this.role(id)?.actions ?? []));
  }

  private role(id: string): AstraRole | undefined {
    return Object.values(this.roles).find((r) => r.id === id);
  }

  private roleBody(r: AstraRole) {
    return { id: r.id, name: r.name, policy: { description: r.name, resources: [`drn:astra:org:${this.orgId}`], actions: r.actions, effect: 'allow' } };
  }
}

function lastSegment(path: string): string {
  return decodeURIComponent(path.split('?')[0].split('/').pop() ?? '');
}
