/**
 * The function's own Node process, as a Lambda execution environment: it loads the bundled handler once and serves
 * invocations sent over IPC. The bundle's AWS SDK uses dynamic import(), which Jest's module runtime refuses, and a real
 * Lambda runs the bundle in plain Node anyway.
 */
import { createRequire } from 'node:module';
import { format } from 'node:util';
import { E2E_FUNCTION_ARN } from './function-arn';

interface Invocation {
  readonly id: number;
  readonly event: unknown;
  readonly env: Record<string, string>;
  /** The function's timeout: the parent kills this process when it runs out, as Lambda does. */
  readonly timeoutMs: number;
}

const bundlePath = process.argv[2];
const load = createRequire(__filename);
const { handler } = load(bundlePath) as { handler: (event: unknown, context: unknown) => Promise<unknown> };

// Every console line goes to the parent as it is written: invocations may overlap, as they do on one Lambda function.
for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  console[method] = (...args: unknown[]) => process.send?.({ type: 'log', line: format(...args) });
}

process.on('message', (message: Invocation) => {
  // The handler reads its settings on each invocation; all invocations in flight share one environment.
  Object.assign(process.env, message.env);
  const deadline = Date.now() + message.timeoutMs;
  const context = {
    awsRequestId: String(message.id),
    invokedFunctionArn: E2E_FUNCTION_ARN,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  handler(message.event, context).then(
    () => process.send?.({ type: 'result', id: message.id }),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      let serialized: string;
      try {
        serialized = JSON.stringify(error);
      } catch {
        serialized = '(not serializable)';
      }
      process.send?.({ type: 'result', id: message.id, error: { name: e.name, message: e.message, stack: e.stack, serialized } });
    },
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
