import { isLoopbackHost } from '../../src/shared/base-url';
import { messageOf } from '../logging/errors';
import { Redactor } from '../logging/redact';
import { writeLogLine } from '../logging/step-report';

/**
 * The hosts CloudFormation gives custom resources to answer on: its pre-signed S3 URLs in the stack's region (the
 * region without dashes names the bucket; the endpoint may carry the region with a dash or a dot, `.com.cn` in China).
 * An invocation can name any URL; the answer goes to no other. Plain http only to loopback, and only where the
 * function's Secrets Manager or Astra endpoint is loopback too: a test's, never a deployed function's.
 */
export function isCloudFormationResponseUrl(raw: string, stackId: string, env: NodeJS.ProcessEnv = process.env): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname) && (isLoopbackEndpoint(env.SECRETS_MANAGER_ENDPOINT) || isLoopbackEndpoint(env.ASTRA_API_URL));
  }
  const region = /^arn:[^:]+:cloudformation:([a-z0-9-]+):/.exec(stackId)?.[1];
  if (url.protocol !== 'https:' || !region) return false;
  const bucket = `cloudformation-custom-resource-response-${region.replace(/-/g, '')}`;
  const suffix = url.hostname.startsWith(`${bucket}.`) ? url.hostname.slice(bucket.length + 1) : '';
  return new RegExp(`^s3(?:[.-]${region.replace(/-/g, '\\-')})?\\.amazonaws\\.com(?:\\.cn)?$`).test(suffix);
}

function isLoopbackEndpoint(endpoint: string | undefined): boolean {
  try {
    return !!endpoint && isLoopbackHost(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

export interface CloudFormationAnswer {
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
}

/**
 * The answer CloudFormation waits for, PUT to the pre-signed URL. SUCCESS but for one case (teardown.ts): a secret
 * CloudFormation is deleting that Secrets Manager will not delete, whose tokens must stay live with it.
 */
export async function answerCloudFormation(
  request: CloudFormationAnswer, physicalId: string, reason: string, redactor: Redactor, status: 'SUCCESS' | 'FAILED' = 'SUCCESS',
): Promise<void> {
  if (!isCloudFormationResponseUrl(request.ResponseURL, request.StackId)) {
    writeLogLine({ level: 'ERROR', step: 'teardown', outcome: 'not answered', error: 'the ResponseURL is not a CloudFormation response URL (https on its S3 response host)' }, redactor);
    return;
  }
  const body = JSON.stringify({
    Status: status,
    Reason: redactor.redact(reason).slice(0, 1000),
    PhysicalResourceId: physicalId,
    StackId: request.StackId,
    RequestId: request.RequestId,
    LogicalResourceId: request.LogicalResourceId,
  });
  let problem = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const response = await fetch(request.ResponseURL, {
        method: 'PUT', body, headers: { 'Content-Type': '' }, redirect: 'error', signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) return;
      problem = `HTTP ${response.status}`;
      await response.text();
    } catch (error) {
      problem = messageOf(error);
    }
  }
  // CloudFormation waits for the answer until its own timeout; the line says why it never came.
  writeLogLine({ level: 'ERROR', step: 'teardown', outcome: 'not answered', error: `PUT to the ResponseURL failed 3 times: ${problem}` }, redactor);
}
