import { Token } from 'aws-cdk-lib';
import { ASTRA_API_URLS } from './astra-api-urls';

/**
 * The Astra environment whose DevOps API mints the tokens. A token works only in its own environment.
 */
export enum AstraEnvironment {
  /** Astra production: `https://api.astra.datastax.com`. */
  PROD = 'PROD',
  /** DataStax's development environment: `https://api.dev.cloud.datastax.com`. */
  DEV = 'DEV',
  /** DataStax's test environment: `https://api.test.cloud.datastax.com`. */
  TEST = 'TEST',
}


/**
 * The DevOps API base URL from the construct's props, validated at synth time.
 */
export function resolveAstraApiUrl(environment?: AstraEnvironment, apiUrl?: string): string {
  if (environment !== undefined && apiUrl !== undefined) {
    throw new Error('AstraTokenSecret: set either `astraEnvironment` or `astraApiUrl`, not both.');
  }
  if (apiUrl === undefined) {
    return ASTRA_API_URLS[environment ?? AstraEnvironment.PROD];
  }
  if (Token.isUnresolved(apiUrl)) {
    return apiUrl;
  }
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new Error(`AstraTokenSecret: \`astraApiUrl\` "${apiUrl}" is not a URL; give the DevOps API base, e.g. https://api.astra.datastax.com.`);
  }
  if (url.protocol !== 'https:') {
    throw new Error(`AstraTokenSecret: \`astraApiUrl\` must use https:// (got "${apiUrl}"): the function sends Astra tokens to it.`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new Error(`AstraTokenSecret: \`astraApiUrl\` must be a plain base URL without query, fragment or credentials (got "${url.origin}...").`);
  }
  return apiUrl.replace(/\/+$/, '');
}
