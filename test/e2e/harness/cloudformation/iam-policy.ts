/**
 * The part of IAM's policy evaluation the rotation function's Secrets Manager calls meet: identity policies only, an
 * Allow whose Action and Resource match (with `*` and `?` wildcards) and whose conditions hold, and no matching Deny.
 * Conditions: StringEquals and StringLike on `secretsmanager:ResourceTag/<key>` and `aws:ResourceTag/<key>`. A
 * statement the model cannot evaluate (NotAction, NotResource, another condition) never allows: the model errs
 * towards "denied", so a policy that works here is not wider than it looks.
 */
export interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
  readonly Sid?: string;
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: PolicyStatement | PolicyStatement[];
}

export interface AuthorizationRequest {
  /** e.g. `secretsmanager:GetSecretValue`. */
  readonly action: string;
  /** The secret's full ARN, or `*` for actions on no resource. */
  readonly resource: string;
  /** The secret's tags (empty when it does not exist). */
  readonly resourceTags: Readonly<Record<string, string>>;
}

export type Decision = 'allowed' | 'implicitly-denied' | 'explicitly-denied';

export function statementsOf(document: PolicyDocument | undefined): PolicyStatement[] {
  if (!document) return [];
  return Array.isArray(document.Statement) ? document.Statement : [document.Statement];
}

export function authorize(statements: readonly PolicyStatement[], request: AuthorizationRequest): Decision {
  const applies = (s: PolicyStatement) => s.Action !== undefined && s.Resource !== undefined
    && s.NotAction === undefined && s.NotResource === undefined
    && list(s.Action).some((a) => wildcard(a, true).test(request.action))
    && list(s.Resource).some((r) => wildcard(r, false).test(request.resource))
    && conditionsHold(s.Condition, request);
  if (statements.some((s) => s.Effect === 'Deny' && applies(s))) return 'explicitly-denied';
  return statements.some((s) => s.Effect === 'Allow' && applies(s)) ? 'allowed' : 'implicitly-denied';
}

function list(v: string | string[]): string[] {
  return Array.isArray(v) ? v : [v];
}

/** IAM's wildcards: `*` any run of characters, `?` one. Actions compare without case, resources with it. */
export function wildcard(pattern: string, ignoreCase: boolean): RegExp {
  const body = pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, ignoreCase ? 'i' : '');
}

function conditionsHold(conditions: PolicyStatement['Condition'], request: AuthorizationRequest): boolean {
  for (const [operator, entries] of Object.entries(conditions ?? {})) {
    if (operator !== 'StringEquals' && operator !== 'StringLike') return false;
    for (const [key, expected] of Object.entries(entries)) {
      const tag = /^(?:secretsmanager|aws):ResourceTag\/(.+)$/.exec(key);
      if (!tag) return false;
      const actual = request.resourceTags[tag[1]];
      if (actual === undefined) return false;
      const matches = list(expected).some((e) => (operator === 'StringEquals' ? e === actual : wildcard(e, false).test(actual)));
      if (!matches) return false;
    }
  }
  return true;
}
