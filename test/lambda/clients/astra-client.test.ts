import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AstraClient, errorDetail } from '../../../lambda/clients/astra-client';
import { RotationConfig } from '../../../lambda/clients/config';
import { TimeBudget } from '../../../lambda/clients/time-budget';
import { AstraApiError } from '../../../lambda/logging/errors';
import { Redactor } from '../../../lambda/logging/redact';
import { SpendableBudget } from '../support/spendable-budget';

describe('errorDetail', () => {
  test.each([
    ['{"errors":[{"ID":340012,"message":"invalid token format"}]}', 'application/json', 'invalid token format (ID 340012)'],
    ['{"errors":[{"message":"a"},{"ID":2,"message":"b"}]}', 'text/plain', 'a; b (ID 2)'],
    ['{"message":"plain json"}', 'application/json', 'plain json'],
    ['user is not\n authorized', 'text/plain', 'user is not authorized'],
    ['{not json', 'application/json', '{not json'],
    ['{"errors":[{"ID":1},null]}', 'application/json', '{"ID":1} (ID 1); null'],
    ['{"message":"quota"}', 'application/json', 'quota'],
    ['', 'text/plain; charset=utf-8', '(empty text/plain body)'],
    ['', '', '(empty body)'],
  ])('%s (%s)', (body, type, expected) => {
    expect(errorDetail(body, type)).toBe(expected);
  });
  test('long bodies are truncated', () => {
    expect(errorDetail('x'.repeat(1000)).length).toBeLessThan(310);
  });
});

describe('AstraClient retries', () => {
  let server: Server;
  let answers: Array<{ status: number; headers?: Record<string, string>; body?: string }>;
  let hits: string[];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      const answer = answers.shift() ?? { status: 200, body: '{"id":"org"}' };
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body ?? '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    answers = [];
    hits = [];
  });
  const config = (overrides: Partial<RotationConfig> = {}): RotationConfig => ({
    astraApiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    httpTimeoutMs: 500,
    httpMaxAttempts: 4,
    retryBaseMs: 100,
    testAttempts: 1,
    testRetryDelayMs: 0,
    timeMarginMs: 0,
    secretsManagerTimeoutMs: 1000,
    teardownTurnsAtOnce: 1,
    ...overrides,
  });
  const client = (waits: number[], random = () => 0.5, budget = new TimeBudget(Date.now() + 60_000)) => new AstraClient(
    config(), new Redactor(), budget, async (ms: number) => { waits.push(ms); }, random,
  );

  test('pace(200): calls made at once start 200 ms apart, in the order they were made', async () => {
    const waits: number[] = [];
    answers = [{ status: 200, body: '{"id":"org"}' }, { status: 200, body: '{"id":"org"}' }, { status: 200, body: '{"id":"org"}' }];
    const paced = client(waits);
    paced.pace(200);
    await Promise.all([paced.currentOrg('a'), paced.currentOrg('b'), paced.currentOrg('c')]);
    expect(waits.map((ms) => Math.round(ms / 100) * 100)).toEqual([200, 400]);
  });

  test('Retry-After wins over backoff (seconds, capped at 20 s, jitter on top of a 429\'s); backoff has full jitter and grows', async () => {
    const waits: number[] = [];
    answers = [{ status: 429, headers: { 'retry-after': '2' } }, { status: 503, headers: { 'retry-after': '999' } }, { status: 500 }];
    await expect(client(waits, () => 0).currentOrg('tok')).resolves.toEqual({ id: 'org' });
    expect(waits).toEqual([2000, 20000, 0]);
    expect(hits).toHaveLength(4);
    const jittered: number[] = [];
    answers = [{ status: 500 }, { status: 500 }, { status: 429, headers: { 'retry-after': '2' } }];
    await client(jittered).currentOrg('tok');
    expect(jittered).toEqual([50, 100, 2000 + 250]); // 0.5 * 100 * 2^(n-1); the call's first 429: Retry-After + 0.5 * 500
  });

  test('Retry-After as an HTTP date', async () => {
    const waits: number[] = [];
    answers = [{ status: 429, headers: { 'retry-after': new Date(Date.now() - 5000).toUTCString() } }];
    await client(waits, () => 0).currentOrg('tok');
    expect(waits).toEqual([0]);
  });

  test('gives up after the attempts, with Astra\'s last status', async () => {
    const waits: number[] = [];
    answers = Array.from({ length: 4 }, () => ({ status: 500, body: 'down', headers: { 'content-type': 'text/plain' } }));
    await expect(client(waits, () => 0).revoke('tok', 'cid')).rejects.toThrow(/HTTP 500: down/);
    expect(hits).toHaveLength(4);
    expect(waits).toEqual([0, 0, 0]);
  });

  test('POST is retried on 429 only, which Astra answers without minting; never on 5xx', async () => {
    answers = [{ status: 503 }];
    await expect(client([]).mint('tok', ['r'], 'd')).rejects.toThrow(/HTTP 503/);
    expect(hits).toEqual(['POST /v2/clientIdSecrets']);
    hits = [];
    const waits: number[] = [];
    answers = [{ status: 429, headers: { 'retry-after': '1' } }, { status: 200, body: '{"clientId":"c","secret":"s","token":"t"}' }];
    await expect(client(waits, () => 0).mint('tok', ['r'], 'd')).resolves.toMatchObject({ clientId: 'c' });
    expect(hits).toHaveLength(2);
    expect(waits).toEqual([1000]);
  });

  test('429 is retried for as long as the time budget allows, not for a count', async () => {
    answers = [...Array.from({ length: 40 }, () => ({ status: 429, headers: { 'retry-after': '0' } })), { status: 200, body: '{"clientId":"c","secret":"s","token":"t"}' }];
    const astra = client([], () => 0);
    await expect(astra.mint('tok', ['r'], 'd')).resolves.toMatchObject({ clientId: 'c' });
    expect(hits).toHaveLength(41);
    expect(astra.rateLimitedOut).toBe(false);
  });

  test('the spread after Retry-After doubles with each 429 of a call, capped by 12 s x the square of the time left; out of time, the error names the rate limit', async () => {
    answers = Array.from({ length: 40 }, () => ({ status: 429, headers: { 'retry-after': '1' } }));
    const budget = new SpendableBudget(40_000);
    const waits: number[] = [];
    const astra = new AstraClient(config(), new Redactor(), budget, async (ms) => { waits.push(ms); budget.spend(ms); }, () => 0.999);
    const failure = await astra.mint('tok', ['r'], 'd').catch((e: AstraApiError) => e);
    // Doubling from 0.5 s while the invocation is young; then the shrinking budget caps it: its last turns come oftener.
    expect(waits).toEqual([1499, 1999, 2998, 4996, 7089, 4437, 3160, 2431, 1972, 1664, 1450, 1297, 1187, 1109, 1055, 1020]);
    expect(failure).toMatchObject({ status: 429 });
    expect((failure as Error).message).toMatch(/HTTP 429: \(empty body\) \(Astra's rate limit: 17 attempts, and no time left in this invocation to wait for another turn\)/);
    expect(astra.rateLimitedOut).toBe(true);
  });

  test('a call not sent because rate-limit waits used the time says so and counts as rate-limited', async () => {
    answers = [{ status: 429, headers: { 'retry-after': '1' } }, { status: 200, body: '{"id":"org"}' }];
    const budget = new SpendableBudget(3_000);
    const astra = new AstraClient(config(), new Redactor(), budget, async (ms) => { budget.spend(ms); }, () => 0);
    await astra.currentOrg('tok');
    expect(astra.rateLimitedOut).toBe(false);
    budget.spend(1_600);
    await expect(astra.revoke('tok', 'c')).rejects.toMatchObject({ sent: false, message: expect.stringMatching(/waiting for turns under Astra's rate limit/) });
    expect(astra.rateLimitedOut).toBe(true);
  });

  test('no wait or attempt outlives the time budget; a call with no time left is not sent', async () => {
    const waits: number[] = [];
    answers = [{ status: 429, headers: { 'retry-after': '5' } }];
    await expect(client(waits, () => 0, new TimeBudget(Date.now() + 3000)).mint('tok', ['r'], 'd')).rejects.toThrow(/HTTP 429/);
    expect(waits).toEqual([]);
    expect(hits).toHaveLength(1);
    hits = [];
    const spent = client([], () => 0, new TimeBudget(Date.now() + 100));
    await expect(spent.mint('tok', ['r'], 'd')).rejects.toMatchObject({ sent: false });
    expect(hits).toEqual([]);
  });

  test('4xx other than 429 is not retried; DELETE 404 is already revoked; 204 is revoked', async () => {
    answers = [{ status: 400, body: 'bad' }];
    await expect(client([]).revoke('tok', 'a')).rejects.toThrow(/HTTP 400: bad/);
    answers = [{ status: 404 }, { status: 204 }];
    await expect(client([]).revoke('tok', 'a/b')).resolves.toBe('already-revoked');
    await expect(client([]).revoke('tok', 'c')).resolves.toBe('revoked');
    expect(hits).toEqual(['DELETE /v2/clientIdSecrets/a', 'DELETE /v2/clientIdSecrets/a%2Fb', 'DELETE /v2/clientIdSecrets/c']);
  });

  test('a 429 without Retry-After backs off with jitter; an unreadable Retry-After is ignored', async () => {
    const waits: number[] = [];
    answers = [{ status: 429 }, { status: 429, headers: { 'retry-after': 'soon' } }];
    await client(waits, () => 0.5).currentOrg('tok');
    expect(waits).toEqual([250, 500]);
  });

  test('the mint asks for tokenExpiry only when given one, and reads it back when the answer has it', async () => {
    const requests: string[] = [];
    const seen = server.listeners('request')[0] as (...args: unknown[]) => void;
    server.removeAllListeners('request');
    server.on('request', (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        requests.push(body);
        res.writeHead(200).end('{"clientId":"c","secret":"s","token":"t","tokenExpiry":"2027-01-01T00:00:00Z"}');
      });
    });
    try {
      await expect(client([]).mint('tok', ['r'], 'd', '2027-01-01T00:00:00.000Z')).resolves.toMatchObject({ tokenExpiry: '2027-01-01T00:00:00Z' });
      await client([]).mint('tok', ['r'], 'd');
    } finally {
      server.removeAllListeners('request');
      server.on('request', seen);
    }
    expect(requests.map((r) => JSON.parse(r))).toEqual([
      { roles: ['r'], description: 'd', tokenExpiry: '2027-01-01T00:00:00.000Z' },
      { roles: ['r'], description: 'd' },
    ]);
  });

  test('answers that lack fields are read defensively: the list, the role, the org', async () => {
    answers = [{
      status: 200,
      body: JSON.stringify({ clients: [{ clientId: 'a', roles: 'admin', tokenExpiry: 7 }, 'junk', { roles: [] }, { clientId: 'b', roles: ['r', 3], description: 'm' }] }),
    }];
    expect(await client([]).listClients('tok')).toEqual([
      { clientId: 'a', roles: [], description: '', generatedOn: undefined, tokenExpiry: null },
      { clientId: 'b', roles: ['r'], description: 'm', generatedOn: undefined, tokenExpiry: null },
    ]);
    answers = [{ status: 200, body: '{"unexpected":true}' }];
    expect(await client([]).listClients('tok')).toEqual([]);
    answers = [
      { status: 200, body: JSON.stringify({ policy: { effect: 'deny', actions: ['org-token-write'] } }) },
      { status: 200, body: JSON.stringify({ policy: { effect: 'Allow', actions: ['org-token-write', 1] } }) },
      { status: 200, body: '{}' },
    ];
    expect(await client([]).roleActions('tok', 'r')).toEqual([]);
    expect(await client([]).roleActions('tok', 'r')).toEqual(['org-token-write']);
    expect(await client([]).roleActions('tok', 'r')).toEqual([]);
    answers = [{ status: 200, body: 'not json' }];
    expect(await client([]).currentOrg('tok')).toEqual({ id: undefined });
  });

  test('a connection refused is a network error, retried', async () => {
    const waits: number[] = [];
    const dead = new AstraClient(config({ astraApiUrl: 'http://127.0.0.1:1', httpMaxAttempts: 2, retryBaseMs: 1 }),
      new Redactor(), new TimeBudget(Date.now() + 60_000), async (ms: number) => { waits.push(ms); });
    await expect(dead.currentOrg('tok')).rejects.toThrow(/network error .*after 2 attempts/);
    expect(waits).toHaveLength(1);
  });
});
