/** `AstraCS:` + 24-character clientId + `:` + 64 hex characters (datastax/astra-cli AstraToken.java): 97 in all. */
export const ASTRA_TOKEN_FORMAT = /^AstraCS:[A-Za-z0-9]{24}:[0-9a-f]{64}$/;
