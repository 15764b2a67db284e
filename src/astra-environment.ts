import { Token } from 'aws-cdk-lib';
import { ASTRA_API_URLS } from './shared/astra-api-urls';
import { baseUrlProblem, describeBaseUrlProblem, shownUrl, trimmedBaseUrl } from './shared/base-url';

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
 * The DevOps API base URL from the construct's props, validated at synth time. `constructPath` names the construct in
 * the error. An error never quotes credentials, a query or a fragment of the URL.
 */
export function resolveAstraApiUrl(environment?: AstraEnvironment, apiUrl?: string, constructPath?: string): string {
  const who = constructPath ? `AstraTokenSecret ${constructPath}` : 'AstraTokenSecret';
  if (environment !== undefined && apiUrl !== undefined) {
    throw new Error(`${who}: set either \`astraEnvironment\` or \`astraApiUrl\`, not both.`);
  }
  if (apiUrl === undefined) {
    return ASTRA_API_URLS[environment ?? AstraEnvironment.PROD];
  }
  if (Token.isUnresolved(apiUrl)) {
    return apiUrl;
  }
  const options = { loopbackHttp: false };
  const problem = baseUrlProblem(apiUrl, options);
  if (problem) {
    const shown = shownUrl(apiUrl);
    const url = shown === undefined ? '' : ` "${shown}"`;
    const remedy = problem === 'credentials'
      ? 'They would be written into the template and the function\'s environment. Remove them: the function authenticates to the DevOps API '
        + `with the Astra token alone. Give the base URL, e.g. ${ASTRA_API_URLS.PROD}.`
      : `The function sends Astra tokens to it: give the DevOps API base, e.g. ${ASTRA_API_URLS.PROD}.`;
    throw new Error(`${who}: \`astraApiUrl\`${url} ${describeBaseUrlProblem(problem, options)}. ${remedy}`);
  }
  return trimmedBaseUrl(apiUrl);
}
