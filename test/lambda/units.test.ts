import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { SpendableBudget } from './support/spendable-budget';
import { AstraClient, errorDetail } from '../../lambda/astra-client';
import { ConfigError, endpointSetting, readConfig, RotationConfig } from '../../lambda/config';
import { AstraApiError, messageOf } from '../../lambda/errors';
import { writeLogLine } from '../../lambda/log';
import { ownershipMark, parseMark } from '../../lambda/ownership-mark';
import { Redactor } from '../../lambda/redact';
import { parseSecretString } from '../../lambda/secret-value';
import { regionOf } from '../../lambda/secrets';
import { TimeBudget } from '../../lambda/time-budget';
import { isLoopbackHost } from '../../src/base-url';

describe('readConfig', () => {
  test('defaults', () => {
    expect(readConfig({})).toEqual({
      secretsManagerEndpoint: undefined,
      astraApiUrl: 'https://api.astra.datastax.com',
      httpTimeoutMs: 10000,
      httpMaxAttempts: 4,
      retryBaseMs: 250,
      testAttempts: 5,
      testRetryDelayMs: 1000,
      timeMarginMs: 20000,
      secretsManagerTimeoutMs: 5000,
    });
  });
  test.each(['http://127.0.0.1:8080', 'http://localhost:1/', 'http://[::1]:9', 'https://api.test.cloud.datastax.com'])('accepts %s', (url) => {
    expect(readConfig({ ASTRA_API_URL: url }).astraApiUrl).toBe(url.replace(/\/$/, ''));
  });
  test.each(['http://api.astra.datastax.com', 'http://127.0.0.1.evil.com', 'ftp://127.0.0.1', 'not a url', 'https://u:p@host'])('refuses %s', (url) => {
    expect(() => readConfig({ ASTRA_API_URL: url })).toThrow(ConfigError);
  });
  test('numeric knobs are validated', () => {
    expect(readConfig({ ASTRA_RETRY_BASE_MS: '0', ASTRA_HTTP_MAX_ATTEMPTS: '2' })).toMatchObject({ retryBaseMs: 0, httpMaxAttempts: 2 });
    expect(() => readConfig({ ASTRA_HTTP_TIMEOUT_MS: 'soon' })).toThrow(/ASTRA_HTTP_TIMEOUT_MS/);
    expect(() => readConfig({ ASTRA_HTTP_MAX_ATTEMPTS: '0' })).toThrow(/at least 1/);
  });
  test('SECRETS_MANAGER_ENDPOINT: https, or http to loopback only, and never with credentials', () => {
    expect(readConfig({ SECRETS_MANAGER_ENDPOINT: ' https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com ' }).secretsManagerEndpoint)
      .toBe('https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com');
    expect(readConfig({ SECRETS_MANAGER_ENDPOINT: '' }).secretsManagerEndpoint).toBeUndefined();
    expect(() => readConfig({ SECRETS_MANAGER_ENDPOINT: 'https://example.com/?x=1' })).toThrow(/^SECRETS_MANAGER_ENDPOINT "https:\/\/example.com" must be a plain base URL with no query/);
  });
});

describe('URL credentials in the environment', () => {
  // Every shape a URL with credentials takes: https, http (refused for its scheme too), to loopback (allowed http),
  // no scheme, a scheme the URL parser does not split, a user alone, and a value that is not a URL at all.
  const PASSWORD = 'pw-9f3Kq7Zx';
  const urls = [
    `https://astra-user:${PASSWORD}@api.astra.datastax.com`,
    `http://astra-user:${PASSWORD}@api.astra.datastax.com/`,
    `http://astra-user:${PASSWORD}@127.0.0.1:8080`,
    `astra-user:${PASSWORD}@api.astra.datastax.com`,
    `custom://astra-user:${PASSWORD}@host/path`,
    `https://${PASSWORD}@api.astra.datastax.com`,
    `https://astra-user:${PASSWORD}@api.astra.datastax.com:notaport`,
    `https://astra-user:${PASSWORD}@api.astra.datastax.com/?token=${PASSWORD}#${PASSWORD}`,
  ];
  const refusal = (env: Record<string, string>): Error => {
    try {
      readConfig(env);
    } catch (error) {
      return error as Error;
    }
    throw new Error('accepted');
  };

  test.each(urls)('ASTRA_API_URL %s is refused without quoting the credentials', (url) => {
    const error = refusal({ ASTRA_API_URL: url });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^ASTRA_API_URL( "[^"]*")? (carries credentials|is not a URL|must use https)/);
    expect(error.message).toMatch(/with no credentials .*e\.g\. https:\/\/api\.astra\.datastax\.com/);
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain('astra-user');
  });

  test.each(urls)('SECRETS_MANAGER_ENDPOINT %s is refused without quoting the credentials', (url) => {
    const error = refusal({ SECRETS_MANAGER_ENDPOINT: url });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^SECRETS_MANAGER_ENDPOINT( "[^"]*")? (carries credentials|is not a URL|must use https).*Nothing was read or written/);
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain('astra-user');
  });

  test('a URL with credentials says so first, and quotes scheme and host only', () => {
    expect(refusal({ ASTRA_API_URL: `http://astra-user:${PASSWORD}@api.example.com/v2` }).message)
      .toMatch(/^ASTRA_API_URL "http:\/\/api.example.com" carries credentials \(user:password@ before the host\)\. /);
    expect(refusal({ SECRETS_MANAGER_ENDPOINT: `https://astra-user:${PASSWORD}@vpce.example.com` }).message)
      .toMatch(/^SECRETS_MANAGER_ENDPOINT "https:\/\/vpce.example.com" carries credentials .*signs its calls with its role/);
  });

  test('every *_ENDPOINT goes through the same check', () => {
    expect(endpointSetting({ CLOUDFORMATION_ENDPOINT: ' https://cloudformation.eu-west-1.amazonaws.com ' }, 'CLOUDFORMATION_ENDPOINT'))
      .toBe('https://cloudformation.eu-west-1.amazonaws.com');
    expect(endpointSetting({}, 'CLOUDFORMATION_ENDPOINT')).toBeUndefined();
    expect(() => endpointSetting({ CLOUDFORMATION_ENDPOINT: `https://u:${PASSWORD}@cfn.example.com` }, 'CLOUDFORMATION_ENDPOINT'))
      .toThrow(/^CLOUDFORMATION_ENDPOINT "https:\/\/cfn.example.com" carries credentials/);
  });
  test('loopback hosts', () => {
    expect(['127.1.2.3', 'LOCALHOST', '::1'].map(isLoopbackHost)).toEqual([true, true, true]);
    expect(['128.0.0.1', '127.0.0.1.nip.io', '10.0.0.1'].map(isLoopbackHost)).toEqual([false, false, false]);
  });
});

describe('messageOf and regionOf', () => {
  test('messageOf: a plain Error by its message, an SDK error with its name, anything else as text', () => {
    expect(messageOf(new Error('boom'))).toBe('boom');
    expect(messageOf(Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' }))).toBe('ResourceNotFoundException: gone');
    expect(messageOf('text')).toBe('text');
    expect(messageOf(undefined)).toBe('undefined');
    expect(messageOf({ message: 'no name' })).toBe('no name');
  });
  test('regionOf: AWS_REGION, then AWS_DEFAULT_REGION, then the ARN\'s', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:x-AbCdEf';
    expect(regionOf(arn, { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-west-2' })).toBe('us-east-1');
    expect(regionOf(arn, { AWS_DEFAULT_REGION: 'us-west-2' })).toBe('us-west-2');
    expect(regionOf(arn, {})).toBe('eu-west-3');
    expect(regionOf('astra/app-token', {})).toBeUndefined();
  });
});

describe('Redactor', () => {
  test('masks registered values and secret shapes, keeps ARNs and ids', () => {
    const r = new Redactor();
    r.add('s3cr3t-value', undefined, 'abc');
    const text = r.redact('x s3cr3t-value AstraCS:AbCd:0123abcd Authorization: Bearer xyz.123 {"clientSecret":"zz","token":"tt"} secret=qq abc '
      + 'arn:aws:secretsmanager:us-east-1:1:secret:app-token-AbCdEf');
    expect(text).toBe('x [REDACTED] AstraCS:[REDACTED] Authorization: Bearer [REDACTED] {"clientSecret":"[REDACTED]","token":"[REDACTED]"} secret=[REDACTED] abc '
      + 'arn:aws:secretsmanager:us-east-1:1:secret:app-token-AbCdEf');
  });
  test('masks the user info of any URL, and leaves a JSON line JSON', () => {
    const r = new Redactor();
    expect(r.redact('fetch failed: Request cannot be constructed from a URL that includes credentials: https://u:p4ss@api.example.com/v2/currentOrg'))
      .toBe('fetch failed: Request cannot be constructed from a URL that includes credentials: https://[REDACTED]@api.example.com/v2/currentOrg');
    expect(r.redact('HTTP://p4ss@h and ftp://a:b@c')).toBe('HTTP://[REDACTED]@h and ftp://[REDACTED]@c');
    const line = JSON.stringify({ url: 'https://api.example.com', contact: 'ops@example.com', other: 'http://x:y@z' });
    expect(JSON.parse(r.redact(line))).toEqual({ url: 'https://api.example.com', contact: 'ops@example.com', other: 'http://[REDACTED]@z' });
    expect(r.redact('arn:aws:secretsmanager:us-east-1:1:secret:a@b-AbCdEf https://api.example.com/a@b')).toBe('arn:aws:secretsmanager:us-east-1:1:secret:a@b-AbCdEf https://api.example.com/a@b');
  });
});

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
    ...overrides,
  });
  const client = (waits: number[], random = () => 0.5, budget = new TimeBudget(Date.now() + 60_000)) => new AstraClient(
    config(), new Redactor(), budget, async (ms: number) => { waits.push(ms); }, random,
  );

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

describe('writeLogLine', () => {
  afterEach(() => jest.restoreAllMocks());

  test.each([
    ['INFO', 'info'],
    ['WARN', 'warn'],
    ['ERROR', 'error'],
  ] as const)('writes a %s line with console.%s, so that Lambda\'s JSON log format records its level', (level, method) => {
    const calls: Record<string, string[]> = { info: [], warn: [], error: [], log: [] };
    for (const m of ['info', 'warn', 'error', 'log'] as const) {
      jest.spyOn(console, m).mockImplementation((line: string) => { calls[m].push(line); });
    }
    const redactor = new Redactor();
    redactor.add('AstraCS:abcdefghijklmnopqrstuvwx:' + 'f'.repeat(64));
    writeLogLine({ level, step: 'createSecret', note: 'AstraCS:abcdefghijklmnopqrstuvwx:' + 'f'.repeat(64) }, redactor);
    expect(calls[method]).toHaveLength(1);
    expect(Object.values(calls).flat()).toHaveLength(1);
    expect(JSON.parse(calls[method][0])).toMatchObject({ level, step: 'createSecret' });
    expect(calls[method][0]).not.toContain('f'.repeat(64));
  });
});

describe('parseSecretString', () => {
  test('names a version without a SecretString (binary) as such, not as bad JSON', () => {
    expect(() => parseSecretString('', 'AWSCURRENT', new Redactor())).toThrow(/AWSCURRENT has no SecretString \(binary or empty\)/);
  });
});

describe('ownership marks', () => {
  const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/orders/astra-token-AbCdEf';
  const version = '0d6f2b7e-1c1e-4a57-9a55-3b0f8f0f2c11';

  test('name the secret by a digest of its ARN, the version, and the ARN\'s readable tail', () => {
    expect(ownershipMark(arn, version)).toBe(
      'cdk-astra-token-secret secret=af8d827e81c8bf6e version=0d6f2b7e-1c1e-4a57-9a55-3b0f8f0f2c11 123456789012:eu-west-1:prod/orders/astra-token-AbCdEf');
    expect(parseMark(ownershipMark(arn, version))).toEqual({ secretDigest: 'af8d827e81c8bf6e', version });
  });

  test('one name in two accounts or regions gets two different marks', () => {
    const marks = [arn, arn.replace('123456789012', '210987654321'), arn.replace('eu-west-1', 'us-east-1')].map((a) => parseMark(ownershipMark(a, version))!.secretDigest);
    expect(new Set(marks).size).toBe(3);
  });

  test('stay within 200 characters however long the name, and still parse', () => {
    const long = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${'n'.repeat(512)}-AbCdEf`;
    const mark = ownershipMark(long, 'v'.repeat(64));
    expect(mark.length).toBeLessThanOrEqual(200);
    expect(mark.endsWith('…')).toBe(true);
    expect(parseMark(mark)).toEqual({ secretDigest: expect.stringMatching(/^[0-9a-f]{16}$/), version: 'v'.repeat(64) });
  });

  test('a secret id that is not an ARN is kept whole; a version too long for any name leaves the name out', () => {
    expect(ownershipMark('astra/app-token', 'v1')).toMatch(/^cdk-astra-token-secret secret=[0-9a-f]{16} version=v1 astra\/app-token$/);
    const mark = ownershipMark(arn, 'v'.repeat(190));
    expect(mark).toHaveLength(200);
    expect(mark).not.toContain('123456789012');
  });

  test('descriptions that are not marks parse to nothing', () => {
    for (const d of [undefined, '', 'admin token', 'cdk-astra-token-secret app-token 0d6f', 'cdk-astra-token-secret secret=XYZ version=1']) {
      expect(parseMark(d)).toBeUndefined();
    }
  });
});
