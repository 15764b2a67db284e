import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** CloudFormation's side of a custom resource: the pre-signed ResponseURL, on loopback, recording what the function PUTs. */
export class CfnResponseRecorder {
  public readonly answers: Array<Record<string, any>> = [];
  private server!: Server;

  public async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.answers.push({ method: req.method, path: req.url, raw: Buffer.concat(chunks).toString('utf8'), ...JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  public url(requestId: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/cfn-response/${requestId}?X-Amz-Signature=test`;
  }

  public answerTo(requestId: string): Record<string, any> | undefined {
    return this.answers.find((a) => a.RequestId === requestId);
  }

  public stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
