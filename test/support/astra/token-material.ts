import { randomBytes, randomInt } from 'node:crypto';

/** `AstraCS:` + 24-character clientId + `:` + 64 hex characters (datastax/astra-cli AstraToken.java): 97 in all. */
export const ASTRA_TOKEN_FORMAT = /^AstraCS:[A-Za-z0-9]{24}:[0-9a-f]{64}$/;

/** Every credential string a token carries: the token, its secret, and the token's secret part on its own. */
export function credentialStringsOf(token: { token: string; secret: string }): string[] {
  return [token.token, token.secret, token.token.slice(token.token.lastIndexOf(':') + 1)];
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET_CHARS = LETTERS + '0123456789-_.,';

function pick(alphabet: string, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** A new token's credentials, shaped as Astra's are. */
export function newCredentials(): { clientId: string; secret: string; token: string } {
  const clientId = newClientId();
  return { clientId, secret: pick(SECRET_CHARS, 64), token: `AstraCS:${clientId}:${randomBytes(32).toString('hex')}` };
}

/** 24 letters with both cases present, as Astra's are (case-sensitive, so a lower-cased lookup must miss). */
function newClientId(): string {
  for (;;) {
    const id = pick(LETTERS, 24);
    if (/[a-z]/.test(id) && /[A-Z]/.test(id)) return id;
  }
}
