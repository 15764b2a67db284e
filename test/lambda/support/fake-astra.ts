import { randomBytes, randomUUID } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';

export const ADMIN_ROLE = '11111111-2222-4333-8444-555555555555';
export const APP_ROLE = '66666666-7777-4888-8999-aaaaaaaaaaaa';
/** A custom role that may read and write tokens but not read roles. */
export const ROTATOR_ROLE = 'bbbbbbbb-cccc-4ddd-8eee-ffffffffffff';
const WRITE_ROLES = new Set([ADMIN_ROLE, ROTATOR_ROLE]);
const ROLE_ACTIONS: Record<string, string[]> = {
  [ADMIN_ROLE]: ['org-read', 'org-role-read', 'org-token-read', 'org-token-write', 'db-cql'],
  [APP_ROLE]: ['org-read', 'db-cql'],
  [ROTATOR_ROLE]: ['org-read', 'org-token-read', 'org-token-write'],
};

export interface AstraToken {
  readonly clientId: string;
  readonly secret: string;
  readonly token: string;
  readonly roles: string[];
  readonly description?: string;
}

export interface Fault {
  method: string;
  path: RegExp;
  status?: number;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Never answer: the client's timeout must fire. */
  hang?: boolean;
  times: number;
  /** Matching calls let through before the fault applies (e.g. 1: the sweep's list passes, the next list fails). */
  after?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly bearerClientId?: string;
  readonly body?: any;
  readonly answered: number | 'fault';
}

/** An Astra DevOps API on 127.0.0.1 with the token endpoints, programmable faults and a request log. */
export class FakeAstra {
  public readonly orgId = randomUUID();
  public readonly tokens = new Map<string, AstraToken>();
  /** Every token ever minted or seeded, live or not: the redaction checks look for all of them. */
  public readonly everIssued: AstraToken[] = [];
  public readonly requests: RecordedRequest[] = [];
  public faults: Fault[] = [];
  public deleteStatus = 200;
  /** New tokens answer 401 on GET /v2/currentOrg this many times before they work. */
  public warmUpFailures = 0;
  /** Fails a mint after creating the token (answers 200 without a token body). */
  public malformedMint = false;
  /** The org's maximum token lifetime: minted tokens list this expiry. */
  public orgTokenLifetimeMs?: number;
  /** The list lags: it leaves out tokens minted after this was set (an eventually consistent list). */
  public listLagsFrom?: number;
  private readonly expiries = new Map<string, string>();
  private readonly mintedAt = new Map<string, number>();
  /** When each token was issued, as the list's generatedOn shows it (backdate moves it). */
  private readonly issuedAt = new Map<string, number>();
  private readonly warmUp = new Map<string, number>();
  private server?: Server;

  public get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  public async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  public async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  public reset(): void {
    this.tokens.clear();
    this.everIssued.length = 0;
    this.requests.length = 0;
    this.faults = [];
    this.deleteStatus = 200;
    this.warmUpFailures = 0;
    this.malformedMint = false;
    this.orgTokenLifetimeMs = undefined;
    this.listLagsFrom = undefined;
    this.warmUp.clear();
    this.expiries.clear();
    this.mintedAt.clear();
    this.issuedAt.clear();
  }

  public issue(roles: string[], description?: string): AstraToken {
    const clientId = randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 24);
    const token: AstraToken = { clientId, secret: randomBytes(24).toString('hex'), token: `AstraCS:${clientId}:${randomBytes(32).toString('hex')}`, roles, description };
    this.tokens.set(clientId, token);
    this.issuedAt.set(clientId, Date.now());
    this.everIssued.push(token);
    return token;
  }

  /** Makes every token issued so far look `ms` older in the list (its generatedOn). */
  public backdate(ms: number): void {
    for (const [clientId, at] of this.issuedAt) this.issuedAt.set(clientId, at - ms);
  }

  public isLive(clientId: string | undefined): boolean {
    return !!clientId && this.tokens.has(clientId);
  }

  public fail(fault: Partial<Fault> & { method: string; path: RegExp }): void {
    this.faults.push({ times: 1, ...fault });
  }

  public count(method: string, path?: RegExp): number {
    return this.requests.filter((r) => r.method === method && (!path || path.test(r.path))).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const method = req.method ?? '';
    const path = req.url ?? '';
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const caller = [...this.tokens.values()].find((t) => t.token === bearer);
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const record = (answered: number | 'fault') => this.requests.push({ method, path, bearerClientId: caller?.clientId ?? (bearer ? `unknown:${bearer.slice(8, 32)}` : undefined), body, answered });

    let fault = this.faults.find((f) => f.times > 0 && f.method === method && f.path.test(path));
    if (fault?.after) {
      fault.after--;
      fault = undefined;
    }
    if (fault) {
      fault.times--;
      record('fault');
      if (fault.hang) return;
      res.writeHead(fault.status ?? 500, { 'content-type': fault.contentType ?? 'application/json', ...fault.headers });
      res.end(fault.body ?? '');
      return;
    }
    const send = (status: number, payload?: unknown, contentType = 'application/json') => {
      record(status);
      res.writeHead(status, { 'content-type': contentType });
      res.end(payload === undefined ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload));
    };
    if (!caller) return send(401, { errors: [{ ID: 340018, message: `invalid token ${bearer ?? ''}` }] });
    const canWrite = caller.roles.some((r) => WRITE_ROLES.has(r));

    if (method === 'GET' && path === '/v2/currentOrg') {
      const left = this.warmUp.get(caller.clientId) ?? 0;
      if (left > 0) {
        this.warmUp.set(caller.clientId, left - 1);
        return send(401, { errors: [{ ID: 340018, message: 'token not yet active' }] });
      }
      return send(200, { id: this.orgId, organizationName: 'test org' });
    }
    if (method === 'GET' && path === '/v2/clientIdSecrets') {
      const lagging = (t: AstraToken) => this.listLagsFrom !== undefined && (this.mintedAt.get(t.clientId) ?? 0) >= this.listLagsFrom;
      const clients = [...this.tokens.values()].filter((t) => !lagging(t)).map((t) => ({
        clientId: t.clientId,
        roles: t.roles,
        generatedOn: new Date(this.issuedAt.get(t.clientId) ?? Date.now()).toISOString(),
        description: t.description ?? '',
        tokenExpiry: this.expiries.get(t.clientId) ?? null,
      }));
      return send(200, { clients });
    }
    if (method === 'POST' && path === '/v2/clientIdSecrets') {
      if (!canWrite) return send(403, 'user is not authorized to perform this action', 'text/plain');
      if (!Array.isArray(body?.roles) || body.roles.length === 0) return send(400, { errors: [{ ID: 1, message: 'roles required' }] });
      const minted = this.issue(body.roles, body.description);
      this.mintedAt.set(minted.clientId, Date.now());
      if (this.orgTokenLifetimeMs) this.expiries.set(minted.clientId, new Date(Date.now() + this.orgTokenLifetimeMs).toISOString());
      if (this.warmUpFailures > 0) this.warmUp.set(minted.clientId, this.warmUpFailures);
      if (this.malformedMint) return send(200, { clientId: minted.clientId, orgId: this.orgId });
      return send(200, { clientId: minted.clientId, secret: minted.secret, token: minted.token, orgId: this.orgId, roles: minted.roles, generatedOn: '2024-01-01T00:00:00Z' });
    }
    const roleMatch = /^\/v2\/organizations\/roles\/([^/]+)$/.exec(path);
    if (method === 'GET' && roleMatch) {
      if (!caller.roles.includes(ADMIN_ROLE)) return send(403, 'role lacks org-role-read', 'text/plain');
      const id = decodeURIComponent(roleMatch[1]);
      const actions = ROLE_ACTIONS[id];
      if (!actions) return send(404, 'role not found', 'text/plain');
      return send(200, { id, name: id, policy: { description: id, resources: [`drn:astra:org:${this.orgId}`], actions, effect: 'allow' } });
    }
    const deleteMatch = /^\/v2\/clientIdSecrets\/([^/]+)$/.exec(path);
    if (method === 'DELETE' && deleteMatch) {
      if (!canWrite && caller.clientId !== decodeURIComponent(deleteMatch[1])) {
        // Assumed: a token without token-write may not revoke other tokens.
        return send(403, { errors: [{ ID: 2, message: 'not authorized' }] });
      }
      const target = decodeURIComponent(deleteMatch[1]);
      if (!this.tokens.has(target)) return send(404, { errors: [{ ID: 3, message: 'client id not found' }] });
      this.tokens.delete(target);
      return send(this.deleteStatus);
    }
    return send(404, 'no such route', 'text/plain');
  }
}
