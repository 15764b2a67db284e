/**
 * One cold start, run under plain node by bench/cold-start.ts: loads a rotation bundle and invokes createSecret, whose
 * first act is to build the SecretsManagerClient (lambda/clients/secret-store.ts) and send DescribeSecret. node:http and node:https
 * are replaced first so that this request stops before any socket opens: the run covers module load, client
 * construction and the SDK's pipeline (config, credentials from the environment, endpoint, signing), and no network.
 *
 * argv[2]: the bundle to load. Prints `BENCH_PROBE {"stopped":n,"error":"..."}` as its last stdout line.
 */
import { randomUUID } from 'node:crypto';

class StoppedBeforeNetwork extends Error {
  constructor() {
    super('bench: stopped before the network');
    this.name = 'StoppedBeforeNetwork';
  }
}

let stopped = 0;
for (const name of ['node:http', 'node:https']) {
  // The module objects themselves (not an ES-module copy), so that the SDK sees the replacement.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(name) as { request: unknown; get: unknown };
  mod.request = mod.get = () => {
    stopped += 1;
    throw new StoppedBeforeNetwork();
  };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const bundle = require(process.argv[2]) as { handler: (event: unknown) => Promise<void> };
bundle.handler({
  Step: 'createSecret',
  SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-cold-start-AbCdEf',
  ClientRequestToken: randomUUID(),
}).then(
  () => report('no error'),
  (e: Error) => report(e.message),
);

// Exit as soon as the invocation is over, as a Lambda invocation ends when its promise settles: a timer the stopped
// request left armed would otherwise keep this process alive for seconds and be counted as cold start.
function report(error: string): void {
  process.stdout.write(`\nBENCH_PROBE ${JSON.stringify({ stopped, error })}\n`, () => process.exit(0));
}
