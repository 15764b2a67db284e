import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CustomResource, Duration, aws_lambda as lambda } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { LogCapture } from '../log-capture';

/** The probe handler's source (probe-handler.js), deployed as inline code: the model runs it instead of the bundle. */
export const PROBE_SOURCE = readFileSync(path.join(__dirname, 'probe-handler.js'), 'utf8');

/** What the probe logged about one request it got. */
export interface ProbeLine {
  readonly requestType: 'Create' | 'Update' | 'Delete';
  readonly logicalId: string;
  readonly physicalId?: string;
  /** The stack status DescribeStacks showed the handler. */
  readonly status: string;
  /** Whether GetTemplate's template listed the resource. */
  readonly inTemplate: boolean;
  readonly properties: Record<string, unknown>;
  readonly oldProperties?: Record<string, unknown>;
  readonly fields: string[];
  /** With ReadSecret: `allowed`, or the error's __type (e.g. AccessDeniedException). */
  readonly read?: string;
}

/** A function running the probe handler (for the model's own tests of custom resource semantics). */
export function probeFunction(scope: Construct, id = 'ProbeFunction'): lambda.Function {
  return new lambda.Function(scope, id, {
    code: lambda.Code.fromInline(PROBE_SOURCE),
    handler: 'index.handler',
    runtime: lambda.Runtime.NODEJS_20_X,
    timeout: Duration.seconds(10),
  });
}

export function probeResource(scope: Construct, id: string, fn: lambda.IFunction, properties: Record<string, unknown>): CustomResource {
  return new CustomResource(scope, id, { serviceToken: fn.functionArn, resourceType: 'Custom::Probe', properties });
}

/** The probe's lines from line `from` of the capture on. */
export function probeLines(logs: LogCapture, from = 0): ProbeLine[] {
  return logs.lines.slice(from).flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as { probe?: ProbeLine };
      return parsed.probe ? [parsed.probe] : [];
    } catch {
      return [];
    }
  });
}
