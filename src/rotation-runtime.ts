import { aws_lambda as lambda } from 'aws-cdk-lib';
import { acknowledgeNagFindings } from './nag-acknowledgements';

const NODE_RUNTIME_NAME = /^nodejs(\d+)\.x$/;

/** The Node.js major of a runtime name such as `nodejs22.x`; undefined for another family or a token (`${Token[…]}`). */
function nodeMajorOf(runtimeName: string): number | undefined {
  const match = NODE_RUNTIME_NAME.exec(runtimeName);
  return match ? Number(match[1]) : undefined;
}

/**
 * The rotation function runs aws-cdk-lib's `determineLatestNodeRuntime`: the newest Node.js runtime
 * the installed aws-cdk-lib knows to be available in the stack's region. cdk-nag's AwsSolutions-L1
 * wants the newest one aws-cdk-lib names at all (`Runtime.ALL`), which a release may name before its
 * regional fact answers it (2.224 to 2.258 name nodejs24.x and answer nodejs22.x). Only
 * then is the finding acknowledged, with both names.
 */
export function acknowledgeRegionalRuntime(fn: lambda.Function, runtime: lambda.Runtime): void {
  const chosen = nodeMajorOf(runtime.name);
  if (chosen === undefined) return;
  const newest = Math.max(...lambda.Runtime.ALL.map((r) => nodeMajorOf(r.name) ?? 0));
  if (newest <= chosen) return;
  acknowledgeNagFindings(fn, [{
    id: 'AwsSolutions-L1',
    reason: `The rotation function runs ${runtime.name}, the newest Node.js runtime aws-cdk-lib's determineLatestNodeRuntime ` +
      `knows for this region; aws-cdk-lib names nodejs${newest}.x but does not yet know it to be available there.`,
  }]);
}
