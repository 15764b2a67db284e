/** `AstraCS:` + 24-character clientId + `:` + 64 hex characters (datastax/astra-cli AstraToken.java): 97 in all. */
export const ASTRA_TOKEN_FORMAT = /^AstraCS:[A-Za-z0-9]{24}:[0-9a-f]{64}$/;

/** Every credential string a token carries: the token, its secret, and the token's secret part on its own. */
export function credentialStringsOf(token: { token: string; secret: string }): string[] {
  return [token.token, token.secret, token.token.slice(token.token.lastIndexOf(':') + 1)];
}
