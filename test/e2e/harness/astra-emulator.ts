import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { FaultKind, FaultPlan } from './faults';
import { SpecValidator } from './spec-validator';

export interface AstraRole {
  readonly id: string;
  readonly name: string;
  readonly actions: readonly string[];
}

export interface IssuedToken {
  readonly clientId: string;
  readonly secret: string;
  readonly token: string;
  readonly roles: readonly string[];
  readonly generatedOn: string;
  readonly description?: string;
  /** When the token stops working (ISO-8601); undefined: never. */
  readonly tokenExpiry?: string;
  /** The clientId of the token that minted it; undefined for tokens the test seeded directly. */
  readonly mintedBy?: string;
  revoked: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly operationId?: string;
  /** `answer-lost`: processed with this outcome, but the caller never got the answer (a `lose-answer` fault). */
  readonly status: number | 'dropped' | 'client-gone' | 'answer-lost';
  readonly fault?: FaultKind;
  readonly callerClientId?: string;
}

export interface SpecViolation {
  readonly method: string;
  readonly path: string;
  readonly errors: readonly string[];
}

const DB_ACTIONS = [
  'db-all-keyspace-create', 'db-all-keyspace-describe', 'db-cql', 'db-graphql', 'db-keyspace-alter', 'db-keyspace-authorize',
  'db-keyspace-create', 'db-keyspace-describe', 'db-keyspace-drop', 'db-keyspace-grant', 'db-keyspace-modify', 'db-rest',
  'db-table-alter', 'db-table-authorize', 'db-table-create', 'db-table-describe', 'db-table-drop', 'db-table-grant',
  'db-table-modify', 'db-table-select',
];
const ORG_DB_ACTIONS = ['org-db-addpeering', 'org-db-create', 'org-db-expand', 'org-db-managemigratorproxy', 'org-db-passwordreset', 'org-db-suspend', 'org-db-terminate', 'org-db-view'];
const TOKEN_WRITE = 'org-token-write';

/** The org's roles; names follow Astra's built-in roles, the custom one is what a least-privilege rotator would use. */
export function standardRoles(): { orgAdmin: AstraRole; dbAdmin: AstraRole; readOnly: AstraRole; tokenManager: AstraRole; apiUser: AstraRole } {
  return {
    orgAdmin: {
      id: randomUUID(),
      name: 'Organization Administrator',
      actions: [
        ...DB_ACTIONS, ...ORG_DB_ACTIONS, 'org-audits-read', 'org-billing-read', 'org-billing-write', 'org-external-auth-read',
        'org-external-auth-write', 'org-notification-write', 'org-read', 'org-role-delete', 'org-role-read', 'org-role-write',
        'org-token-read', TOKEN_WRITE, 'org-user-read', 'org-user-write', 'org-write',
      ],
    },
    dbAdmin: { id: randomUUID(), name: 'Database Administrator', actions: [...DB_ACTIONS, ...ORG_DB_ACTIONS, 'org-read', 'org-role-read', 'org-token-read', TOKEN_WRITE] },
    tokenManager: { id: randomUUID(), name: 'Token Manager (custom)', actions: ['org-read', 'org-role-read', 'org-token-read', TOKEN_WRITE, 'db-cql', 'db-table-select'] },
    apiUser: { id: randomUUID(), name: 'API User (custom)', actions: ['org-read', 'db-cql', 'db-table-select'] },
    readOnly: { id: randomUUID(), name: 'Read Only User', actions: ['org-read', 'db-all-keyspace-describe', 'db-table-select', 'db-cql', 'org-db-view'] },
  };
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET_CHARS = LETTERS + '0123456789-_.,';

function pick(alphabet: string, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** 24 letters with both cases present, as Astra's are (case-sensitive, so a lower-cased lookup must miss). */
function newClientId(): string {
  for (;;) {
    const id = pick(LETTERS, 24);
    if (/[a-z]/.test(id) && /[A-Z]/.test(id)) return id;
  }
}

class ClientGone extends Error {}

/** Stands in for the response while a request is processed whose answer is then lost. */
class CapturedResponse {
  public statusCode = 200;
  public headers: Record<string, string> = {};
  public body = '';
  public headersSent = false;
  public destroyed = false;

  public writeHead(status: number, headers: Record<string, string> = {}): this {
    this.statusCode = status;
    this.headers = headers;
    return this;
  }

  public end(body?: string): this {
    this.body = body ?? '';
    return this;
  }
}

/**
 * A stateful stand-in for the token part of the Astra DevOps API. Every request is checked against DataStax's OpenAPI
 * spec before anything else; violations are recorded (tests assert there are none) and answered 400.
 */
export class AstraEmulator {
  public static async start(specPath: string): Promise<AstraEmulator> {
    const emulator = new AstraEmulator(await SpecValidator.create(specPath));
    await new Promise<void>((resolve) => emulator.server.listen(0, '127.0.0.1', resolve));
    return emulator;
  }

  public readonly orgId = randomUUID();
  public readonly roles = standardRoles();
  public readonly faults = new FaultPlan();
  public readonly requests: RecordedRequest[] = [];
  public readonly specViolations: SpecViolation[] = [];
  /** Calls in which a token revoked itself: the design says it never should. */
  public readonly selfRevocations: string[] = [];
  /** DELETE answers 200 as the spec says; DataStax's Vault plugin expects 204, so a test can switch. */
  public deleteStatus: 200 | 204 = 200;
  /** Beyond this many calls in any second, calls are answered 429 with Retry-After and not processed. */
  public rateLimit?: { readonly callsPerSecond: number; readonly retryAfterSeconds: number };
  /**
   * The org's maximum token lifetime: a mint that asks for no expiry gets now + this; one that asks for more is
   * shortened to it or refused (DataStax documents neither: the function must cope with both).
   */
  public orgTokenLifetime?: { readonly ms: number; readonly onLonger: 'shorten' | 'refuse' };
  private readonly acceptedAt: number[] = [];
  private readonly issued = new Map<string, IssuedToken>();
  private readonly server: Server;

  private constructor(private readonly validator: SpecValidator) {
    this.server = createServer((req, res) => {
      this.serve(req, res).catch((e) => {
        if (!res.headersSent && !res.destroyed) this.send(res, 500, { errors: [{ ID: 0, message: `emulator bug: ${(e as Error).message}` }] });
      });
    });
  }

  public get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Adds a role to the org, e.g. one whose UUID an app's template names. */
  public defineRole(role: AstraRole): void {
    (this.roles as Record<string, AstraRole>)[`custom-${role.id}`] = role;
  }

  /** A token made outside the API, as an operator makes the first one in Astra's UI: it gets the org's cap too. */
  public seedToken(roleId: string, description?: string): IssuedToken {
    const expiry = this.expiryFor(undefined);
    return this.issue([roleId], description, undefined, expiry === 'refused' ? undefined : expiry);
  }

  public revokeOutOfBand(clientId: string): void {
    const t = this.issued.get(clientId);
    if (t) t.revoked = true;
  }

  public isLive(token: string): boolean {
    return this.authenticate(token) !== undefined;
  }

  public token(clientId: string): IssuedToken | undefined {
    return this.issued.get(clientId);
  }

  public allTokens(): IssuedToken[] {
    return [...this.issued.values()];
  }

  private authenticate(bearer: string | undefined): IssuedToken | undefined {
    if (!bearer) return undefined;
    const clientId = bearer.split(':')[1];
    const t = clientId ? this.issued.get(clientId) : undefined;
    const expired = t?.tokenExpiry !== undefined && Date.parse(t.tokenExpiry) <= Date.now();
    return t && !t.revoked && !expired && t.token === bearer ? t : undefined;
  }

  private issue(roles: string[], description: string | undefined, mintedBy: string | undefined, tokenExpiry?: string): IssuedToken {
    const clientId = newClientId();
    const t: IssuedToken = {
      clientId,
      secret: pick(SECRET_CHARS, 64),
      token: `AstraCS:${clientId}:${randomBytes(32).toString('hex')}`,
      roles: [...roles],
      generatedOn: new Date().toISOString(),
      description,
      tokenExpiry,
      mintedBy,
      revoked: false,
    };
    this.issued.set(clientId, t);
    return t;
  }

  private actionsOf(t: IssuedToken): Set<string> {
    const all = Object.values(this.roles);
    return new Set(t.roles.flatMap((id) => all.find((r) => r.id === id)?.actions ?? []));
  }

  private role(id: string): AstraRole | undefined {
    return Object.values(this.roles).find((r) => r.id === id);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined;

    const verdict = this.validator.check({ method, path, headers: req.headers, body });
    if (verdict.errors.length) this.specViolations.push({ method, path, errors: verdict.errors });
    const caller = this.authenticate(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    const record = (status: RecordedRequest['status'], fault?: FaultKind) =>
      this.requests.push({ method, path, operationId: verdict.operationId, status, fault, callerClientId: caller?.clientId });

    if (this.overRateLimit()) {
      this.send(res, 429, { errors: [{ ID: 0, message: 'rate limit exceeded' }] }, { 'Retry-After': String(this.rateLimit!.retryAfterSeconds) });
      record(429);
      return;
    }

    const fault = this.faults.take(method, path);
    if (fault?.kind === 'lose-answer') {
      const captured = new CapturedResponse();
      if (verdict.errors.length) captured.writeHead(400).end();
      else this.route(verdict.operationId, method, path, body, caller, captured as unknown as ServerResponse);
      record('answer-lost', fault);
      if (fault.how === 'drop') {
        res.socket?.destroy();
        return;
      }
      const gone = await this.clientGoneWithin(res, fault.ms ?? 60_000);
      if (!gone) res.writeHead(captured.statusCode, captured.headers).end(captured.body);
      return;
    }
    if (fault) {
      try {
        if (await this.applyFault(fault, res)) {
          record(fault.kind === 'drop' ? 'dropped' : res.statusCode, fault);
          return;
        }
      } catch (e) {
        if (e instanceof ClientGone) {
          record('client-gone', fault);
          return;
        }
        throw e;
      }
    }

    if (verdict.errors.length) {
      this.send(res, 400, { errors: [{ ID: 340018, message: `request rejected by the API spec: ${verdict.errors.join('; ')}` }] });
    } else {
      this.route(verdict.operationId, method, path, body, caller, res);
    }
    record(res.statusCode, fault);
  }

  /** Returns true when the fault answered the request itself. */
  private async applyFault(fault: FaultKind, res: ServerResponse): Promise<boolean> {
    switch (fault.kind) {
      case 'status': {
        const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {};
        this.send(res, fault.status, { errors: [{ ID: 0, message: `injected ${fault.status}` }] }, headers);
        return true;
      }
      case 'plain-text':
        res.writeHead(fault.status, { 'Content-Type': 'text/plain' }).end(fault.message);
        return true;
      case 'drop':
        res.socket?.destroy();
        return true;
      case 'delay': {
        // Here a request whose client gave up during the delay is never processed; `lose-answer` is the other case.
        if (await this.clientGoneWithin(res, fault.ms)) throw new ClientGone();
        return false;
      }
      case 'lose-answer':
        throw new Error('lose-answer is applied in serve()');
    }
  }

  private clientGoneWithin(res: ServerResponse, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(res.destroyed || !!res.socket?.destroyed), ms);
      res.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** A sliding one-second window over the calls that were let through. */
  private overRateLimit(): boolean {
    if (!this.rateLimit) return false;
    const now = Date.now();
    while (this.acceptedAt.length > 0 && this.acceptedAt[0] <= now - 1000) this.acceptedAt.shift();
    if (this.acceptedAt.length >= this.rateLimit.callsPerSecond) return true;
    this.acceptedAt.push(now);
    return false;
  }

  private route(
    operationId: string | undefined, method: string, path: string, body: string | undefined, caller: IssuedToken | undefined, res: ServerResponse,
  ): void {
    if (!operationId) {
      this.send(res, 404, { errors: [{ ID: 0, message: `no route for ${method} ${path}` }] });
      return;
    }
    if (!caller) {
      this.send(res, 401, { errors: [{ ID: 340018, message: 'The Auth Token provided is invalid or has expired' }] });
      return;
    }
    const can = (action: string) => this.actionsOf(caller).has(action);
    const forbidden = (message: string, plainText: boolean) => plainText
      ? res.writeHead(403, { 'Content-Type': 'text/plain' }).end(message)
      : this.send(res, 403, { errors: [{ ID: 340000, message }] });

    switch (operationId) {
      case 'getCurrentOrganization':
        this.send(res, 200, { id: this.orgId, name: 'e2e-org' });
        return;
      case 'getOrganizationRoles':
        if (!can('org-role-read')) return void forbidden('role lacks org-role-read', false);
        this.send(res, 200, Object.values(this.roles).map((r) => this.roleBody(r)));
        return;
      case 'getOrganizationRole': {
        if (!can('org-role-read')) return void forbidden('role lacks org-role-read', false);
        const role = this.role(decodeURIComponent(path.split('?')[0].split('/').pop() ?? ''));
        if (role) this.send(res, 200, this.roleBody(role));
        else this.send(res, 404, { errors: [{ ID: 0, message: 'role not found' }] });
        return;
      }
      case 'getClientsForOrg':
        if (!can('org-token-read') && !can(TOKEN_WRITE)) return void forbidden('role lacks org-token-read', false);
        const clients = this.allTokens().filter((t) => !t.revoked)
          .map((t) => ({ clientId: t.clientId, roles: t.roles, generatedOn: t.generatedOn, description: t.description ?? '', tokenExpiry: t.tokenExpiry ?? null }));
        this.send(res, 200, { clients });
        return;
      case 'generateTokenForClient': {
        if (!can(TOKEN_WRITE)) return void forbidden('You do not have permission to generate tokens (org-token-write)', true);
        const request = JSON.parse(body ?? '{}') as { roles: string[]; orgId?: string; description?: string; tokenExpiry?: string };
        const expiry = this.expiryFor(request.tokenExpiry);
        if (expiry === 'refused') return void res.writeHead(400, { 'Content-Type': 'text/plain' }).end('tokenExpiry exceeds the organization\'s maximum token lifetime');
        if (request.orgId !== undefined && request.orgId !== this.orgId) return void res.writeHead(400, { 'Content-Type': 'text/plain' }).end('unknown orgId');
        const unknown = request.roles.filter((id) => !this.role(id));
        if (request.roles.length === 0 || unknown.length) {
          return void res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`invalid roles: ${unknown.join(', ')}`);
        }
        const mine = this.actionsOf(caller);
        if (request.roles.some((id) => this.role(id)!.actions.some((a) => !mine.has(a)))) {
          return void forbidden('A token cannot create new tokens with higher permissions than it has', true);
        }
        const t = this.issue(request.roles, request.description, caller.clientId, expiry);
        const { clientId, secret, roles, token, generatedOn } = t;
        this.send(res, 200, { clientId, secret, orgId: this.orgId, roles, token, generatedOn });
        return;
      }
      case 'deleteTokenForClient': {
        if (!can(TOKEN_WRITE)) return void forbidden('You do not have permission to revoke tokens (org-token-write)', false);
        const clientId = decodeURIComponent(path.split('?')[0].split('/').pop() ?? '');
        const target = this.issued.get(clientId);
        if (!target || target.revoked) return void this.send(res, 404, { errors: [{ ID: 340013, message: 'client id not found' }] });
        if (clientId === caller.clientId) this.selfRevocations.push(clientId);
        target.revoked = true;
        if (this.deleteStatus === 204) res.writeHead(204).end();
        else this.send(res, 200, {});
        return;
      }
      default:
        this.send(res, 501, { errors: [{ ID: 0, message: `${operationId} is not emulated` }] });
    }
  }

  private expiryFor(asked: string | undefined): string | undefined | 'refused' {
    const cap = this.orgTokenLifetime;
    if (!cap) return asked;
    const latest = Date.now() + cap.ms;
    if (asked === undefined) return new Date(latest).toISOString();
    if (Date.parse(asked) <= latest) return asked;
    return cap.onLonger === 'refuse' ? 'refused' : new Date(latest).toISOString();
  }

  private roleBody(r: AstraRole) {
    return { id: r.id, name: r.name, policy: { description: r.name, resources: [`drn:astra:org:${this.orgId}`], actions: r.actions, effect: 'allow' } };
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
  }
}
