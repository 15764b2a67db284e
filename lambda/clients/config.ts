import { ASTRA_API_URLS } from '../../src/shared/astra-api-urls';
import { baseUrlProblem, describeBaseUrlProblem, shownUrl, trimmedBaseUrl } from '../../src/shared/base-url';

// The function's own URLs may be loopback http (its tests' servers); the construct refuses that at synth.
const URL_RULES = { loopbackHttp: true };

/** Settings of one invocation, read from the environment each time (see docs/rotation-design.md, "Inputs"). */
export interface RotationConfig {
  readonly secretsManagerEndpoint?: string;
  readonly astraApiUrl: string;
  readonly httpTimeoutMs: number;
  readonly httpMaxAttempts: number;
  readonly retryBaseMs: number;
  readonly testAttempts: number;
  readonly testRetryDelayMs: number;
  /** Time kept free at the end of an invocation for the work after the last Astra call. */
  readonly timeMarginMs: number;
  /** Request timeout of each Secrets Manager call (its connection timeout is at most 2 s). */
  readonly secretsManagerTimeoutMs: number;
  /** How many secrets' teardown turns run at once. */
  readonly teardownTurnsAtOnce: number;
}

/** The invocation's time when no Lambda context says otherwise: the construct's function timeout. */
export const DEFAULT_INVOCATION_MS = 180_000;

export const DEFAULT_ASTRA_API_URL = ASTRA_API_URLS.PROD;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): RotationConfig {
  return {
    secretsManagerEndpoint: endpointSetting(env, 'SECRETS_MANAGER_ENDPOINT'),
    astraApiUrl: astraApiUrl(env.ASTRA_API_URL),
    httpTimeoutMs: positiveInt(env, 'ASTRA_HTTP_TIMEOUT_MS', 10_000, 1),
    httpMaxAttempts: positiveInt(env, 'ASTRA_HTTP_MAX_ATTEMPTS', 4, 1),
    retryBaseMs: positiveInt(env, 'ASTRA_RETRY_BASE_MS', 250, 0),
    testAttempts: positiveInt(env, 'ASTRA_TEST_ATTEMPTS', 5, 1),
    testRetryDelayMs: positiveInt(env, 'ASTRA_TEST_RETRY_DELAY_MS', 1000, 0),
    timeMarginMs: positiveInt(env, 'ROTATION_TIME_MARGIN_MS', 20_000, 0),
    secretsManagerTimeoutMs: positiveInt(env, 'SECRETS_MANAGER_TIMEOUT_MS', 5_000, 1),
    // At Astra's 0.7 s or so a call, four turns keep its 5 calls a second busy.
    teardownTurnsAtOnce: positiveInt(env, 'TEARDOWN_TURNS_AT_ONCE', 4, 1),
  };
}

/**
 * An AWS endpoint the function reads from `<SERVICE>_ENDPOINT` (the construct sets it from a VPC endpoint): every new
 * token crosses the Secrets Manager one in a PutSecretValue. https only, plain http for loopback test servers, never
 * with credentials. Undefined when unset: the SDK's regional endpoint. Every `*_ENDPOINT` the function reads goes
 * through here, so that none is quoted with its credentials.
 */
export function endpointSetting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  const problem = baseUrlProblem(value, URL_RULES);
  if (problem) {
    throw new ConfigError(`${name}${quoted(value)} ${describeBaseUrlProblem(problem, URL_RULES)}: the function sends its AWS calls to it (to Secrets Manager's, every new token). Nothing was read or written. `
      + `Set it to https://<endpoint host> with no credentials${problem === 'credentials' ? ' (the function signs its calls with its role)' : ''}, `
      + 'or remove it for the regional endpoint.');
  }
  return value;
}

function astraApiUrl(raw: string | undefined): string {
  const value = raw?.trim() ? raw.trim() : DEFAULT_ASTRA_API_URL;
  const problem = baseUrlProblem(value, URL_RULES);
  if (problem) {
    throw new ConfigError(`ASTRA_API_URL${quoted(value)} ${describeBaseUrlProblem(problem, URL_RULES)}. Nothing was read or written. Set it to the DevOps API base URL with no credentials `
      + `(the function authenticates with the Astra token alone), e.g. ${DEFAULT_ASTRA_API_URL}.`);
  }
  return trimmedBaseUrl(value);
}

/** ` "<url>"`, as far as it can be quoted without credentials (see shownUrl), else nothing. */
function quoted(value: string): string {
  const shown = shownUrl(value);
  return shown === undefined ? '' : ` "${shown}"`;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} "${raw}" must be an integer of at least ${min}.`);
  }
  return value;
}
