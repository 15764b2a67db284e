import { RotationFailure } from './errors';
import { Redactor } from './redact';

export type JsonObject = Record<string, unknown>;

/** The engines this function rotates: its own format and the one DataStax's Python rotator writes. */
export const ENGINES = ['AstraDB', 'Astra'] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
// AstraCS:<clientId>:<hex>; the clientId is the part a DELETE needs.
const ASTRA_TOKEN = /^AstraCS:([A-Za-z0-9]+):[0-9A-Za-z]+$/;

/** A secret value as the rotation sees it; `raw` keeps every key, including those the rotator does not own. */
export interface AstraSecretValue {
  readonly raw: JsonObject;
  readonly astraKey?: string;
  readonly clientId?: string;
  readonly roleID?: string;
  readonly rootarn?: string;
  readonly orgId?: string;
  readonly pendingRevocations: string[];
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function clientIdOfToken(token: string | undefined): string | undefined {
  return token ? ASTRA_TOKEN.exec(token)?.[1] : undefined;
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
  redactor.add(astraKey, clientSecret);
  const clientId = optionalString(raw, 'clientID', what) ?? clientIdOfToken(astraKey);
  const pending = raw.pendingRevocations;
  return {
    raw,
    astraKey,
    clientId,
    roleID: typeof raw.roleID === 'string' ? raw.roleID : undefined,
    rootarn: typeof raw.rootarn === 'string' ? raw.rootarn : undefined,
    orgId: typeof raw.orgId === 'string' ? raw.orgId : undefined,
    pendingRevocations: Array.isArray(pending) ? pending.filter((c): c is string => typeof c === 'string' && c.length > 0) : [],
  };
}

/** Checks AWSCURRENT before anything is minted: every error here leaves the secret and Astra untouched. */
export function validateRotatable(value: AstraSecretValue, secretArn: string): void {
  const { raw } = value;
  const engine = raw.engine;
  if (engine === undefined) {
    throw new RotationFailure('AWSCURRENT has no "engine" key.', 'Add "engine": "AstraDB" to the secret value.');
  }
  if (typeof engine !== 'string' || !(ENGINES as readonly string[]).includes(engine)) {
    throw new RotationFailure(`AWSCURRENT has "engine": ${JSON.stringify(engine)}, which this function does not rotate.`, 'Set "engine" to "AstraDB".');
  }
  if (raw.rootarn !== undefined) {
    if (typeof raw.rootarn !== 'string' || !SECRET_ARN.test(raw.rootarn)) {
      throw new RotationFailure(`"rootarn" ${JSON.stringify(raw.rootarn)} is not a Secrets Manager secret ARN.`,
        'Set it to the full ARN of the secret that holds the admin token, or remove it to let the secret rotate itself.');
    }
    if (raw.rootarn === secretArn) {
      throw new RotationFailure('"rootarn" names this secret itself.', 'Point it at a separate admin secret, or remove it to let the secret rotate itself.');
    }
  } else if (engine === 'Astra') {
    throw new RotationFailure('"engine": "Astra" (the DataStax rotator format) needs a "rootarn".', 'Add "rootarn" (the admin secret ARN) or set "engine" to "AstraDB".');
  }
  if (raw.roleID !== undefined) {
    if (typeof raw.roleID !== 'string' || !isUuid(raw.roleID)) {
      throw new RotationFailure(`roleID ${JSON.stringify(raw.roleID)} is not a UUID.`,
        'Put the Astra role\'s UUID (from GET /v2/organizations/roles or the Astra portal), not its name, in "roleID".');
    }
  } else if (value.rootarn === undefined) {
    throw new RotationFailure('AWSCURRENT has no "roleID".', 'Add "roleID": the UUID of the Astra role the rotated token should have.');
  }
  if (value.rootarn === undefined && !value.astraKey) {
    throw new RotationFailure('the secret rotates itself (no "rootarn") but AWSCURRENT holds no "astraKey" yet, so there is no token to mint its successor.',
      'Put a working token (with the token-write permission) in "astraKey", or add a "rootarn" naming an admin secret.');
  }
}

/** The next version: every key of AWSCURRENT the rotator does not own, plus the new token. */
export function nextSecretString(
  current: AstraSecretValue,
  minted: { clientId: string; secret: string; token: string; orgId?: string; generatedOn?: string },
  pendingRevocations: string[],
): string {
  const next: JsonObject = { ...current.raw };
  delete next.orgId;
  next.astraKey = minted.token;
  next.clientID = minted.clientId;
  next.clientSecret = minted.secret;
  const orgId = minted.orgId ?? current.orgId;
  if (orgId) next.orgId = orgId;
  next.generatedOn = minted.generatedOn ?? new Date().toISOString();
  next.pendingRevocations = pendingRevocations;
  return JSON.stringify(next);
}

function optionalString(raw: JsonObject, key: string, what: string): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new RotationFailure(`${what} has a non-string "${key}".`, `Make "${key}" a string.`);
  }
  return value;
}
