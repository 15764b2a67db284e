import { ASTRA_API_URLS } from '../src/astra-api-urls';
import { baseUrlProblem, trimmedBaseUrl } from '../src/base-url';

/** Settings of one invocation, read from the environment each time (see docs/rotation-design.md, "Inputs"). */
export interface RotationConfig {
  readonly secretsManagerEndpoint?: string;
  readonly astraApiUrl: string;
  readonly httpTimeoutMs: number;
  readonly httpMaxAttempts: number;
  readonly retryBaseMs: number;
  readonly testAttempts: number;
  readonly testRetryDelayMs: number;
  /** 429 answers retried per call (each after its Retry-After), within the time budget. */
  readonly rateLimitMaxAttempts: number;
  /** Time kept free at the end of an invocation for the work after the last Astra call. */
  readonly timeMarginMs: number;
  /** Request timeout of each Secrets Manager call (its connection timeout is at most 2 s). */
  readonly secretsManagerTimeoutMs: number;
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
    secretsManagerEndpoint: secretsManagerEndpoint(env.SECRETS_MANAGER_ENDPOINT),
    astraApiUrl: astraApiUrl(env.ASTRA_API_URL),
    httpTimeoutMs: positiveInt(env, 'ASTRA_HTTP_TIMEOUT_MS', 10_000, 1),
    httpMaxAttempts: positiveInt(env, 'ASTRA_HTTP_MAX_ATTEMPTS', 4, 1),
    retryBaseMs: positiveInt(env, 'ASTRA_RETRY_BASE_MS', 250, 0),
    testAttempts: positiveInt(env, 'ASTRA_TEST_ATTEMPTS', 5, 1),
    testRetryDelayMs: positiveInt(env, 'ASTRA_TEST_RETRY_DELAY_MS', 1000, 0),
    rateLimitMaxAttempts: positiveInt(env, 'ASTRA_RATE_LIMIT_MAX_ATTEMPTS', 20, 1),
    timeMarginMs: positiveInt(env, 'ROTATION_TIME_MARGIN_MS', 20_000, 0),
    secretsManagerTimeoutMs: positiveInt(env, 'SECRETS_MANAGER_TIMEOUT_MS', 5_000, 1),
  };
}

/** Every new token crosses this connection in a PutSecretValue: https only, plain http for loopback test servers. */
function secretsManagerEndpoint(raw: string | undefined): string | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  const problem = baseUrlProblem(value, { loopbackHttp: true });
  if (problem) {
    const shown = problem === 'is not a URL' ? '' : ` ${new URL(value).origin}`;
    throw new ConfigError(`SECRETS_MANAGER_ENDPOINT${shown} ${problem}: every new token is sent to it. Nothing was read or written. `
      + 'Set it to https://<Secrets Manager endpoint host>, or remove it for the regional endpoint.');
  }
  return value;
}

function astraApiUrl(raw: string | undefined): string {
  const value = raw?.trim() ? raw.trim() : DEFAULT_ASTRA_API_URL;
  const problem = baseUrlProblem(value, { loopbackHttp: true });
  if (problem) {
    // The value itself only when it cannot hold credentials.
    const shown = problem.includes('credentials') ? new URL(value).origin : value;
    throw new ConfigError(`ASTRA_API_URL "${shown}" ${problem}. Set it to the DevOps API base URL, e.g. ${DEFAULT_ASTRA_API_URL}.`);
  }
  return trimmedBaseUrl(value);
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
