/**
 * Entry point of the emulator's own Node process: the Astra model's server, apart from the Jest worker, as the function
 * under test is. Tests drive it through the control port (see astra-emulator-process.ts).
 */
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { AstraKnobs, AstraServer } from '../../support/astra/astra-server';
import { FaultRule } from '../../support/astra/fault-plan';
import { standardRoles } from '../../support/astra/roles';
import { SpecValidator } from '../../support/astra/spec-validator';

async function main(): Promise<void> {
  // The bundle runs from a temporary folder, so the spec's path comes from the parent.
  const specPath = process.argv[2];
  if (!specPath) throw new Error('usage: astra-emulator <openapi spec path>');
  const astra = new AstraServer(standardRoles());
  await astra.start(await SpecValidator.create(specPath));
  const operations: Record<string, (args: any) => unknown> = {
    describe: () => ({ orgId: astra.orgId, roles: astra.roles }),
    seedToken: (a: { roles: string[]; description?: string }) => astra.seedToken(a.roles, a.description),
    revokeOutOfBand: (a: { clientId: string }) => astra.revokeOutOfBand(a.clientId),
    isLive: (a: { token: string }) => astra.authenticate(a.token) !== undefined,
    tokensFrom: (a: { from: number }) => astra.allTokens().slice(a.from),
    token: (a: { clientId: string }) => astra.token(a.clientId) ?? null,
    injectFault: (a: FaultRule) => astra.faultPlan.inject(a),
    clearFaults: () => astra.faultPlan.clear(),
    faultState: () => ({ pending: astra.faultPlan.pending(), fired: astra.faultPlan.firedFaults().length }),
    records: () => ({ requests: astra.requests, specViolations: astra.specViolations, selfRevocations: astra.selfRevocations }),
    configure: (a: AstraKnobs) => astra.configure(a),
  };
  const control = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const { op, args } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { op: string; args?: unknown };
        const fn = operations[op];
        if (!fn) throw new Error(`unknown control operation ${op}`);
        const result = fn(args ?? {});
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ result: result ?? null }));
      } catch (e) {
        res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: (e as Error).message }));
      }
    });
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  const stop = () => {
    control.closeAllConnections();
    control.close();
    void astra.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  process.stdout.write(JSON.stringify({ apiUrl: astra.url, controlUrl: `http://127.0.0.1:${(control.address() as AddressInfo).port}` }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`astra emulator failed to start: ${(e as Error).stack}\n`);
  process.exit(1);
});
