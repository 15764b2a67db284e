import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * moto 5.2.1 answers ListSecretVersionIds with every version's CreatedDate set to the time of the call (measured: a
 * version created 2.5 s earlier reports the current second), while AWS reports when the version was created. The
 * handler finds abandoned versions by "created after AWSCURRENT", which moto's dates make impossible. This proxy sits
 * between every client and moto, notes when each version was created, and puts that time back into the answers.
 */
export class MotoCreatedDateProxy {
  public static async start(motoEndpoint: string): Promise<MotoCreatedDateProxy> {
    const proxy = new MotoCreatedDateProxy(new URL(motoEndpoint));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** Creation time in epoch seconds, with milliseconds as AWS gives them, by version id. */
  private readonly created = new Map<string, number>();
  private readonly server: Server;

  private constructor(private readonly moto: URL) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const target = String(req.headers['x-amz-target'] ?? '');
        const requestedAt = Date.now() / 1000;
        const forwarded = { host: this.moto.hostname, port: this.moto.port, path: req.url, method: req.method, headers: req.headers };
        const upstream = request(forwarded, (up) => {
          const answer: Buffer[] = [];
          up.on('data', (c: Buffer) => answer.push(c));
          up.on('end', () => {
            let out: Buffer = Buffer.concat(answer);
            out = this.rewrite(target, body, out, requestedAt, (up.statusCode ?? 500) < 300);
            const headers = { ...up.headers, 'content-length': String(out.length) };
            res.writeHead(up.statusCode ?? 502, headers).end(out);
          });
        });
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      });
    });
  }

  public get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private rewrite(target: string, requestBody: Buffer, responseBody: Buffer, requestedAt: number, succeeded: boolean): Buffer {
    try {
      const answer = JSON.parse(responseBody.toString('utf8') || '{}');
      const asked = JSON.parse(requestBody.toString('utf8') || '{}');
      const note = (versionId: unknown) => {
        if (typeof versionId === 'string' && !this.created.has(versionId)) this.created.set(versionId, requestedAt);
      };
      // moto answers the driver's RotateSecret ResourceNotFoundException after it has staged the version.
      if (target.endsWith('.RotateSecret')) note(asked.ClientRequestToken);
      if (!succeeded) return responseBody;
      if (/\.(CreateSecret|PutSecretValue|UpdateSecret)$/.test(target)) {
        note(answer.VersionId);
        note(asked.ClientRequestToken);
      }
      if (target.endsWith('.ListSecretVersionIds') && Array.isArray(answer.Versions)) {
        for (const v of answer.Versions) {
          note(v.VersionId);
          v.CreatedDate = this.created.get(v.VersionId);
        }
        return Buffer.from(JSON.stringify(answer));
      }
    } catch {
      // Not JSON (or not an answer to rewrite): pass it through untouched.
    }
    return responseBody;
  }
}
