import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretStore } from '../../../lambda/clients/secret-store';
import { Redactor } from '../../../lambda/logging/redact';
import { EscrowEntry, EscrowFull, finishedId, MAX_ESCROW_BYTES, TeardownEscrow } from '../../../lambda/teardown/escrow';
import { parseSecretString } from '../../../lambda/value/secret-value';
import { awsError, FakeSecretsManager } from '../support/fake-secrets-manager';

const TOKEN = `AstraCS:${'a'.repeat(24)}:${'0'.repeat(64)}`;
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf';

describe('TeardownEscrow', () => {
  let sm: FakeSecretsManager;
  let escrowArn: string;
  let redactor: Redactor;
  const OPERATION = 'DELETE_IN_PROGRESS 2026-12-01T00:00:00.000Z Teardown';
  const escrow = (operation = OPERATION) => new TeardownEscrow(new SecretStore(new SecretsManagerClient({ region: 'us-east-1' })), escrowArn, operation, redactor);
  const entry = (arn = SECRET): EscrowEntry => ({
    arn,
    adminSecretArn: undefined,
    current: parseSecretString(JSON.stringify({ astraKey: TOKEN, clientID: 'a'.repeat(24), clientSecret: 'client-secret-value', roleID: 'r', engine: 'AstraDB' }), 'AWSCURRENT', redactor),
    versions: { current: 'v1' },
    held: [{ clientId: 'a'.repeat(24), token: TOKEN, versionId: 'v1' }],
  });

  beforeEach(() => {
    sm = new FakeSecretsManager();
    escrowArn = sm.create('escrow', '{}', { rotationEnabled: false });
    redactor = new Redactor();
  });
  afterEach(() => sm.restore());

  test('GIVEN entries written WHEN read back THEN the same entries, without the clientSecret, which no revocation needs', async () => {
    await escrow().write([entry()]);
    expect(sm.valueAt(escrowArn, 'AWSCURRENT').entries[0].current).not.toHaveProperty('clientSecret');
    const [{ operation, entry: read }] = (await escrow().contents()).entries;
    expect(operation).toBe(OPERATION);
    expect(read).toMatchObject({ arn: SECRET, current: { astraKey: TOKEN, clientId: 'a'.repeat(24) }, versions: { current: 'v1' }, held: entry().held });
  });

  test('GIVEN the value the construct created, or one not in the escrow\'s format THEN no entries', async () => {
    expect((await escrow().contents()).entries).toEqual([]);
    for (const value of ['not json', '{"format":"other/1","entries":[{"arn":"x"}]}', '{"format":"astra-token-teardown-escrow/1","entries":{}}']) {
      sm.addVersion(escrowArn, value, ['AWSCURRENT']);
      expect((await escrow().contents()).entries).toEqual([]);
    }
  });

  test('GIVEN entries without an ARN, with a value that is not a secret value, or with malformed held tokens THEN those are left out', async () => {
    sm.addVersion(escrowArn, JSON.stringify({
      format: 'astra-token-teardown-escrow/1',
      entries: [{ operation: OPERATION, current: {} }, { operation: OPERATION, arn: 'bad', current: { astraKey: 7 } }, { arn: SECRET },
        { operation: OPERATION, arn: SECRET, versions: 'x', held: [{ clientId: 'c' }, null] }],
    }), ['AWSCURRENT']);
    expect((await escrow().contents()).entries).toEqual([
      {
        operation: OPERATION,
        entry: { arn: SECRET, adminSecretArn: undefined, current: undefined, previous: undefined, versions: {}, held: [], writtenAhead: false },
      },
    ]);
  });

  test('GIVEN an entry written ahead of its DeleteSecret WHEN read back THEN it says so; GIVEN one without the mark (sent, or from before it) THEN it does not', async () => {
    const e = escrow();
    await e.write([{ ...entry(), writtenAhead: true }, entry(`${SECRET}-sent`)]);
    expect((await e.contents()).entries.map(({ entry: { arn, writtenAhead } }) => [arn, writtenAhead])).toEqual([[SECRET, true], [`${SECRET}-sent`, false]]);
    expect(JSON.stringify(sm.valueAt(escrowArn, 'AWSCURRENT').entries[1])).not.toMatch(/writtenAhead/);
  });

  test('GIVEN nothing written yet WHEN no entries are written THEN no call; GIVEN the same entries again, or none again, THEN no second call', async () => {
    const e = escrow();
    await e.contents();
    await e.write([]);
    expect(sm.count('PutSecretValue')).toBe(0);
    await e.write([entry()]);
    await e.write([entry()]);
    expect(sm.count('PutSecretValue')).toBe(1);
    await e.write([], new Set([SECRET]));
    await e.write([], new Set([SECRET]));
    expect(sm.count('PutSecretValue')).toBe(2);
    expect(sm.valueAt(escrowArn, 'AWSCURRENT').entries).toEqual([]);
  });

  test('GIVEN entries another operation wrote THEN they are read with it, and a write of this operation keeps them', async () => {
    const earlier = 'DELETE_IN_PROGRESS 2026-11-01T00:00:00.000Z Teardown';
    await escrow(earlier).write([entry(`${SECRET}-earlier`)]);
    const e = escrow();
    expect((await e.contents()).entries.map(({ operation }) => operation)).toEqual([earlier]);
    await e.write([entry()]);
    expect((await escrow().contents()).entries.map(({ operation, entry: { arn } }) => [operation, arn])).toEqual([[earlier, `${SECRET}-earlier`], [OPERATION, SECRET]]);
  });

  test('GIVEN another invocation of the operation wrote its entries since this one read WHEN this one writes THEN both invocations\' entries are kept', async () => {
    const mine = escrow();
    await mine.contents();
    await escrow().write([entry(`${SECRET}-theirs`)]);
    await mine.write([entry(`${SECRET}-mine`)]);
    expect(sm.valueAt(escrowArn, 'AWSCURRENT').entries.map((e: { arn: string }) => e.arn)).toEqual([`${SECRET}-theirs`, `${SECRET}-mine`]);
  });

  test('GIVEN secrets this invocation is done with WHEN it writes THEN their entries go, whoever wrote them, and the rest stay', async () => {
    await escrow().write([entry(`${SECRET}-a`), entry(`${SECRET}-b`)]);
    await escrow().write([], new Set([`${SECRET}-a`]));
    expect(sm.valueAt(escrowArn, 'AWSCURRENT').entries.map((e: { arn: string }) => e.arn)).toEqual([`${SECRET}-b`]);
  });

  test('GIVEN secrets finished clean WHEN this operation writes THEN they are recorded beside those it recorded before, by digest, and read back only by this operation', async () => {
    await escrow().write([entry(`${SECRET}-b`)], new Set([`${SECRET}-a`]), new Set([`${SECRET}-a`]));
    await escrow().write([], new Set([`${SECRET}-b`]), new Set([`${SECRET}-b`]));
    const { entries, finished } = await escrow().contents();
    expect(entries).toEqual([]);
    expect([...finished]).toEqual([finishedId(`${SECRET}-a`), finishedId(`${SECRET}-b`)]);
    expect(JSON.stringify(sm.valueAt(escrowArn, 'AWSCURRENT'))).not.toContain(SECRET);
    const later = 'DELETE_IN_PROGRESS 2026-12-02T00:00:00.000Z Teardown';
    expect([...(await escrow(later).contents()).finished]).toEqual([]);
    // Another operation's write drops this one's record: only a retry of the same operation asks it.
    await escrow(later).write([entry(`${SECRET}-c`)]);
    expect([...(await escrow().contents()).finished]).toEqual([]);
  });

  test('GIVEN an escrow with room for the entries but not for the record of finished secrets WHEN written THEN the entries are, without the record', async () => {
    const many = Array.from({ length: 5_000 }, (_, i) => `${SECRET}-${i}`);
    await escrow().write([entry()], new Set(), new Set(many));
    expect((await escrow().contents()).entries.map((e) => e.entry.arn)).toEqual([SECRET]);
    expect((await escrow().contents()).finished.size).toBe(0);
  });

  test('GIVEN another write lands between this write\'s read and its put THEN this one is made again over it, and both entries stay', async () => {
    const store = new SecretStore(new SecretsManagerClient({ region: 'us-east-1' }));
    const read = store.current.bind(store);
    let raced = false;
    jest.spyOn(store, 'current').mockImplementation(async (arn) => {
      const before = await read(arn);
      if (!raced) {
        raced = true;
        await escrow().write([entry(`${SECRET}-theirs`)]);
      }
      return before;
    });
    await new TeardownEscrow(store, escrowArn, OPERATION, redactor).write([entry(`${SECRET}-mine`)]);
    expect(sm.valueAt(escrowArn, 'AWSCURRENT').entries.map((e: { arn: string }) => e.arn)).toEqual([`${SECRET}-theirs`, `${SECRET}-mine`]);
    expect(sm.count('UpdateSecretVersionStage')).toBe(3);
  });

  test('GIVEN every write is overtaken by another THEN it gives up after a few, with an error, and AWSCURRENT is the others\' work', async () => {
    const store = new SecretStore(new SecretsManagerClient({ region: 'us-east-1' }));
    const read = store.current.bind(store);
    let n = 0;
    jest.spyOn(store, 'current').mockImplementation(async (arn) => {
      const before = await read(arn);
      await escrow().write([entry(`${SECRET}-theirs-${n++}`)]);
      return before;
    });
    await expect(new TeardownEscrow(store, escrowArn, OPERATION, redactor).write([entry(`${SECRET}-mine`)])).rejects.toThrow(/changed under each of 5 writes/);
    expect(sm.valueAt(escrowArn, 'AWSCURRENT').entries.map((e: { arn: string }) => e.arn)).not.toContain(`${SECRET}-mine`);
  });

  test('GIVEN more entries than a value holds THEN the write fails as full (fewer may fit) and nothing is written', async () => {
    const many = Array.from({ length: Math.ceil(MAX_ESCROW_BYTES / 300) }, (_, i) => entry(`${SECRET}${i}`));
    const write = escrow().write(many);
    await expect(write).rejects.toThrow(EscrowFull);
    await expect(write).rejects.toThrow(/would exceed 60000 bytes/);
    expect(sm.count('PutSecretValue')).toBe(0);
  });

  test('GIVEN Secrets Manager fails the read THEN the failure is the caller\'s, not an empty escrow', async () => {
    sm.failNext('GetSecretValue', awsError('InternalServiceError', 'injected'));
    await expect(escrow().contents()).rejects.toThrow(/GetSecretValue.*failed/);
  });
});
