import { ADMIN_ROLE, APP_ROLE, FakeAstra } from './fake-astra';
import { FakeSecretsManager } from './fake-secrets-manager';
import { handler } from '../../../lambda';

import { STEP_NAMES } from '../../../lambda/rotation/rotation';
import { ADMIN_SECRET_ARN_TAG, PREVIOUS_TOKEN_REVOCATION_TAG, ROLE_ID_TAG } from '../../../src/shared/secret-tags';
import type { IssuedToken } from '../../support/astra/astra-model';
import { credentialStringsOf } from '../../support/astra/token-material';

// The handler's and the construct's own names, not copies that could drift from them.
export const STEPS = STEP_NAMES;
export const POLICY_TAG = PREVIOUS_TOKEN_REVOCATION_TAG;
export const ROLE_TAG = ROLE_ID_TAG;
export const ADMIN_TAG = ADMIN_SECRET_ARN_TAG;

/** Fast, loopback settings: the same knobs an end-to-end harness sets. */
export function fastEnv(astraUrl: string): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    ASTRA_API_URL: astraUrl,
    ASTRA_HTTP_TIMEOUT_MS: '300',
    ASTRA_HTTP_MAX_ATTEMPTS: '3',
    ASTRA_RETRY_BASE_MS: '1',
    ASTRA_TEST_ATTEMPTS: '3',
    ASTRA_TEST_RETRY_DELAY_MS: '1',
  };
}

export class Harness {
  public readonly astra = new FakeAstra();
  public sm!: FakeSecretsManager;
  public readonly logs: string[] = [];
  public readonly errors: string[] = [];
  public admin!: IssuedToken;
  private readonly savedEnv = { ...process.env };

  public async start(): Promise<void> {
    await this.astra.start();
  }

  public async stop(): Promise<void> {
    await this.astra.stop();
  }

  public setUp(): void {
    this.astra.reset();
    this.sm = new FakeSecretsManager();
    this.logs.length = 0;
    this.errors.length = 0;
    for (const key of Object.keys(process.env)) if (key.startsWith('ASTRA_') || key.startsWith('TEARDOWN_') || key === 'SECRETS_MANAGER_ENDPOINT') delete process.env[key];
    Object.assign(process.env, fastEnv(this.astra.url));
    for (const method of ['log', 'info', 'warn', 'error'] as const) {
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        this.logs.push(args.map(String).join(' '));
      });
    }
    this.admin = this.astra.issue([ADMIN_ROLE], 'admin');
  }

  /**
   * Restores what setUp changed, then fails the test if a request the handler sent broke DataStax's OpenAPI spec (as the
   * e2e tests assert of theirs): here, so that every file that uses the harness checks it, whatever its own hooks.
   */
  public tearDown(): void {
    this.sm.restore();
    jest.restoreAllMocks();
    process.env = { ...this.savedEnv };
    expect(this.astra.specViolations).toEqual([]);
  }

  /** The tags the construct writes: the role, and the admin secret when one mints. */
  public binding(roleId: string, adminSecretArn?: string): Record<string, string> {
    return { [ROLE_TAG]: roleId, ...(adminSecretArn ? { [ADMIN_TAG]: adminSecretArn } : {}) };
  }

  /** An admin-mode secret (rootarn) with a live token of APP_ROLE. */
  public adminSecret(extra: Record<string, unknown> = {}, tags?: Record<string, string>): { arn: string; rootarn: string; initial: IssuedToken } {
    const rootarn = this.sm.create('astra-admin', JSON.stringify({ astraKey: this.admin.token, clientID: this.admin.clientId, clientSecret: this.admin.secret }));
    const initial = this.astra.issue([APP_ROLE], 'initial');
    const arn = this.sm.create('app-token', JSON.stringify({
      astraKey: initial.token, clientID: initial.clientId, clientSecret: initial.secret, roleID: APP_ROLE, engine: 'AstraDB', rootarn, ...extra,
    }), { tags: { ...this.binding(APP_ROLE, rootarn), ...tags } });
    return { arn, rootarn, initial };
  }

  /** A self-rotating secret: its token's role may write tokens. */
  public selfSecret(tags?: Record<string, string>): { arn: string; initial: IssuedToken } {
    const initial = this.astra.issue([ADMIN_ROLE], 'initial');
    const arn = this.sm.create('self-token', JSON.stringify({
      astraKey: initial.token, clientID: initial.clientId, clientSecret: initial.secret, roleID: ADMIN_ROLE, engine: 'AstraDB',
    }), { tags: { ...this.binding(ADMIN_ROLE), ...tags } });
    return { arn, initial };
  }

  public async step(step: string, arn: string, token: string): Promise<void> {
    try {
      await handler({ Step: step, SecretId: arn, ClientRequestToken: token });
    } catch (error) {
      this.errors.push(error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error));
      throw error;
    }
  }

  public async rotate(arn: string, token = this.sm.startRotation(arn)): Promise<string> {
    for (const step of STEPS) await this.step(step, arn, token);
    return token;
  }

  public lines(): Array<Record<string, any>> {
    return this.logs.map((l) => JSON.parse(l));
  }

  public lastLine(): Record<string, any> {
    const lines = this.lines();
    return lines[lines.length - 1];
  }

  /** Every credential that exists in this test: none may appear in a log line or an error. */
  public secretMaterial(): string[] {
    return this.astra.everIssued.flatMap(credentialStringsOf);
  }

  public assertNoSecretMaterial(): void {
    const output = [...this.logs, ...this.errors].join('\n');
    for (const secret of this.secretMaterial()) expect(output).not.toContain(secret);
    expect(output).not.toMatch(/Bearer\s+(?!\[REDACTED\])\S/);
  }
}

/**
 * A harness for a test file, with the hooks every handler test uses: started once, reset before each test, and after
 * each one checked for secret material in what was logged or thrown (every scenario doubles as a redaction test) and
 * for requests the API's spec rejects.
 */
export function useHarness(): Harness {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());
  beforeEach(() => h.setUp());
  afterEach(() => {
    h.assertNoSecretMaterial();
    h.tearDown();
  });
  return h;
}
