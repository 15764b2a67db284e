/**
 * Every secret the lifecycle invariants watch: those the model's stacks created, and those a test made itself (an
 * imported admin secret). For each, the clientIds ever seen in its versions, so that a token stays attributed to its
 * secret after the secret is gone (CloudFormation deletes a secret at once; nothing can be read from it afterwards).
 */
export interface LedgerEntry {
  readonly arn: string;
  readonly origin: 'stack' | 'test';
  /** `<stack>/<logical id>` for a stack's secret. */
  readonly owner?: string;
  deleted: boolean;
  /** Where it was deleted: `<stack> <stack status>`. */
  deletedDuring?: string;
  /** Every clientId seen in any of its versions. */
  readonly clientIds: Set<string>;
  /** Tokens made for it outside the function (a test's seed). */
  readonly seedClientIds: Set<string>;
  /** Once AWSCURRENT has held a token, it must hold a live one for as long as the secret exists. */
  everHeldToken: boolean;
}

export class SecretLedger {
  private readonly entries = new Map<string, LedgerEntry>();

  public created(arn: string, owner: string): void {
    this.entry(arn, 'stack', owner);
  }

  /** A secret the test made itself (e.g. an admin secret the stack imports), with the tokens it seeded for it. */
  public register(arn: string, seedClientIds: string[] = []): void {
    const e = this.entry(arn, 'test');
    for (const c of seedClientIds) {
      e.seedClientIds.add(c);
      e.clientIds.add(c);
    }
  }

  public deleted(arn: string, during: string, clientIds: Iterable<string>): void {
    const e = this.entries.get(arn);
    if (!e) return;
    for (const c of clientIds) e.clientIds.add(c);
    e.deleted = true;
    e.deletedDuring = during;
  }

  public noteClientIds(arn: string, clientIds: Iterable<string>): void {
    const e = this.entries.get(arn);
    if (e) for (const c of clientIds) e.clientIds.add(c);
  }

  public get(arn: string): LedgerEntry | undefined {
    return this.entries.get(arn);
  }

  public all(): LedgerEntry[] {
    return [...this.entries.values()];
  }

  private entry(arn: string, origin: LedgerEntry['origin'], owner?: string): LedgerEntry {
    let e = this.entries.get(arn);
    if (!e) {
      e = { arn, origin, owner, deleted: false, clientIds: new Set(), seedClientIds: new Set(), everHeldToken: false };
      this.entries.set(arn, e);
    }
    return e;
  }
}
