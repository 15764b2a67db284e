import { createServer } from 'node:net';

/**
 * A loopback port that refuses connections (nothing listens there): bound once to learn a number the kernel had free,
 * then released. Only for "connection refused" cases; servers bind port 0 themselves and report what they got.
 */
export async function closedLoopbackPort(): Promise<number> {
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
