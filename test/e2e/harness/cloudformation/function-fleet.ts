import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FunctionHost } from '../function-host';
import type { InvocationResult } from '../lambda-runtime';
import type { LogCapture } from '../log-capture';

/** An AWS::Lambda::Function of a stack, as the model holds it now. */
export interface FunctionDefinition {
  readonly arn: string;
  readonly name: string;
  /** Resolved properties: Environment.Variables, Role (an ARN), Timeout (seconds). */
  readonly properties: Record<string, unknown>;
}

/** The loopback endpoints that stand in for the services the function calls. */
export interface FunctionEndpoints {
  /** The IAM proxy in front of moto. */
  readonly secretsManager: string;
  readonly astra: string;
  readonly cloudFormation: string;
  readonly region: string;
}

export interface FleetOptions {
  /** Overrides the template's Timeout for every function (a scenario that must not wait 3 minutes for a hang). */
  readonly functionTimeoutMs?: number;
  /**
   * Settings added under the template's variables (e.g. the e2e harness's short Astra timeouts). By default the
   * function runs with what the template gives it, and its own defaults for the rest, as deployed.
   */
  readonly extraEnvironment?: Record<string, string>;
}

/** The access key a function's calls carry: the IAM proxy knows the function (and so its role) by it. */
export function accessKeyOf(functionArn: string): string {
  return `ASIA${createHash('sha256').update(functionArn).digest('hex').slice(0, 16).toUpperCase()}`;
}

/**
 * The stack's Lambda functions, each the same shipped bundle in its own process (a FunctionHost) with its own
 * environment and `invokedFunctionArn`, started on first use. A function with inline code (Code.ZipFile, e.g.
 * `lambda.Code.fromInline`) runs that code instead: the model's own tests use it for handlers that answer what the
 * test needs. The environment is the template's
 * Environment.Variables as the model resolved them, with the service endpoints pointed at the harness's loopback
 * stand-ins, and credentials that name the function to the IAM proxy.
 */
export class FunctionFleet {
  private readonly hosts = new Map<string, FunctionHost>();
  private inlineDir?: string;

  constructor(
    private readonly bundlePath: string,
    private readonly logs: LogCapture,
    private readonly endpoints: FunctionEndpoints,
    private readonly lookup: (functionArn: string) => FunctionDefinition | undefined,
    private readonly options: FleetOptions = {},
  ) {}

  /** The function an ARN names (a qualifier is ignored), if a stack holds it now. */
  public definition(functionArn: string): FunctionDefinition | undefined {
    return this.lookup(functionArn.split(':').slice(0, 7).join(':'));
  }

  public environmentOf(fn: FunctionDefinition): Record<string, string> {
    const variables = ((fn.properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
    return {
      ...this.options.extraEnvironment,
      ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
      SECRETS_MANAGER_ENDPOINT: this.endpoints.secretsManager,
      ASTRA_API_URL: this.endpoints.astra,
      CLOUDFORMATION_ENDPOINT: this.endpoints.cloudFormation,
      AWS_REGION: this.endpoints.region,
      AWS_DEFAULT_REGION: this.endpoints.region,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_ACCESS_KEY_ID: accessKeyOf(fn.arn),
      AWS_SECRET_ACCESS_KEY: 'lifecycle-model-dummy-secret-key',
      AWS_SESSION_TOKEN: `lifecycle-model-session-${fn.name}`,
    };
  }

  /** One invocation; rejects with the handler's error, or FunctionKilled at the function's timeout. */
  public async invoke(fn: FunctionDefinition, event: unknown): Promise<InvocationResult> {
    return this.host(fn).invoke(event, this.environmentOf(fn));
  }

  public async stop(): Promise<void> {
    await Promise.allSettled([...this.hosts.values()].map((h) => h.stop()));
    this.hosts.clear();
  }

  private host(fn: FunctionDefinition): FunctionHost {
    let host = this.hosts.get(fn.arn);
    if (!host) {
      const timeoutSeconds = Number(fn.properties.Timeout ?? 3);
      host = new FunctionHost(this.codeOf(fn), this.logs, {
        functionTimeoutMs: this.options.functionTimeoutMs ?? timeoutSeconds * 1000,
        functionArn: fn.arn,
      });
      this.hosts.set(fn.arn, host);
    }
    return host;
  }

  private codeOf(fn: FunctionDefinition): string {
    const inline = (fn.properties.Code as { ZipFile?: unknown } | undefined)?.ZipFile;
    if (typeof inline !== 'string') return this.bundlePath;
    if (!this.inlineDir) {
      const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-inline-'));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      this.inlineDir = dir;
    }
    const file = path.join(this.inlineDir, `${createHash('sha256').update(inline).digest('hex').slice(0, 16)}.js`);
    writeFileSync(file, inline);
    return file;
  }
}
