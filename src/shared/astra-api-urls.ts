/**
 * DevOps API base URLs by Astra environment (datastax/astra-cli `AstraEnvironment.java`). This module imports
 * nothing, so the rotation handler's bundle uses the same table as the construct.
 */
export const ASTRA_API_URLS = {
  PROD: 'https://api.astra.datastax.com',
  DEV: 'https://api.dev.cloud.datastax.com',
  TEST: 'https://api.test.cloud.datastax.com',
} as const;
