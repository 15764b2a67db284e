import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Answer, errorAnswer, textAnswer } from './answer';
import { AstraModel, KNOB_DEFAULTS } from './astra-model';
import { FaultKind, FaultPlan } from './fault-plan';
import { RateLimit } from './rate-limit';
import type { AstraRole } from './roles';
import type { IncomingRequest, SpecVerdict } from './spec-validator';

/** The spec check, as the model's server needs it: openapi-backend cannot be imported where Jest loads this file. */
export interface RequestCheck {
  check(req: IncomingRequest): SpecVerdict;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly operationId?: string;
  /** The request's body, parsed when it is JSON (tests read the fields they expect). */
  readonly body?: any;
  /** `answer-lost`: processed with this outcome, but the caller never got the answer (a `lose-answer` fault). */
  readonly status: number | 'dropped' | 'client-gone' | 'answer-lost' | 'hung';
  readonly fault?: FaultKind;
  /** The clientId of the live token the bearer named; undefined when it named none. */
  readonly bearerClientId?: string;
}

export interface SpecViolation {
  readonly method: string;
  readonly path: string;
  readonly errors: readonly string[];
}

/** The model's and the server's knobs as plain data, the form in which they cross the emulator's control port. */
export interface AstraKnobs {
  readonly deleteStatus?: number | null;
  readonly orgTokenLifetime?: AstraModel['orgTokenLifetime'] | null;
  readonly warmUpFailures?: number | null;
  readonly malformedMint?: boolean | null;
  readonly listLagsFrom?: number | null;
  readonly rateLimit?: { readonly callsPerSecond: number; readonly retryAfterSeconds: number } | null;
}

class ClientGone extends Error {}

/**
 * The Astra model served over HTTP on 127.0.0.1. Every request is checked against DataStax's OpenAPI spec before
 * anything else; violations are recorded (tests assert there are none) and answered 400. Faults and a rate limit stand
 * between the request and the model.
 */
export class AstraServer<R extends Record<string, AstraRole> = Record<string, AstraRole>> extends AstraModel<R> {
  public readonly faultPlan = new FaultPlan();
  public readonly requests: RecordedRequest[] = [];
  public readonly specViolations: SpecViolation[] = [];
  /** Beyond this many calls in any second, calls are answered 429 with Retry-After and not processed. */
  public rateLimit?: RateLimit;
  private server?: Server;
  private spec?: RequestCheck;

  public get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  public async start(spec: RequestCheck): Promise<void> {
    this.spec = spec;
    this.server = createServer((req, res) => {
      this.serve(req, res).catch((e) => {
        if (!res.headersSent && !res.destroyed) write(res, errorAnswer(500, 0, `emulator bug: ${(e as Error).message}`));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  public async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** Sets the knobs named; one named with null or undefined goes back to its default. The others stay. */
  public configure(knobs: AstraKnobs): void {
    if ('deleteStatus' in knobs) this.deleteStatus = knobs.deleteStatus ?? KNOB_DEFAULTS.deleteStatus;
    if ('orgTokenLifetime' in knobs) this.orgTokenLifetime = knobs.orgTokenLifetime ?? undefined;
    if ('warmUpFailures' in knobs) this.warmUpFailures = knobs.warmUpFailures ?? KNOB_DEFAULTS.warmUpFailures;
    if ('malformedMint' in knobs) this.malformedMint = knobs.malformedMint ?? KNOB_DEFAULTS.malformedMint;
    if ('listLagsFrom' in knobs) this.listLagsFrom = knobs.listLagsFrom ?? undefined;
    if ('rateLimit' in knobs) this.rateLimit = knobs.rateLimit ? new RateLimit(knobs.rateLimit.callsPerSecond, knobs.rateLimit.retryAfterSeconds) : undefined;
  }

  public reset(): void {
    super.reset();
    this.faultPlan.clear();
    this.requests.length = 0;
    this.specViolations.length = 0;
    this.rateLimit = undefined;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined;

    const verdict = this.spec!.check({ method, path, headers: req.headers, body });
    if (verdict.errors.length) this.specViolations.push({ method, path, errors: verdict.errors });
    const caller = this.authenticate(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    const record = (status: RecordedRequest['status'], fault?: FaultKind) =>
      this.requests.push({ method, path, operationId: verdict.operationId, body: parsed(body), status, fault, bearerClientId: caller?.clientId });
    const answer = (): Answer => verdict.errors.length
      ? errorAnswer(400, 340018, `request rejected by the API spec: ${verdict.errors.join('; ')}`)
      : this.answer({ operationId: verdict.operationId, method, path, body, caller });

    if (this.rateLimit?.refuses()) {
      record(429);
      write(res, errorAnswer(429, 0, 'rate limit exceeded', { 'Retry-After': String(this.rateLimit.retryAfterSeconds) }));
      return;
    }
    const fault = this.faultPlan.take(method, path);
    if (fault?.kind === 'lose-answer') {
      const lost = answer();
      record('answer-lost', fault);
      if (fault.how === 'drop') {
        res.socket?.destroy();
        return;
      }
      if (!(await clientGoneWithin(res, fault.ms ?? 60_000))) write(res, lost);
      return;
    }
    if (fault) {
      try {
        const instead = await faultAnswer(fault, res);
        if (instead) {
          record(instead === 'dropped' || instead === 'hung' ? instead : instead.status, fault);
          if (typeof instead === 'object') write(res, instead);
          return;
        }
      } catch (e) {
        if (e instanceof ClientGone) {
          record('client-gone', fault);
          return;
        }
        throw e;
      }
    }
    const answered = answer();
    record(answered.status, fault);
    write(res, answered);
  }
}

/** What a fault answers instead of the model, or undefined when the model answers after all (a delay it survived). */
async function faultAnswer(fault: FaultKind, res: ServerResponse): Promise<Answer | 'dropped' | 'hung' | undefined> {
  switch (fault.kind) {
    case 'status':
      return errorAnswer(fault.status, 0, `injected ${fault.status}`, fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {});
    case 'plain-text':
      return textAnswer(fault.status, fault.message);
    case 'answer':
      return { status: fault.status, headers: { 'Content-Type': fault.contentType ?? 'application/json', ...fault.headers }, body: fault.body ?? '' };
    case 'drop':
      res.socket?.destroy();
      return 'dropped';
    case 'hang':
      return 'hung';
    case 'delay':
      // Here a request whose client gave up during the delay is never processed; `lose-answer` is the other case.
      if (await clientGoneWithin(res, fault.ms)) throw new ClientGone();
      return undefined;
    case 'lose-answer':
      throw new Error('lose-answer is applied in serve()');
  }
}

function clientGoneWithin(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(res.destroyed || !!res.socket?.destroyed), ms);
    res.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function write(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.status, answer.headers).end(answer.body);
}

function parsed(body: string | undefined): unknown {
  try {
    return body ? JSON.parse(body) : undefined;
  } catch {
    return body;
  }
}
