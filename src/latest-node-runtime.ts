import { aws_lambda as lambda } from 'aws-cdk-lib';

/**
 * The newest `NODEJS_<major>_X` runtime that the installed aws-cdk-lib knows.
 *
 * Picked at synth time rather than pinned, so that an app on a newer aws-cdk-lib gets a newer
 * runtime (and passes cdk-nag's AwsSolutions-L1) without a release of this library. Not
 * aws-cdk-lib's `determineLatestNodeRuntime`: in the peer minimum (2.189.1) it answers
 * nodejs20.x, which Lambda no longer lets anyone create functions with (from 2026-06-01).
 */
export function latestNodeRuntime(): lambda.Runtime {
  let best: { major: number; runtime: lambda.Runtime } | undefined;
  for (const name of Object.getOwnPropertyNames(lambda.Runtime)) {
    const match = /^NODEJS_(\d+)_X$/.exec(name);
    if (!match) continue;
    const major = Number(match[1]);
    if (!best || major > best.major) {
      best = { major, runtime: (lambda.Runtime as unknown as Record<string, lambda.Runtime>)[name] };
    }
  }
  return best?.runtime ?? lambda.Runtime.NODEJS_22_X;
}
