/**
 * Stands in for @aws-sdk/credential-provider-node in the bundle (the bundle task's esbuild --alias): Lambda hands the
 * function its role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, so the SSO,
 * ini-file, process, web-identity and instance-metadata providers of the default chain are code it would never run.
 * `npx projen bench` measures what leaving them out buys (the "default credential chain" variant).
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
