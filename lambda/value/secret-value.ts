import { SECRET_ARN, SecretBinding } from './binding';
import { ROLE_UUID } from '../../src/shared/role-uuid';
import { RotationFailure } from '../logging/errors';
import { Redactor } from '../logging/redact';

export type JsonObject = Record<string, unknown>;

/** The engines this function rotates: its own format and the one DataStax's Python rotator writes. */
export const ENGINES = ['AstraDB', 'Astra'] as const;

// AstraCS:<clientId>:<hex>; the clientId is the part a DELETE needs.
const ASTRA_TOKEN = /^AstraCS:([A-Za-z0-9]+):[0-9A-Za-z]+$/;

/** A clientSecret as Astra issues one: long, with no spaces or colons (ARNs, clientIds and field names are not). */
const CLIENT_SECRET = /^[^\s:]{32,}$/;

/** A secret value as the rotation sees it; `raw` keeps every key, including those the rotator does not own. */
export interface AstraSecretValue {
  readonly raw: JsonObject;
  readonly astraKey?: string;
  /** The token's clientId: taken from `astraKey` when it is a token, else from the `clientID` field. */
  readonly clientId?: string;
  /** The `clientID` field as stored. */
  readonly clientIdField?: string;
  readonly roleID?: string;
  readonly rootarn?: string;
  readonly orgId?: string;
  readonly pendingRevocations: string[];
  /** Where each pending revocation's token was held when it was recorded (clientId -> version id): a place to look, not proof. */
  readonly pendingRevocationVersions: Record<string, string>;
  /** The full token of a pending revocation Astra could not judge, carried in the value itself (clientId -> token): a claim. */
  readonly pendingRevocationKeys: Record<string, string>;
}

export function clientIdOfToken(token: string | undefined): string | undefined {
  return token ? ASTRA_TOKEN.exec(token)?.[1] : undefined;
}

/** Astra's token exactly as it mints one (NOTES: 97 characters): the form a rotation stores, and a control can copy. */
const ASTRA_TOKEN_AS_MINTED = /^AstraCS:([A-Za-z0-9]{24}):[0-9a-f]{64}$/;

/** The clientId of a token in the exact form Astra mints; undefined for any other key, whatever it may authenticate as. */
export function clientIdOfMintedToken(token: string | undefined): string | undefined {
  return token ? ASTRA_TOKEN_AS_MINTED.exec(token)?.[1] : undefined;
}

/**
 * Parses a secret string without judging it; credentials in it are registered for redaction at once.
 * The JSON parser's own message is never used: V8 quotes the offending text, which may be a token.
 */
export function parseSecretString(text: string, what: string, redactor: Redactor): AstraSecretValue {
  // SecretStore.valueOf answers '' for a version whose value is binary (no SecretString).
  if (text === '') {
    throw new RotationFailure(`${what} has no SecretString (binary or empty).`, 'Store the Astra token as a JSON SecretString.');
  }
  redactor.add(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RotationFailure(`${what} is not valid JSON.`, 'Store a JSON object such as {"astraKey": ..., "roleID": "<role uuid>", "engine": "AstraDB"}.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new RotationFailure(`${what} is not a JSON object.`, 'Store a JSON object such as {"astraKey": ..., "roleID": "<role uuid>", "engine": "AstraDB"}.');
  }
  const raw = parsed as JsonObject;
  const astraKey = optionalString(raw, 'astraKey', what);
  const clientSecret = optionalString(raw, 'clientSecret', what);
  // Only strings in a credential's shape are masked by value: a writer's astraKey or clientSecret that is the secret's ARN
  // or a clientId would otherwise be masked in every log line, the alerts that name them included. (An AstraCS token is
  // masked by its shape whatever the value says.)
  redactor.add(clientIdOfToken(astraKey) ? astraKey : undefined, clientSecret && CLIENT_SECRET.test(clientSecret) ? clientSecret : undefined);
  const clientIdField = optionalString(raw, 'clientID', what);
  const clientId = clientIdOfToken(astraKey) ?? clientIdField;
  const pending = raw.pendingRevocations;
  const versions = raw.pendingRevocationVersions;
  // Only entries whose key names its clientId: any other string a writer put there would be masked in every log line.
  const carriedKeys = Object.fromEntries(Object.entries(stringsByKey(raw.pendingRevocationKeys)).filter(([c, key]) => clientIdOfToken(key) === c));
  redactor.add(...Object.values(carriedKeys));
  return {
    raw,
    astraKey,
    clientId,
    clientIdField,
    roleID: typeof raw.roleID === 'string' ? raw.roleID : undefined,
    rootarn: typeof raw.rootarn === 'string' ? raw.rootarn : undefined,
    orgId: typeof raw.orgId === 'string' ? raw.orgId : undefined,
    pendingRevocations: Array.isArray(pending) ? pending.filter((c): c is string => typeof c === 'string' && c.length > 0) : [],
    pendingRevocationVersions: stringsByKey(versions),
    pendingRevocationKeys: carriedKeys,
  };
}

/**
 * Checks AWSCURRENT before anything is minted or revoked: every error here leaves the secret and Astra untouched, and
 * names the field and the shape it needs, never the field's value.
 */
export function validateRotatable(value: AstraSecretValue, selfRotating: boolean): void {
  const { raw } = value;
  if (raw.engine === undefined) {
    throw new RotationFailure('AWSCURRENT has no "engine" key.', 'Add "engine": "AstraDB" to the secret value.');
  }
  if (typeof raw.engine !== 'string' || !(ENGINES as readonly string[]).includes(raw.engine)) {
    throw new RotationFailure(`AWSCURRENT's "engine" is not one this function rotates (${ENGINES.join(' or ')}).`, 'Set "engine" to "AstraDB".');
  }
  if (raw.roleID !== undefined && (typeof raw.roleID !== 'string' || !ROLE_UUID.test(raw.roleID))) {
    throw new RotationFailure('AWSCURRENT\'s "roleID" is not a role UUID (8-4-4-4-12 hexadecimal digits).',
      'Put the Astra role\'s UUID (from GET /v2/organizations/roles or the Astra portal), not its name, in "roleID", or remove it.');
  }
  if (raw.rootarn !== undefined && (typeof raw.rootarn !== 'string' || !SECRET_ARN.test(raw.rootarn))) {
    throw new RotationFailure('AWSCURRENT\'s "rootarn" is not a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>).',
      'Set it to the full ARN of the admin secret, or remove it.');
  }
  if (value.astraKey !== undefined) {
    const tokenClientId = clientIdOfToken(value.astraKey);
    if (!tokenClientId) {
      throw new RotationFailure('AWSCURRENT\'s "astraKey" is not an Astra token (AstraCS, a colon, the clientId, a colon, the secret).',
        'Store the "token" of the DevOps API\'s answer (or the Astra portal\'s) in "astraKey".');
    }
    if (value.clientIdField !== undefined && value.clientIdField !== tokenClientId) {
      throw new RotationFailure('AWSCURRENT\'s "clientID" is not the clientId inside its "astraKey" (AstraCS, a colon, the clientId, a colon, the secret).',
        'Store the "clientId" of the same DevOps API answer as the token in "clientID", or remove "clientID".');
    }
  }
  if (selfRotating && !value.astraKey) {
    throw new RotationFailure('the secret rotates itself (no admin secret is bound) but AWSCURRENT holds no "astraKey" yet, so there is no token to mint its successor.',
      'Put a working token (whose role may read and write tokens) in "astraKey"; see docs/secret.md, "Two ways to mint".');
  }
}

/** The next version: every key of AWSCURRENT the rotator does not own, plus the new token. */
export function nextSecretString(
  current: AstraSecretValue,
  minted: { clientId: string; secret: string; token: string; orgId?: string; generatedOn?: string; tokenExpiry?: string },
  pending: { readonly clientIds: string[]; readonly versions: Record<string, string>; readonly keys?: Record<string, string> },
  binding: SecretBinding,
): string {
  const next: JsonObject = { ...current.raw };
  delete next.orgId;
  // Readers of DataStax's schema find the role and admin secret in the value; the rotation takes them from the binding.
  next.roleID = binding.roleId;
  if (binding.adminSecretArn) next.rootarn = binding.adminSecretArn;
  else delete next.rootarn;
  next.astraKey = minted.token;
  next.clientID = minted.clientId;
  next.clientSecret = minted.secret;
  const orgId = minted.orgId ?? current.orgId;
  if (orgId) next.orgId = orgId;
  next.generatedOn = minted.generatedOn ?? new Date().toISOString();
  // For readers that want to know when the token stops working; absent when it does not expire (or is not known).
  if (minted.tokenExpiry) next.tokenExpiry = minted.tokenExpiry;
  else delete next.tokenExpiry;
  next.pendingRevocations = pending.clientIds;
  next.pendingRevocationVersions = Object.fromEntries(pending.clientIds.flatMap((c) => pending.versions[c] ? [[c, pending.versions[c]]] : []));
  const keys = Object.fromEntries(pending.clientIds.flatMap((c) => pending.keys?.[c] ? [[c, pending.keys[c]]] : []));
  if (Object.keys(keys).length) next.pendingRevocationKeys = keys;
  else delete next.pendingRevocationKeys;
  return JSON.stringify(next);
}

function stringsByKey(field: unknown): Record<string, string> {
  if (typeof field !== 'object' || field === null || Array.isArray(field)) return {};
  return Object.fromEntries(Object.entries(field).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].length > 0));
}

function optionalString(raw: JsonObject, key: string, what: string): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new RotationFailure(`${what} has a non-string "${key}".`, `Make "${key}" a string.`);
  }
  return value;
}
