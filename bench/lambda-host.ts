/**
 * A stand-in for one warm Lambda execution environment, run under plain node by bench/lambda-host-client.ts: loads the
 * rotation bundle once and runs the invocations it is sent over IPC, one at a time, each with its own environment.
 *
 * argv[2]: the bundle. With BENCH_COUNT_SM_CALLS=1, node:http/https requests carrying an `x-amz-target` header are
 * counted per invocation by operation (Secrets Manager's JSON protocol names the operation there); the count wraps
 * the request function and adds no hop.
 */
import type { ClientRequest, RequestOptions } from 'node:http';

interface InvokeMessage {
  readonly type: 'invoke';
  readonly id: number;
  readonly event: unknown;
  readonly env: Record<string, string>;
}
interface StatsMessage {
  readonly type: 'stats';
  readonly id: number;
}

let calls: Record<string, number> = {};

if (process.env.BENCH_COUNT_SM_CALLS === '1') {
  for (const name of ['node:http', 'node:https']) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(name) as { request: (...args: unknown[]) => ClientRequest };
    const original = mod.request;
    mod.request = function countingRequest(this: unknown, ...args: unknown[]): ClientRequest {
      const options = (typeof args[0] === 'object' && args[0] !== null && !(args[0] instanceof URL) ? args[0] : args[1]) as RequestOptions | undefined;
      const headers = (options?.headers ?? {}) as Record<string, unknown>;
      const target = Object.keys(headers).find((k) => k.toLowerCase() === 'x-amz-target');
      if (target) {
        const operation = String(headers[target]).split('.').pop() ?? '?';
        calls[operation] = (calls[operation] ?? 0) + 1;
      }
      return original.apply(this, args);
    };
  }
}

const started = performance.now();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bundle = require(process.argv[2]) as { handler: (event: unknown) => Promise<void> };
const send = (message: unknown) => process.send?.(message);
send({ type: 'ready', loadMs: performance.now() - started });

process.on('message', (message: InvokeMessage | StatsMessage) => {
  if (message.type === 'stats') {
    send({ type: 'stats', id: message.id, maxRssBytes: process.resourceUsage().maxRSS * 1024, rssBytes: process.memoryUsage().rss });
    return;
  }
  Object.assign(process.env, message.env);
  calls = {};
  const t0 = performance.now();
  bundle.handler(message.event).then(
    () => send({ type: 'result', id: message.id, durationMs: performance.now() - t0, smCalls: calls }),
    (e: Error) => send({ type: 'result', id: message.id, durationMs: performance.now() - t0, smCalls: calls, error: e.message }),
  );
});
process.on('disconnect', () => process.exit(0));
