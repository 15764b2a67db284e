import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** Where a kill falls: before the k-th call leaves the function, or after it was processed and before its answer is read. */
export type KillPoint = 'before-send' | 'after-processed';
export type Upstream = 'secrets-manager' | 'astra';

export interface OutgoingCall {
  /** 1-based, counted from the last `arm`/`resetCount`. */
  readonly index: number;
  readonly upstream: Upstream;
  /** `SecretsManager.PutSecretValue`, or `POST /v2/clientIdSecrets`. */
  readonly what: string;
}

/** What happens to matching calls instead of a plain forward. */
export interface CallRule {
  readonly upstream: Upstream;
  /** A substring of `what`, e.g. `PutSecretValue` or `POST /v2/clientIdSecrets`. */
  readonly matching: string;
  /** `lose-answer`: processed upstream, then the connection is dropped; `stall`: held unsent for `ms`. */
  readonly action: 'lose-answer' | 'stall';
  readonly ms?: number;
  times: number;
}

/**
 * A pair of loopback proxies between the function process and its two servers (Secrets Manager, Astra). It counts the
 * function's outgoing calls and, when armed, kills the function (SIGKILL, through `kill`) at the k-th one: before
 * forwarding it, or after the server processed it but before the function reads the answer. It can also lose answers
 * or stall calls. Only the function's calls pass through it; the tests' own clients talk to the servers directly.
 */
export class KillSwitch {
  public static async start(upstreams: Record<Upstream, string>, kill: (reason: string) => void): Promise<KillSwitch> {
    const sw = new KillSwitch(upstreams, kill);
    await Promise.all(Object.values(sw.servers).map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
    return sw;
  }

  public readonly calls: OutgoingCall[] = [];
  /** The call at which the armed kill fired, if it did. */
  public fired?: OutgoingCall & { point: KillPoint };
  private armed?: { index: number; point: KillPoint };
  private rules: CallRule[] = [];
  private readonly servers: Record<Upstream, Server>;

  private constructor(private readonly upstreams: Record<Upstream, string>, private readonly kill: (reason: string) => void) {
    this.servers = {
      'secrets-manager': createServer((req, res) => this.handle('secrets-manager', req, res)),
      'astra': createServer((req, res) => this.handle('astra', req, res)),
    };
  }

  public url(upstream: Upstream): string {
    return `http://127.0.0.1:${(this.servers[upstream].address() as AddressInfo).port}`;
  }

  /** Kills the function at the k-th call from now on (1-based). */
  public arm(index: number, point: KillPoint): void {
    this.resetCount();
    this.armed = { index, point };
    this.fired = undefined;
  }

  public disarm(): void {
    this.armed = undefined;
  }

  public resetCount(): void {
    this.calls.length = 0;
  }

  public addRule(rule: CallRule): void {
    this.rules.push(rule);
  }

  public clearRules(): void {
    this.rules = [];
  }

  public async stop(): Promise<void> {
    await Promise.all(Object.values(this.servers).map((server) => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    }));
  }

  private handle(upstream: Upstream, req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const what = upstream === 'secrets-manager' ? String(target ?? 'unknown') : `${req.method} ${(req.url ?? '').split('?')[0]}`;
      const call: OutgoingCall = { index: this.calls.length + 1, upstream, what };
      this.calls.push(call);
      const kill = this.armed?.index === call.index ? this.armed.point : undefined;
      if (kill) {
        this.armed = undefined;
        this.fired = { ...call, point: kill };
      }
      const rule = kill ? undefined : this.rules.find((r) => r.times > 0 && r.upstream === upstream && what.includes(r.matching));
      if (rule) rule.times -= 1;

      if (kill === 'before-send') {
        this.kill(`killed before call ${call.index} (${what}) left`);
        res.socket?.destroy();
        return;
      }
      if (rule?.action === 'stall') {
        const timer = setTimeout(() => this.forward(upstream, req, Buffer.concat(chunks), res), rule.ms ?? 60_000);
        res.once('close', () => clearTimeout(timer));
        return;
      }
      this.forward(upstream, req, Buffer.concat(chunks), res, (answer) => {
        if (kill === 'after-processed') {
          this.kill(`killed after call ${call.index} (${what}) was processed, before its answer was read`);
          res.socket?.destroy();
          return;
        }
        if (rule?.action === 'lose-answer') {
          res.socket?.destroy();
          return;
        }
        res.writeHead(answer.status, answer.headers).end(answer.body);
      });
    });
  }

  private forward(
    upstream: Upstream, req: IncomingMessage, body: Buffer, res: ServerResponse,
    deliver: (answer: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }) => void =
    (a) => res.writeHead(a.status, a.headers).end(a.body),
  ): void {
    const base = new URL(this.upstreams[upstream]);
    const out = request({ host: base.hostname, port: base.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      const answer: Buffer[] = [];
      up.on('data', (c: Buffer) => answer.push(c));
      up.on('end', () => deliver({ status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(answer) }));
      up.on('error', () => res.destroy());
    });
    // A caller that gives up (its timeout) is gone for the server too, as on a real connection.
    res.once('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    out.on('error', () => res.destroy());
    out.end(body);
  }
}
