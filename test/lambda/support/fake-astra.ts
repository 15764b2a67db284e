import { LiveTokens } from './live-tokens';
import { IssuedToken } from '../../support/astra/astra-model';
import { AstraServer } from '../../support/astra/astra-server';
import { bundledSpecValidator } from '../../support/astra/bundled-spec-validator';
import { FaultRule } from '../../support/astra/fault-plan';
import { AstraRole, ROLE_READ, TOKEN_READ, TOKEN_WRITE } from '../../support/astra/roles';

export const ADMIN_ROLE = '11111111-2222-4333-8444-555555555555';
export const APP_ROLE = '66666666-7777-4888-8999-aaaaaaaaaaaa';
/** A custom role that may read and write tokens but not read roles. */
export const ROTATOR_ROLE = 'bbbbbbbb-cccc-4ddd-8eee-ffffffffffff';
/** A custom role that may read tokens but not write them. */
export const READER_ROLE = '22222222-3333-4444-8555-666666666666';

/** Fixed UUIDs, so that the handler tests can name the roles in tags and values without asking the org. */
function handlerTestRoles(): Record<'admin' | 'app' | 'rotator' | 'reader', AstraRole> {
  return {
    admin: { id: ADMIN_ROLE, name: 'admin', actions: ['org-read', ROLE_READ, TOKEN_READ, TOKEN_WRITE, 'db-cql'] },
    app: { id: APP_ROLE, name: 'app', actions: ['org-read', 'db-cql'] },
    rotator: { id: ROTATOR_ROLE, name: 'rotator', actions: ['org-read', TOKEN_READ, TOKEN_WRITE] },
    reader: { id: READER_ROLE, name: 'reader', actions: ['org-read', TOKEN_READ] },
  };
}

/** A fault as the handler tests write it: an answer (500 with an empty JSON body unless told), or none at all. */
export interface Fault {
  method: string;
  path: RegExp;
  status?: number;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Never answer: the client's timeout must fire. */
  hang?: boolean;
  times?: number;
  /** Matching calls let through before the fault applies (e.g. 1: the sweep's list passes, the next list fails). */
  after?: number;
}

/** The Astra model served in the tests' own process, with the handler tests' shorthands for its state and faults. */
export class FakeAstra extends AstraServer<ReturnType<typeof handlerTestRoles>> {
  /** The live tokens by clientId; deleting one revokes it out of band. */
  public readonly tokens = new LiveTokens(this);

  public constructor() {
    super(handlerTestRoles());
  }

  public async start(): Promise<void> {
    await super.start(await bundledSpecValidator());
  }

  /** Every token ever minted or seeded, live or not: the redaction checks look for all of them. */
  public get everIssued(): IssuedToken[] {
    return this.allTokens();
  }

  /** The org's maximum token lifetime in ms: a longer expiry asked for is shortened to it. */
  public set orgTokenLifetimeMs(ms: number | undefined) {
    this.orgTokenLifetime = ms ? { ms, onLonger: 'shorten' } : undefined;
  }

  /** Assigning a list re-arms the faults with it (`faults = []` clears them). */
  public set faults(faults: readonly Fault[]) {
    this.faultPlan.clear();
    for (const fault of faults) this.fail(fault);
  }

  /** A token made outside the API, as an operator makes one in Astra's UI. */
  public issue(roles: string[], description?: string): IssuedToken {
    return this.seedToken(roles, description);
  }

  public fail(fault: Fault): void {
    this.faultPlan.inject(ruleOf(fault));
  }

  public count(method: string, path?: RegExp): number {
    return this.requests.filter((r) => r.method === method && (!path || path.test(r.path))).length;
  }
}

function ruleOf({ method, path, times, after, hang, status, body, contentType, headers }: Fault): FaultRule {
  return { method, path, times: times ?? 1, after, fault: hang ? { kind: 'hang' } : { kind: 'answer', status: status ?? 500, body, contentType, headers } };
}
