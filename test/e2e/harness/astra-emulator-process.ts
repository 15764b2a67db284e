import { ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import * as path from 'node:path';
import { childEntry } from './child-entry';
import { stopChild } from './stop-child';
import type { IssuedToken } from '../../support/astra/astra-model';
import type { AstraKnobs, RecordedRequest, SpecViolation } from '../../support/astra/astra-server';
import type { FaultRule } from '../../support/astra/fault-plan';
import type { StandardRoles } from '../../support/astra/roles';
import { SPEC_PATH } from '../../support/astra/spec-path';
import { credentialStringsOf } from '../../support/astra/token-material';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface EmulatorRecords {
  readonly requests: RecordedRequest[];
  readonly specViolations: SpecViolation[];
  readonly selfRevocations: string[];
}

/** The Astra model's server running in its own Node process, on free loopback ports, driven over a control port. */
export class AstraEmulatorProcess {
  public static async start(timeoutMs = 15_000): Promise<AstraEmulatorProcess> {
    const outfile = childEntry(path.join(__dirname, 'astra-emulator-main.ts'), { externalPackages: true });
    const child = spawn(process.execPath, [outfile, SPEC_PATH], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, NODE_PATH: path.join(REPO_ROOT, 'node_modules') },
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    try {
      const ready = await new Promise<{ apiUrl: string; controlUrl: string }>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`the Astra emulator did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
        child.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
          const line = out.split('\n')[0];
          if (out.includes('\n')) {
            clearTimeout(timer);
            resolve(JSON.parse(line));
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the Astra emulator exited with ${code}: ${stderr}`));
        });
      });
      const emulator = new AstraEmulatorProcess(child, ready.apiUrl, ready.controlUrl, () => stderr);
      const description = await emulator.control<{ orgId: string; roles: StandardRoles }>('describe');
      emulator.orgId = description.orgId;
      emulator.roles = description.roles;
      return emulator;
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
  }

  public orgId = '';
  public roles!: StandardRoles;
  private tokensSeen = 0;
  private readonly credentials: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    public readonly url: string,
    private readonly controlUrl: string,
    private readonly stderr: () => string,
  ) {}

  public async stop(): Promise<void> {
    await stopChild(this.child);
  }

  public seedToken(roleId: string, description?: string): Promise<IssuedToken> {
    return this.control('seedToken', { roles: [roleId], description });
  }

  public revokeOutOfBand(clientId: string): Promise<void> {
    return this.control('revokeOutOfBand', { clientId });
  }

  public isLive(token: string): Promise<boolean> {
    return this.control('isLive', { token });
  }

  public tokens(): Promise<IssuedToken[]> {
    return this.control('tokensFrom', { from: 0 });
  }

  /** One token by its clientId: the per-step checks need one, and the soak's list grows to hundreds. */
  public async token(clientId: string): Promise<IssuedToken | undefined> {
    return (await this.control<IssuedToken | null>('token', { clientId })) ?? undefined;
  }

  public async mintedTokens(): Promise<IssuedToken[]> {
    return (await this.tokens()).filter((t) => t.mintedBy !== undefined && t.mintedBy !== null);
  }

  /**
   * Every credential string ever handed out: none may appear in a log line or an error. The emulator only adds tokens,
   * in order, and a token's credentials never change: each call asks only for the tokens issued since the last.
   */
  public async credentialStrings(): Promise<readonly string[]> {
    const issued = await this.control<IssuedToken[]>('tokensFrom', { from: this.tokensSeen });
    this.tokensSeen += issued.length;
    this.credentials.push(...issued.flatMap(credentialStringsOf));
    return this.credentials;
  }

  public injectFault(rule: FaultRule): Promise<void> {
    return this.control('injectFault', rule);
  }

  public clearFaults(): Promise<void> {
    return this.control('clearFaults');
  }

  public faultState(): Promise<{ pending: number; fired: number }> {
    return this.control('faultState');
  }

  public records(): Promise<EmulatorRecords> {
    return this.control('records');
  }

  /** Sets the knobs named (a knob named with undefined goes back to its default); the others stay. */
  public configure(knobs: AstraKnobs): Promise<void> {
    // JSON drops a key whose value is undefined: null carries "back to the default" across.
    return this.control('configure', Object.fromEntries(Object.entries(knobs).map(([knob, value]) => [knob, value ?? null])));
  }

  public setDeleteStatus(status: 200 | 204): Promise<void> {
    return this.configure({ deleteStatus: status });
  }

  /** The org's maximum token lifetime; undefined removes it. */
  public setOrgTokenLifetime(ms: number | undefined, onLonger: 'shorten' | 'refuse' = 'shorten'): Promise<void> {
    return this.configure({ orgTokenLifetime: ms ? { ms, onLonger } : undefined });
  }

  /** Beyond `callsPerSecond` calls in any second, Astra answers 429 with Retry-After; undefined lifts the limit. */
  public setRateLimit(callsPerSecond: number | undefined, retryAfterSeconds = 1): Promise<void> {
    return this.configure({ rateLimit: callsPerSecond ? { callsPerSecond, retryAfterSeconds } : undefined });
  }

  private control<T>(op: string, args?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request(this.controlUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (res.statusCode === 200) resolve(body.result as T);
          else reject(new Error(`emulator control ${op} failed: ${body.error} ${this.stderr()}`));
        });
      });
      req.on('error', (e) => reject(new Error(`emulator control ${op} failed: ${e.message} ${this.stderr()}`)));
      req.end(JSON.stringify({ op, args }));
    });
  }
}
