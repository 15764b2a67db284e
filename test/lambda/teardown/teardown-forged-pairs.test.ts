import { FOREIGN_ORG, useTeardownHarness } from './teardown-harness';
import { ADMIN_ROLE } from '../support/fake-astra';

/*
 * A value writer pairs the secret's own clientIds with a working token of an Astra org of their own (the twenty-ninth
 * review's F1). `astraKey` with a trailing space is no AstraCS token to the parser, so the `clientID` field names the
 * token, while HTTP strips the space and Astra authenticates the writer's token, in the writer's org: its list shows
 * only its own tokens, and its DELETE of any other clientId answers 404 there.
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => jest.restoreAllMocks());

/** The writer's token, answered by an org of its own: one token, the org FOREIGN_ORG, 404 to any other DELETE. */
function writersOrgToken(): { clientId: string; token: string; secret: string; deletes: string[] } {
  const token = h.astra.issue([ADMIN_ROLE], 'writer token');
  h.astra.tokens.delete(token.clientId); // not of the stack's org
  const deletes: string[] = [];
  const realFetch = globalThis.fetch;
  jest.spyOn(globalThis, 'fetch').mockImplementation(async (url: any, init?: any) => {
    const bearer = String(init?.headers?.Authorization ?? '').replace(/^Bearer /, '').trim();
    if (bearer !== token.token) return realFetch(url, init);
    const path = new URL(String(url)).pathname;
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    if (init?.method === 'DELETE') {
      deletes.push(path.split('/').pop()!);
      return json(404, { errors: [{ ID: 340013, message: 'client id not found' }] });
    }
    if (path === '/v2/currentOrg') return json(200, { id: FOREIGN_ORG });
    return json(200, { clients: [{ clientId: token.clientId, roles: [ADMIN_ROLE], description: 'writer token', generatedOn: new Date().toISOString() }] });
  });
  return { ...token, deletes };
}

describe('GIVEN a self-rotating secret, rotated twice, and a sibling of the same org that lists the org first', () => {
  test.each([
    ['in versions pushed out of the stages by two dead values', true],
    ['in the two stages', false],
  ])('WHEN a writer puts the secret\'s clientIds paired with their own org\'s token %s and the stack is deleted THEN the secret\'s tokens are revoked or named, never taken as revoked by the writer\'s 404', async (_where, pushedOut) => {
    const [leaving, sibling] = await t.rotatedTwice(2);
    const own = t.liveMarked(leaving);
    expect(own).toHaveLength(2);
    const real = h.sm.valueAt(leaving, 'AWSCURRENT');
    const writer = writersOrgToken();
    for (const clientId of pushedOut ? own : [...own].reverse()) {
      t.put(leaving, { ...real, astraKey: `${writer.token} `, clientID: clientId, clientSecret: 'x', pendingRevocations: [] });
    }
    if (pushedOut) for (let i = 0; i < 2; i++) t.put(leaving, { ...t.withToken(real, t.deadToken()), pendingRevocations: [] });

    const { answer, alerts } = await t.send('Delete', [leaving, sibling]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.sm.secrets.has(leaving)).toBe(false);
    expect(t.unreported([leaving], own, alerts)).toEqual([]);
    // The writer's token never revoked a token of the stack's org on its 404.
    expect(writer.deletes.filter((c) => own.includes(c) && h.astra.isLive(c))).toEqual([]);
  });
});
