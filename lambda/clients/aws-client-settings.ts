/**
 * The settings every AWS client of the function is built with, set here rather than looked up in the environment and
 * shared config files at the first call: the endpoint is the deployed one, and the app id names this function's calls
 * in CloudTrail's userAgent. Without timeouts one stalled call would run the function into its own timeout; without
 * throwOnRequestTimeout this SDK only warns when a request outlives requestTimeout, and keeps waiting.
 */
export function awsClientSettings(endpoint: string | undefined, region: string | undefined, requestTimeoutMs: number) {
  return {
    endpoint,
    region,
    maxAttempts: 3,
    retryMode: 'standard',
    defaultsMode: 'standard',
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    authSchemePreference: [] as string[],
    userAgentAppId: 'cdk-astra-token-secret',
    requestHandler: { requestTimeout: requestTimeoutMs, connectionTimeout: Math.min(requestTimeoutMs, 2_000), throwOnRequestTimeout: true },
  } as const;
}

/** One client per endpoint, region and timeout: the environment may change between invocations in one process (tests). */
export function cachedClient<T>(
  cache: Map<string, T>, endpoint: string | undefined, region: string | undefined, requestTimeoutMs: number, make: () => T,
): T {
  const key = `${endpoint ?? ''}|${region ?? ''}|${requestTimeoutMs}`;
  let client = cache.get(key);
  if (!client) {
    client = make();
    cache.set(key, client);
  }
  return client;
}
