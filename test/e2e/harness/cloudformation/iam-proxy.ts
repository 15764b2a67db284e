import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { DescribeSecretCommand, ListSecretVersionIdsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { authorize, Decision, PolicyStatement } from './iam-policy';
import type { Environment } from './resource-names';
import type { SecretDeletions } from './secret-deletions';

/** Who a request's access key belongs to, and that principal's policy as the model applied it last. */
export interface CallerIdentity {
  /** `arn:aws:sts::<account>:assumed-role/<role>/<function>`, as AWS names a Lambda function's calls. */
  readonly principalArn: string;
  readonly statements: readonly PolicyStatement[];
}

export interface RecordedDecision {
  readonly principalArn: string;
  readonly action: string;
  readonly resource: string;
  readonly decision: Decision;
}

/**
 * The function's Secrets Manager endpoint (its SECRETS_MANAGER_ENDPOINT): a loopback proxy in front of moto that
 * authorizes each call as IAM would, with the calling function's role policy as the model last applied it. The caller
 * is known by the access key in the request's SigV4 Authorization header (each function gets its own). A call IAM
 * would refuse is answered as AWS answers it (HTTP 400, AccessDeniedException) and never reaches moto. So is a
 * PutSecretValue past Secrets Manager's version quota, which moto does not keep (LimitExceededException). A DeleteSecret
 * IAM allows goes through Secrets Manager's side of deletions first: refused there (InvalidRequestException) as it
 * would be to CloudFormation, or recorded in the ledger before the secret goes.
 */
export class IamProxy {
  public static async start(
    upstream: string, sm: SecretsManagerClient, env: Environment, identify: (accessKeyId: string) => CallerIdentity | undefined,
    deletions?: SecretDeletions,
  ): Promise<IamProxy> {
    const proxy = new IamProxy(upstream, sm, env, identify, deletions);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  public readonly decisions: RecordedDecision[] = [];
  private readonly server: Server;

  private constructor(
    private readonly upstream: string,
    private readonly sm: SecretsManagerClient,
    private readonly env: Environment,
    private readonly identify: (accessKeyId: string) => CallerIdentity | undefined,
    private readonly deletions?: SecretDeletions,
  ) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, Buffer.concat(chunks), res).catch((e: Error) => {
          if (!res.headersSent) send(res, 500, { __type: 'InternalServiceError', message: `IAM proxy: ${e.message}` });
        });
      });
    });
  }

  public get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public denials(): RecordedDecision[] {
    return this.decisions.filter((d) => d.decision !== 'allowed');
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    const action = `secretsmanager:${operation}`;
    const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    const caller = accessKeyId ? this.identify(accessKeyId) : undefined;
    if (!caller) {
      send(res, 400, { __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
      return;
    }
    let parsed: { SecretId?: unknown; ClientRequestToken?: unknown } = {};
    try {
      parsed = JSON.parse(body.toString('utf8') || '{}');
    } catch {
      // moto answers the malformed body itself.
    }
    const { resource, tags } = typeof parsed.SecretId === 'string' ? await this.secret(parsed.SecretId) : { resource: '*', tags: {} };
    const decision = authorize(caller.statements, { action, resource, resourceTags: tags });
    this.decisions.push({ principalArn: caller.principalArn, action, resource, decision });
    if (decision !== 'allowed') {
      const why = decision === 'explicitly-denied' ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${action} action`;
      send(res, 400, { __type: 'AccessDeniedException', message: `User: ${caller.principalArn} is not authorized to perform: ${action} on resource: ${resource} ${why}` });
      return;
    }
    if (operation === 'PutSecretValue' && resource !== '*' && await this.outOfVersions(resource, parsed.ClientRequestToken)) {
      send(res, 400, { __type: 'LimitExceededException', message: 'The request failed because it would exceed one of the Secrets Manager quotas.' });
      return;
    }
    if (operation === 'DeleteSecret' && this.deletions && resource !== '*') {
      const refused = this.deletions.refusal(resource);
      if (refused) {
        send(res, 400, { __type: 'InvalidRequestException', message: refused });
        return;
      }
      await this.deletions.recordDeletion(resource, `DeleteSecret by ${caller.principalArn.split('/')[1]}`);
    }
    this.forward(req, body, res);
  }

  /**
   * Whether a new version would pass the quota: Secrets Manager removes unlabeled versions past 100 but none younger
   * than a day (the PutSecretValue reference), and every version of a test run is younger. A repeated token adds none.
   */
  private async outOfVersions(arn: string, token: unknown): Promise<boolean> {
    const { Versions = [] } = await this.sm.send(new ListSecretVersionIdsCommand({ SecretId: arn, IncludeDeprecated: true, MaxResults: 100 }));
    return Versions.length >= VERSIONS_KEPT && !Versions.some((v) => v.VersionId === token);
  }

  /** The ARN IAM evaluates (the secret's full ARN when it exists) and the tags conditions read. */
  private async secret(secretId: string): Promise<{ resource: string; tags: Record<string, string> }> {
    try {
      const d = await this.sm.send(new DescribeSecretCommand({ SecretId: secretId }));
      return { resource: d.ARN!, tags: Object.fromEntries((d.Tags ?? []).map((t) => [t.Key!, t.Value ?? ''])) };
    } catch {
      // A secret that does not exist: IAM evaluates the ARN the caller named, with no tags.
      const arn = secretId.startsWith('arn:') ? secretId : `arn:${this.env.partition}:secretsmanager:${this.env.region}:${this.env.account}:secret:${secretId}`;
      return { resource: arn, tags: {} };
    }
  }

  private forward(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const base = new URL(this.upstream);
    const out = request({ host: base.hostname, port: base.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    res.once('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    out.end(body);
  }
}

/** Versions younger than a day that Secrets Manager keeps, and past which it refuses a new one. */
const VERSIONS_KEPT = 100;

function send(res: ServerResponse, status: number, body: Record<string, string>): void {
  // The JSON 1.1 error shape: the SDK takes the error's name from __type and its message from `message`.
  res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-ErrorType': body.__type }).end(JSON.stringify(body));
}
