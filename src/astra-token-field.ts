/**
 * A field of the secret's JSON value that an application reads.
 */
export enum AstraTokenField {
  /** The token itself (`AstraCS:...`): what the Astra drivers and the Data API take as the token. */
  ASTRA_KEY = 'astraKey',
  /** The token's client ID, for drivers that authenticate with a client ID and secret. */
  CLIENT_ID = 'clientID',
  /** The token's client secret, for drivers that authenticate with a client ID and secret. */
  CLIENT_SECRET = 'clientSecret',
}
