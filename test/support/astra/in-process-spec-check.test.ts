import { AstraServer } from './astra-server';
import { bundledSpecValidator } from './bundled-spec-validator';
import { standardRoles } from './roles';

// The model the handler tests run in their own process checks requests against the spec as the e2e emulator does.
const astra = new AstraServer(standardRoles());
beforeAll(async () => astra.start(await bundledSpecValidator()));
afterAll(() => astra.stop());
beforeEach(() => astra.reset());

async function mint(token: string, body: unknown): Promise<number> {
  const res = await fetch(`${astra.url}/v2/clientIdSecrets`, {
    method: 'POST', headers: { 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

test('GIVEN the model in a Jest worker WHEN a request the spec rejects arrives THEN it is recorded as a violation, answered 400, and mints nothing', async () => {
  const admin = astra.seedToken([astra.roles.orgAdmin.id]);
  expect(await mint(admin.token, { roles: [astra.roles.apiUser.id], name: 'an undocumented field' })).toBe(400);
  expect(astra.specViolations).toEqual([expect.objectContaining({ method: 'POST', path: '/v2/clientIdSecrets', errors: [expect.stringMatching(/additional/)] })]);
  expect(astra.allTokens()).toHaveLength(1);
});

test('GIVEN the model in a Jest worker WHEN a request the spec accepts arrives THEN the model answers it and no violation is recorded', async () => {
  const admin = astra.seedToken([astra.roles.orgAdmin.id]);
  expect(await mint(admin.token, { roles: [astra.roles.apiUser.id], description: 'x', tokenExpiry: '2030-01-01T00:00:00Z' })).toBe(200);
  expect(astra.specViolations).toEqual([]);
  expect(astra.allTokens()).toHaveLength(2);
});
