import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** One PUT to a ResponseURL, as CloudFormation received it. */
export interface RecordedAnswer {
  readonly requestId: string;
  readonly method: string;
  readonly bytes: number;
  /** The parsed JSON body; undefined when it was not JSON. */
  readonly body?: Record<string, any>;
  readonly raw: string;
}

/**
 * CloudFormation's side of custom resources: a pre-signed ResponseURL per request, on loopback, recording every PUT.
 * The engine waits on it for the answer to each request it sent.
 */
export class ResponseRecorder {
  public static async start(): Promise<ResponseRecorder> {
    const recorder = new ResponseRecorder();
    await new Promise<void>((resolve) => recorder.server.listen(0, '127.0.0.1', resolve));
    return recorder;
  }

  public readonly answers: RecordedAnswer[] = [];
  private readonly waiters = new Map<string, (answer: RecordedAnswer) => void>();
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const requestId = decodeURIComponent((req.url ?? '').split('?')[0].split('/').pop() ?? '');
        let body: Record<string, any> | undefined;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        const answer: RecordedAnswer = { requestId, method: req.method ?? '?', bytes: Buffer.byteLength(raw), body, raw };
        this.answers.push(answer);
        // S3's pre-signed PUT answers 200 with an empty body; CloudFormation takes the first answer.
        res.writeHead(200).end();
        this.waiters.get(requestId)?.(answer);
      });
    });
  }

  /** A URL unique to the request, shaped like CloudFormation's pre-signed S3 URLs. */
  public url(requestId: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/cloudformation-custom-resource-response/${encodeURIComponent(requestId)}`
      + '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=model';
  }

  /** The first answer to the request, if one has come. */
  public answerTo(requestId: string): RecordedAnswer | undefined {
    return this.answers.find((a) => a.requestId === requestId);
  }

  /** The first answer, waiting up to `timeoutMs` for it; undefined when none came. */
  public async waitFor(requestId: string, timeoutMs: number): Promise<RecordedAnswer | undefined> {
    const existing = this.answerTo(requestId);
    if (existing) return existing;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(requestId);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.set(requestId, (answer) => {
        clearTimeout(timer);
        this.waiters.delete(requestId);
        resolve(answer);
      });
    });
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
