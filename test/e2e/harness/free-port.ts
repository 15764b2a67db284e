import { createServer } from 'node:net';

/** Asks the kernel for a loopback port nobody listens on; the caller binds it right after. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** A port that refuses connections: bound once to learn a free number, then released. */
export const closedLoopbackPort = freeLoopbackPort;
