import { ASTRA_API_URLS } from '../src/astra-api-urls';

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
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('SECRETS_MANAGER_ENDPOINT is not a URL. Set it to https://<Secrets Manager endpoint host>, or remove it for the regional endpoint.');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError(`SECRETS_MANAGER_ENDPOINT ${url.protocol}//${url.host} must use https:// (plain http:// is allowed only for loopback hosts): `
      + 'every new token is sent to it. Nothing was read or written.');
  }
  if (url.username || url.password) {
    throw new ConfigError('SECRETS_MANAGER_ENDPOINT must carry no credentials.');
  }
  return value;
}

function astraApiUrl(raw: string | undefined): string {
  const value = raw?.trim() ? raw.trim() : DEFAULT_ASTRA_API_URL;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`ASTRA_API_URL "${value}" is not a URL. Set it to the DevOps API base URL, e.g. ${DEFAULT_ASTRA_API_URL}.`);
  }
  // A bearer token must never cross the network in clear text; plain http is only for local emulators.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError(`ASTRA_API_URL "${value}" must use https:// (plain http:// is allowed only for loopback hosts).`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(`ASTRA_API_URL "${url.origin}" must be a plain base URL with no credentials, query or fragment.`);
  }
  return value.replace(/\/+$/, '');
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1') return true;
  const octets = host.split('.');
  return octets.length === 4 && octets[0] === '127' && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
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
