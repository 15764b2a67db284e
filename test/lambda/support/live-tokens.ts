import type { IssuedToken } from '../../support/astra/astra-model';

interface TokenSource {
  allTokens(): IssuedToken[];
  isLive(clientId: string): boolean;
  revokeOutOfBand(clientId: string): void;
}

/**
 * The org's live tokens as a map by clientId, read afresh from the model at every call; `delete` revokes a token out of
 * band, as someone in Astra's UI would.
 */
export class LiveTokens implements ReadonlyMap<string, IssuedToken> {
  public constructor(private readonly source: TokenSource) {}

  public get size(): number {
    return this.snapshot().size;
  }

  public get(clientId: string): IssuedToken | undefined {
    return this.snapshot().get(clientId);
  }

  public has(clientId: string): boolean {
    return this.source.isLive(clientId);
  }

  public delete(clientId: string): boolean {
    const live = this.has(clientId);
    this.source.revokeOutOfBand(clientId);
    return live;
  }

  public keys(): MapIterator<string> {
    return this.snapshot().keys();
  }

  public values(): MapIterator<IssuedToken> {
    return this.snapshot().values();
  }

  public entries(): MapIterator<[string, IssuedToken]> {
    return this.snapshot().entries();
  }

  public forEach(callback: (token: IssuedToken, clientId: string, map: ReadonlyMap<string, IssuedToken>) => void): void {
    this.snapshot().forEach((token, clientId) => callback(token, clientId, this));
  }

  public [Symbol.iterator](): MapIterator<[string, IssuedToken]> {
    return this.entries();
  }

  private snapshot(): Map<string, IssuedToken> {
    return new Map(this.source.allTokens().filter((t) => this.source.isLive(t.clientId)).map((t) => [t.clientId, t]));
  }
}
