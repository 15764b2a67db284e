/**
 * The function's own Node process, as a Lambda execution environment: it loads the bundled handler once and serves
 * invocations sent over IPC. The bundle's AWS SDK uses dynamic import(), which Jest's module runtime refuses, and a real
 * Lambda runs the bundle in plain Node anyway. The e2e tests, the bench and the demo all run the function here.
 *
 * With FUNCTION_HOST_COUNT_SM_CALLS=1 (the bench), node:http/https requests carrying an `x-amz-target` header are
 * counted per invocation by operation (Secrets Manager's JSON protocol names the operation there); the count wraps the
 * request function and adds no hop.
 */
import type { ClientRequest, RequestOptions } from 'node:http';
import { createRequire } from 'node:module';
import { format } from 'node:util';
import { E2E_FUNCTION_ARN } from './function-arn';

interface Invocation {
  readonly type: 'invoke';
  readonly id: number;
  readonly event: unknown;
  readonly env: Record<string, string>;
  /** The function's timeout: the parent kills this process when it runs out, as Lambda does. */
  readonly timeoutMs: number;
  /** `context.invokedFunctionArn`; the harness's one function when absent. */
  readonly functionArn?: string;
}

interface StatsRequest {
  readonly type: 'stats';
  readonly id: number;
}

const load = createRequire(__filename);
let smCalls: Record<string, number> = {};
if (process.env.FUNCTION_HOST_COUNT_SM_CALLS === '1') {
  for (const name of ['node:http', 'node:https']) {
    const mod = load(name) as { request: (...args: unknown[]) => ClientRequest };
    const original = mod.request;
    mod.request = function countingRequest(this: unknown, ...args: unknown[]): ClientRequest {
      const options = (typeof args[0] === 'object' && args[0] !== null && !(args[0] instanceof URL) ? args[0] : args[1]) as RequestOptions | undefined;
      const headers = (options?.headers ?? {}) as Record<string, unknown>;
      const target = Object.keys(headers).find((k) => k.toLowerCase() === 'x-amz-target');
      if (target) {
        const operation = String(headers[target]).split('.').pop() ?? '?';
        smCalls[operation] = (smCalls[operation] ?? 0) + 1;
      }
      return original.apply(this, args);
    };
  }
}

const bundlePath = process.argv[2];
const loadStarted = performance.now();
const { handler } = load(bundlePath) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
const loadMs = performance.now() - loadStarted;

// Every console line goes to the parent as it is written: invocations may overlap, as they do on one Lambda function.
for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  console[method] = (...args: unknown[]) => process.send?.({ type: 'log', line: format(...args) });
}

process.on('message', (message: Invocation | StatsRequest) => {
  if (message.type === 'stats') {
    // RSS first: the collection below would shrink it. Then the live heap, which grows only if something is retained.
    const { rss } = process.memoryUsage();
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const heapUsedAfterGcBytes = gc ? process.memoryUsage().heapUsed : undefined;
    process.send?.({ type: 'stats', id: message.id, maxRssBytes: process.resourceUsage().maxRSS * 1024, rssBytes: rss, heapUsedAfterGcBytes });
    return;
  }
  // The handler reads its settings on each invocation; all invocations in flight share one environment.
  Object.assign(process.env, message.env);
  smCalls = {};
  const started = performance.now();
  const measured = () => ({ durationMs: performance.now() - started, smCalls });
  const deadline = Date.now() + message.timeoutMs;
  const context = {
    awsRequestId: String(message.id),
    invokedFunctionArn: message.functionArn ?? E2E_FUNCTION_ARN,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  handler(message.event, context).then(
    () => process.send?.({ type: 'result', id: message.id, ...measured() }),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      let serialized: string;
      try {
        serialized = JSON.stringify(error);
      } catch {
        serialized = '(not serializable)';
      }
      process.send?.({ type: 'result', id: message.id, ...measured(), error: { name: e.name, message: e.message, stack: e.stack, serialized } });
    },
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', loadMs, nodeVersion: process.version });
