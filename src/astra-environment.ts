import { Token } from 'aws-cdk-lib';
import { ASTRA_API_URLS } from './astra-api-urls';
import { baseUrlProblem, trimmedBaseUrl } from './base-url';

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
  const problem = baseUrlProblem(apiUrl, { loopbackHttp: false });
  if (problem) {
    // The value itself only when it cannot hold credentials.
    const shown = problem.includes('credentials') ? `${new URL(apiUrl).origin}...` : apiUrl;
    throw new Error(
      `AstraTokenSecret: \`astraApiUrl\` "${shown}" ${problem}: the function sends Astra tokens to it; give the DevOps API base, e.g. ${ASTRA_API_URLS.PROD}.`,
    );
  }
  return trimmedBaseUrl(apiUrl);
}
