import { AstraEmulatorProcess } from './astra-emulator-process';
import { ASTRA_TOKEN_FORMAT } from '../../support/astra/token-material';

let astra: AstraEmulatorProcess;
let violationsBefore = 0;
beforeAll(async () => {
  astra = await AstraEmulatorProcess.start();
});
afterAll(async () => {
  await astra?.stop();
});
beforeEach(async () => {
  await astra.clearFaults();
  violationsBefore = (await astra.records()).specViolations.length;
});

async function newViolations() {
  return (await astra.records()).specViolations.slice(violationsBefore);
}
async function lastRequest() {
  const { requests } = await astra.records();
  return requests[requests.length - 1];
}

async function call(method: string, path: string, token?: string, body?: unknown, init: RequestInit = {}) {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(astra.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), ...init });
  const text = await res.text();
  return { status: res.status, text, type: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), json: () => JSON.parse(text) };
}

describe('tokens', () => {
  test('seeded and minted tokens have the AstraCS format with mixed-case 24-letter clientIds', async () => {
    const admin = await astra.seedToken(astra.roles.orgAdmin.id);
    expect(admin.token).toMatch(ASTRA_TOKEN_FORMAT);
    expect(admin.token).toHaveLength(97);
    const res = await call('POST', '/v2/clientIdSecrets', admin.token, { roles: [astra.roles.dbAdmin.id], description: 'unit' });
    expect(res.status).toBe(200);
    const minted = res.json();
    expect(minted).toEqual(expect.objectContaining({ orgId: astra.orgId, roles: [astra.roles.dbAdmin.id] }));
    expect(minted.token).toMatch(ASTRA_TOKEN_FORMAT);
    expect(minted.token.split(':')[1]).toBe(minted.clientId);
    expect(minted.clientId).toMatch(/[a-z]/);
    expect(minted.clientId).toMatch(/[A-Z]/);
    const tokens = await astra.tokens();
    expect(tokens.find((t) => t.clientId === minted.clientId)).toEqual(expect.objectContaining({ description: 'unit', mintedBy: admin.clientId }));
    expect(tokens.find((t) => t.clientId === minted.clientId.toLowerCase())).toBeUndefined();
    expect((await call('DELETE', `/v2/clientIdSecrets/${minted.clientId.toLowerCase()}`, admin.token)).status).toBe(404);
  });

  test('list, currentOrg, roles, revoke, and 404 for an unknown or already revoked clientId', async () => {
    const admin = await astra.seedToken(astra.roles.orgAdmin.id);
    const minted = (await call('POST', '/v2/clientIdSecrets', admin.token, { roles: [astra.roles.apiUser.id] })).json();
    expect((await call('GET', '/v2/currentOrg', minted.token)).json()).toEqual({ id: astra.orgId, name: 'emulated-org' });
    const clients = (await call('GET', '/v2/clientIdSecrets', admin.token)).json().clients.map((c: { clientId: string }) => c.clientId);
    expect(clients).toEqual(expect.arrayContaining([admin.clientId, minted.clientId]));
    expect((await call('GET', '/v2/organizations/roles', admin.token)).json()).toHaveLength(5);
    expect((await call('GET', `/v2/organizations/roles/${astra.roles.dbAdmin.id}`, admin.token)).json().policy.actions).toContain('org-token-write');
    expect((await call('GET', '/v2/organizations/roles/00000000-0000-4000-8000-000000000000', admin.token)).status).toBe(404);
    expect((await call('DELETE', `/v2/clientIdSecrets/${minted.clientId}`, admin.token)).status).toBe(200);
    expect((await call('DELETE', `/v2/clientIdSecrets/${minted.clientId}`, admin.token)).status).toBe(404);
    expect((await call('DELETE', '/v2/clientIdSecrets/NoSuchClientIdAtAllXyzAb', admin.token)).status).toBe(404);
    expect(await newViolations()).toEqual([]);
  });

  test('401 for unknown and revoked tokens', async () => {
    const t = await astra.seedToken(astra.roles.dbAdmin.id);
    expect((await call('GET', '/v2/currentOrg', t.token)).status).toBe(200);
    await astra.revokeOutOfBand(t.clientId);
    const res = await call('GET', '/v2/currentOrg', t.token);
    expect(res.status).toBe(401);
    expect(res.json().errors[0].message).toMatch(/invalid/);
    expect((await call('GET', '/v2/currentOrg', t.token.replace(/.$/, (c) => (c === '0' ? '1' : '0')))).status).toBe(401);
  });

  test('403 without token-write, and for a role with more permissions than the caller', async () => {
    const readOnly = await astra.seedToken(astra.roles.readOnly.id);
    const denied = await call('POST', '/v2/clientIdSecrets', readOnly.token, { roles: [astra.roles.readOnly.id] });
    expect(denied.status).toBe(403);
    expect(denied.type).toMatch(/text\/plain/);
    const manager = await astra.seedToken(astra.roles.tokenManager.id);
    const higher = await call('POST', '/v2/clientIdSecrets', manager.token, { roles: [astra.roles.orgAdmin.id] });
    expect(higher.status).toBe(403);
    expect(higher.text).toMatch(/higher permissions/);
    expect((await call('DELETE', `/v2/clientIdSecrets/${manager.clientId}`, readOnly.token)).status).toBe(403);
    const self = await call('POST', '/v2/clientIdSecrets', manager.token, { roles: [astra.roles.tokenManager.id] });
    expect(self.status).toBe(200);
    expect(await newViolations()).toEqual([]);
  });
});

describe('spec validation', () => {
  test('accepts the documented extras description and tokenExpiry on POST', async () => {
    const admin = await astra.seedToken(astra.roles.orgAdmin.id);
    const res = await call('POST', '/v2/clientIdSecrets', admin.token, {
      roles: [astra.roles.apiUser.id], orgId: astra.orgId, description: 'x', tokenExpiry: '2030-01-01T00:00:00Z',
    });
    expect(res.status).toBe(200);
    expect(await newViolations()).toEqual([]);
  });

  test.each([
    ['roles is not an array', { roles: 'x' }],
    ['roles is missing', { description: 'x' }],
    ['an undocumented field', { roles: ['r'], name: 'x' }],
    ['tokenExpiry is not a date-time', { roles: ['r'], tokenExpiry: 'tomorrow' }],
  ])('flags a POST body where %s', async (_why, body) => {
    const admin = await astra.seedToken(astra.roles.orgAdmin.id);
    const before = (await astra.mintedTokens()).length;
    const res = await call('POST', '/v2/clientIdSecrets', admin.token, body);
    expect(res.status).toBe(400);
    expect(await newViolations()).toHaveLength(1);
    expect(await astra.mintedTokens()).toHaveLength(before);
  });

  test('flags a missing Authorization header, a wrong content type, malformed JSON and an unknown path', async () => {
    const admin = await astra.seedToken(astra.roles.orgAdmin.id);
    await call('GET', '/v2/currentOrg');
    await fetch(astra.url + '/v2/clientIdSecrets', { method: 'POST', headers: { 'Authorization': `Bearer ${admin.token}`, 'Content-Type': 'text/plain' }, body: '{"roles":[]}' });
    await fetch(astra.url + '/v2/clientIdSecrets', { method: 'POST', headers: { 'Authorization': `Bearer ${admin.token}`, 'Content-Type': 'application/json' }, body: '{"roles":' });
    await call('GET', '/v2/tokens/abc', admin.token);
    await call('DELETE', '/v2/currentOrg', admin.token);
    expect((await newViolations()).map((v) => `${v.method} ${v.path}`)).toEqual([
      'GET /v2/currentOrg', 'POST /v2/clientIdSecrets', 'POST /v2/clientIdSecrets', 'GET /v2/tokens/abc', 'DELETE /v2/currentOrg',
    ]);
    for (const v of await newViolations()) expect(v.errors.join()).not.toContain(admin.token);
  });
});

describe('faults', () => {
  test('a status with Retry-After for the next N calls, then normal answers', async () => {
    const t = await astra.seedToken(astra.roles.dbAdmin.id);
    await astra.injectFault({ method: 'GET', path: '/v2/currentOrg', times: 2, fault: { kind: 'status', status: 429, retryAfterSeconds: 3 } });
    const first = await call('GET', '/v2/currentOrg', t.token);
    expect([first.status, first.retryAfter]).toEqual([429, '3']);
    expect((await call('GET', '/v2/currentOrg', t.token)).status).toBe(429);
    expect((await call('GET', '/v2/currentOrg', t.token)).status).toBe(200);
    expect((await astra.faultState()).pending).toBe(0);
  });

  test('a plain-text error body', async () => {
    const t = await astra.seedToken(astra.roles.dbAdmin.id);
    await astra.injectFault({ method: 'DELETE', path: '/v2/clientIdSecrets/*', times: 1, fault: { kind: 'plain-text', status: 403, message: 'Forbidden' } });
    const res = await call('DELETE', `/v2/clientIdSecrets/${t.clientId}`, t.token);
    expect([res.status, res.type, res.text]).toEqual([403, 'text/plain', 'Forbidden']);
    expect(await astra.isLive(t.token)).toBe(true);
  });

  test('a dropped connection processes nothing', async () => {
    const admin = await astra.seedToken(astra.roles.orgAdmin.id);
    const before = (await astra.mintedTokens()).length;
    await astra.injectFault({ method: 'POST', path: '/v2/clientIdSecrets', times: 1, fault: { kind: 'drop' } });
    await expect(call('POST', '/v2/clientIdSecrets', admin.token, { roles: [astra.roles.apiUser.id] })).rejects.toThrow();
    expect(await astra.mintedTokens()).toHaveLength(before);
    expect((await lastRequest()).status).toBe('dropped');
  });

  test('a POST delayed past the client timeout is not processed; one delayed within it is', async () => {
    const admin = await astra.seedToken(astra.roles.orgAdmin.id);
    const before = (await astra.mintedTokens()).length;
    await astra.injectFault({ method: 'POST', path: '/v2/clientIdSecrets', times: 2, fault: { kind: 'delay', ms: 300 } });
    await expect(call('POST', '/v2/clientIdSecrets', admin.token, { roles: [astra.roles.apiUser.id] }, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 400));
    expect(await astra.mintedTokens()).toHaveLength(before);
    expect((await lastRequest()).status).toBe('client-gone');
    const slow = await call('POST', '/v2/clientIdSecrets', admin.token, { roles: [astra.roles.apiUser.id] }, { signal: AbortSignal.timeout(2000) });
    expect(slow.status).toBe(200);
    expect(await astra.mintedTokens()).toHaveLength(before + 1);
  });
});
