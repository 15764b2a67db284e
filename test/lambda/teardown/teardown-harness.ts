import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { handler } from '../../../lambda';
import { AstraClient } from '../../../lambda/clients/astra-client';
import { AstraApiError } from '../../../lambda/logging/errors';
import { markedAsSecrets } from '../../../lambda/rotation/revocation-rule';
import { CustomResourceEvent } from '../../../lambda/teardown/teardown';
import { ADMIN_ROLE, APP_ROLE } from '../support/fake-astra';
import { FakeStack, STACK_ID, TEARDOWN_ID } from '../support/fake-cloudformation';
import { Harness } from '../support/harness';

export const arnOf = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
/** The start of an operation before any test's own. */
export const BEFORE = new Date('2026-11-01T00:00:00Z');
/** An org other than the fake Astra's: what Astra names for a token of another org, in the tests that simulate one. */
export const FOREIGN_ORG = '99999999-8888-4777-8666-555555555555';
/** The alert of a secret whose revocation Astra did not let the function confirm: no list of its org, as Astra named it. */
export const UNCONFIRMED = /Astra did not name the org of the token list|no token list of its org/;

interface SendOptions {
  readonly responseUrl?: string;
  readonly remainingMs?: number;
  readonly physicalId?: string;
}

/** What a teardown request came to: CloudFormation's last answer, and every alert line logged so far. */
export interface Sent {
  readonly answer: Record<string, any>;
  readonly alerts: Array<Record<string, any>>;
}

/**
 * The handler serving teardown requests against the fakes: the rotation harness, a stack whose teardown lists the
 * secrets it adopts, and a loopback server standing in for CloudFormation's response URL. Its helpers are arrow
 * functions, so a test file may destructure them.
 */
export class TeardownHarness {
  public readonly h = new Harness();
  /** A new stack for each test. */
  public stack!: FakeStack;
  /** CloudFormation's answers, in the order they arrived. */
  public readonly cfn: Array<Record<string, any>> = [];
  private responses?: Server;

  /** A Lambda context with `remainingMs` of the invocation left. */
  public readonly context = (remainingMs = 120_000) => ({
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:rotation:$LATEST',
    getRemainingTimeInMillis: () => remainingMs,
  });

  public readonly respondTo = () => `http://127.0.0.1:${(this.responses!.address() as AddressInfo).port}/response`;

  /** A teardown request as CloudFormation sends it. */
  public readonly requestOf = (requestType: CustomResourceEvent['RequestType'], arns: string[], requestId: string, options: SendOptions = {}) => ({
    RequestType: requestType,
    ResponseURL: options.responseUrl ?? this.respondTo(),
    StackId: STACK_ID,
    RequestId: requestId,
    LogicalResourceId: TEARDOWN_ID,
    ...requestType === 'Create' ? {} : { PhysicalResourceId: options.physicalId ?? 'teardown-1' },
    ResourceProperties: { Secrets: arns.map((Arn) => ({ Arn })) },
  });

  public readonly deleteRequest = (arns: string[], requestId: string) => this.requestOf('Delete', arns, requestId);

  /** One invocation with a new RequestId; what CloudFormation was answered last, and the alerts so far. */
  public readonly send = async (requestType: CustomResourceEvent['RequestType'], arns: string[], options: SendOptions = {}): Promise<Sent> => {
    await handler(this.requestOf(requestType, arns, `r${this.cfn.length + 1}`, options), this.context(options.remainingMs));
    return { answer: this.cfn[this.cfn.length - 1], alerts: this.h.lines().filter((l) => typeof l.alert === 'string') };
  };

  /**
   * Lambda's invocations of one request until CloudFormation has an answer: the first, then its two retries about 1 and
   * 2 minutes later (`advance` moves the test's clock by the wait), each with `remainingMs` of time.
   */
  public readonly withLambdaRetries = async (event: CustomResourceEvent, advance: (ms: number) => void, remainingMs?: number) => {
    for (const wait of [0, 60_000, 120_000]) {
      advance(wait);
      await handler(event, this.context(remainingMs)).catch(() => undefined);
      if (this.cfn.length) break;
    }
  };

  /** An admin-minted secret rotated twice, so that AWSCURRENT and AWSPREVIOUS each hold a token. */
  public readonly rotatedAdminSecret = async (name = 'app-token') => {
    const { arn } = this.h.adminSecret();
    if (name !== 'app-token') {
      this.h.sm.secrets.set(arnOf(name), { ...this.h.sm.secrets.get(arn)!, arn: arnOf(name), name });
      this.h.sm.secrets.delete(arn);
    }
    await this.h.rotate(arnOf(name));
    await this.h.rotate(arnOf(name));
    return arnOf(name);
  };

  /** Self-rotating secrets of the stack, each holding its bootstrap token. */
  public readonly selfSecrets = (count: number, tags?: Record<string, string>) => Array.from({ length: count }, (_, i) => {
    const { arn } = this.h.selfSecret(tags);
    this.h.sm.secrets.set(arnOf(`self-${i}`), { ...this.h.sm.secrets.get(arn)!, arn: arnOf(`self-${i}`), name: `self-${i}` });
    this.h.sm.secrets.delete(arn);
    return this.stack.adopt(arnOf(`self-${i}`), `Self${i}`);
  });

  /** Self-rotating secrets of the stack, each rotated twice. */
  public readonly rotatedTwice = async (count: number) => {
    const arns = this.selfSecrets(count);
    for (const arn of arns) {
      await this.h.rotate(arn);
      await this.h.rotate(arn);
    }
    return arns;
  };

  /** A root -> mid -> leaf admin chain of the stack, the mid and the leaf rotated once. */
  public readonly chainOf = async () => {
    const { h, stack } = this;
    const root = h.sm.create('root', JSON.stringify({ astraKey: h.admin.token, clientID: h.admin.clientId, clientSecret: h.admin.secret, roleID: ADMIN_ROLE, engine: 'AstraDB' }),
      { tags: h.binding(ADMIN_ROLE) });
    const mid = h.sm.create('mid', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE, root) });
    const leaf = h.sm.create('leaf', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE, mid) });
    for (const arn of [mid, leaf]) await h.rotate(arn);
    for (const [arn, id] of [[root, 'Root'], [mid, 'Mid'], [leaf, 'Leaf']]) stack.adopt(arn, id);
    return { root, mid, leaf, tokens: { root: h.admin.clientId, mid: h.sm.valueAt(mid, 'AWSCURRENT').clientID, leaf: h.sm.valueAt(leaf, 'AWSCURRENT').clientID } };
  };

  /** The clientIds of a secret's AWSCURRENT and AWSPREVIOUS tokens. */
  public readonly tokensOf = (arn: string): string[] => [this.h.sm.valueAt(arn, 'AWSCURRENT').clientID, this.h.sm.valueAt(arn, 'AWSPREVIOUS').clientID];

  /** The clientIds of the secrets' AWSCURRENT tokens. */
  public readonly tokensOfAll = (arns: string[]) => arns.map((arn) => this.h.sm.valueAt(arn, 'AWSCURRENT').clientID as string);

  /** Every token marked as the secret's that Astra still has live. */
  public readonly liveMarked = (arn: string) => this.h.astra.everIssued
    .filter((t) => this.h.astra.isLive(t.clientId) && markedAsSecrets({ clientId: t.clientId, description: t.description ?? '', roles: [], tokenExpiry: null }, arn))
    .map((t) => t.clientId);

  /** The tokens of `own` that are live while no alert for the secrets names them. */
  public readonly unreported = (arns: string[], own: string[], alerts: Array<Record<string, any>>) => {
    const named = alerts.filter((a) => arns.includes(a.secretArn)).flatMap((a) => [...a.clientIds ?? [], ...a.notProvenClientIds ?? []]);
    return own.filter((c) => this.h.astra.isLive(c) && !named.includes(c));
  };

  /** What PutSecretValue does: the new version takes AWSCURRENT, the version it replaces takes AWSPREVIOUS. */
  public readonly put = (arn: string, value: Record<string, unknown>) => {
    const replaced = this.h.sm.versionWith(arn, 'AWSCURRENT')!;
    this.h.sm.addVersion(arn, JSON.stringify(value), ['AWSCURRENT']);
    this.h.sm.removeStage(arn, 'AWSPREVIOUS');
    this.h.sm.secrets.get(arn)!.versions.get(replaced)!.stages.add('AWSPREVIOUS');
  };

  /** A writer's value: another team's clientId with a key in the exact minted form (AstraCS, the clientId, 64 random hex). */
  public readonly forgeMinted = (arn: string, victim: string) => {
    const real = this.h.sm.valueAt(arn, 'AWSCURRENT');
    const key = forgedKeyOf(victim);
    this.put(arn, { ...real, astraKey: key, clientID: victim, clientSecret: 'x' });
    return key;
  };

  /** A rotation as Secrets Manager runs it: each step once, finishSecret retried up to `retries` times; how it ended. */
  public readonly rotateWithRetries = async (arn: string, retries = 2): Promise<string> => {
    const token = this.h.sm.startRotation(arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret']) {
      const o = await outcomeOf(this.h.step(step, arn, token));
      if (o !== 'completed') return o;
    }
    let o = '';
    for (let k = 0; k <= retries && (o = await outcomeOf(this.h.step('finishSecret', arn, token))) !== 'completed'; k++);
    return o;
  };

  /**
   * The secret's KMS key was changed (UpdateSecret KmsKeyId) and the old key disabled: these versions can no longer be
   * decrypted, every time (DecryptionFailure, HTTP 400).
   */
  public readonly undecryptable = (versionIds: () => string[]) => {
    const sm = this.h.sm as any;
    const call = sm.call.bind(sm);
    sm.call = async (operation: string, input: any, run: () => unknown) => {
      if (operation === 'GetSecretValue' && versionIds().includes(input.VersionId)) {
        sm.calls.push({ operation, input });
        throw Object.assign(new Error('Secrets Manager can\'t decrypt the protected secret text using the provided KMS key.'),
          { name: 'DecryptionFailure', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      }
      return call(operation, input, run);
    };
  };

  /** The teardown's TokensLeftLiveOnDeletion alerts on this secret. */
  public readonly alertsOn = (arn: string) => this.h.lines().filter((l) => l.alert === 'TokensLeftLiveOnDeletion' && l.secretArn === arn);

  /** Every clientId those alerts name, as the secret's own or as claims. */
  public readonly namedAtAll = (arn: string): string[] => this.alertsOn(arn).flatMap((l) => [...l.clientIds ?? [], ...l.notProvenClientIds ?? []]);

  /** The clientIds those alerts give as the secret's own, to revoke by hand ("clientIds"), not as claims. */
  public readonly namedAsOwn = (arn: string): string[] => this.alertsOn(arn).flatMap((l) => l.clientIds ?? []);

  public readonly withToken = (value: Record<string, unknown>, token: { clientId: string; token: string; secret: string }) =>
    ({ ...value, astraKey: token.token, clientID: token.clientId, clientSecret: token.secret });

  /** A token Astra revoked long ago. */
  public readonly deadToken = () => {
    const dead = this.h.astra.issue([ADMIN_ROLE], 'revoked long ago');
    this.h.astra.tokens.delete(dead.clientId);
    return dead;
  };

  /** The operation an escrow entry records: what CloudFormation's state says of it, never the request. */
  public readonly operationOf = (status = this.stack.status, startedAt = this.stack.startedAt!) => `${status} ${startedAt.toISOString()} ${TEARDOWN_ID}`;

  public readonly escrowValue = (entries: Array<{ operation: string; [key: string]: unknown }>) =>
    JSON.stringify({ format: 'astra-token-teardown-escrow/1', entries });

  /** The secrets the escrow holds entries for. */
  public readonly escrowed = () => this.h.sm.valueAt(this.stack.escrowArn, 'AWSCURRENT').entries.map((e: { arn: string }) => e.arn);

  public readonly escrowWrites = () => this.h.sm.calls.filter((c) => c.operation === 'PutSecretValue' && c.input.SecretId === this.stack.escrowArn).length;

  /** A Delete that finished: SUCCESS, every one of `count` secrets deleted and revoked, no alert, no token live, the escrow empty. */
  public readonly expectFinished = ({ answer, alerts }: Sent, tokens: string[], count = 1) => {
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(new RegExp(`${count} of ${count} secrets deleted, ${count} with every token revoked`)) });
    expect(alerts).toEqual([]);
    for (const c of tokens) expect(this.h.astra.isLive(c)).toBe(false);
    expect(this.escrowed()).toEqual([]);
  };

  public async start(): Promise<void> {
    await this.h.start();
    const responses = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.cfn.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => responses.listen(0, '127.0.0.1', resolve));
    this.responses = responses;
  }

  public async stop(): Promise<void> {
    await this.h.stop();
    await new Promise<void>((resolve) => this.responses!.close(() => resolve()));
  }

  public setUp(): void {
    this.h.setUp();
    this.stack = new FakeStack(this.h.sm);
    process.env.STACK_ID = STACK_ID;
    // A loopback Secrets Manager endpoint: the only setting in which the function answers a loopback ResponseURL.
    process.env.SECRETS_MANAGER_ENDPOINT = 'http://127.0.0.1:9';
    this.cfn.length = 0;
  }

  public tearDown(): void {
    this.stack.restore();
    this.h.assertNoSecretMaterial();
    this.h.tearDown();
  }
}

/** A teardown harness for the describe block it is called in: started once, set up before each test, checked after. */
export function useTeardownHarness(): TeardownHarness {
  const t = new TeardownHarness();
  beforeAll(() => t.start());
  afterAll(() => t.stop());
  beforeEach(() => t.setUp());
  afterEach(() => t.tearDown());
  return t;
}

/**
 * Astra answering 403, not 401, to a token it does not know (DataStax's spec), on the check and on a revocation, unless
 * `except` answers first (a passing fault). `n` counts that bearer's calls of either kind (from 1).
 */
export const forbiddenForUnknown = (except: (bearer: string, n: number) => Error | undefined = () => undefined) => {
  const counts = new Map<string, number>();
  const count = (bearer: string) => {
    counts.set(bearer, (counts.get(bearer) ?? 0) + 1);
    return counts.get(bearer)!;
  };
  const currentOrg = AstraClient.prototype.currentOrg;
  jest.spyOn(AstraClient.prototype, 'currentOrg').mockImplementation(async function (this: AstraClient, bearer: string) {
    const passing = except(bearer, count(bearer));
    if (passing) throw passing;
    try {
      return await currentOrg.call(this, bearer);
    } catch (error) {
      if (error instanceof AstraApiError && error.status === 401) throw new AstraApiError('token test (GET /v2/currentOrg)', 403, 'HTTP 403: forbidden');
      throw error;
    }
  });
  const revoke = AstraClient.prototype.revoke;
  jest.spyOn(AstraClient.prototype, 'revoke').mockImplementation(async function (this: AstraClient, bearer: string, clientId: string) {
    const passing = except(bearer, count(bearer));
    if (passing) throw passing;
    try {
      return await revoke.call(this, bearer, clientId);
    } catch (error) {
      if (error instanceof AstraApiError && error.status === 401) throw new AstraApiError('token test (GET /v2/currentOrg)', 403, 'HTTP 403: forbidden');
      throw error;
    }
  });
};

/** Astra's 403 to a check or a revocation. */
export const forbidden = () => new AstraApiError('token test (GET /v2/currentOrg)', 403, 'HTTP 403: forbidden');

/** How a step or a rotation ended: 'completed', or the start of its error's message. */
export const outcomeOf = (p: Promise<unknown>) => p.then(() => 'completed', (e: Error) => e.message.slice(0, 200));

/** Astra answering 403 to every check and revocation made with these bearers: a role that may neither read its org nor revoke. */
export const forbiddenFor = (bearers: () => string[]) => {
  for (const method of ['currentOrg', 'revoke'] as const) {
    const original = AstraClient.prototype[method] as (...args: any[]) => Promise<any>;
    jest.spyOn(AstraClient.prototype, method).mockImplementation(async function (this: AstraClient, bearer: string, ...rest: any[]) {
      if (bearers().includes(bearer)) throw forbidden();
      return original.call(this, bearer, ...rest);
    } as any);
  }
};

/** A key in Astra's exact minted form for a clientId whose secret the writer does not hold (64 random hex). */
export const forgedKeyOf = (clientId: string) => `AstraCS:${clientId}:${randomBytes(32).toString('hex')}`;

/** The Lambda's clock moved on by `offset()` ms (Date.now only: what finishSecret's window reads). */
export const clockAhead = (offset: () => number) => {
  const realNow = Date.now.bind(Date);
  jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset());
};
