import { ALERT_NAMES } from '../../src/shared/alert-names';

/** A token of a secret that nothing will come back to revoke: what the token alarm's filter (its `alert`) reports. */
export interface TokensLeftLive {
  readonly step: string;
  readonly secretArn: string;
  /** The secret's own tokens (its mark, or possession) that are, or may be, live. */
  readonly clientIds: readonly string[];
  /** Named by the secret's value but not provably its own (revocation-rule.ts): maybe another team's. */
  readonly notProvenClientIds?: readonly string[];
  /** What happened, a sentence ending in a full stop; the remedy follows it. */
  readonly what: string;
  /** A condition on the remedy, e.g. `, unless the secret is restored`. */
  readonly unless?: string;
}

/** The ERROR line every path that leaves a token live for good writes: the rotation cut short and the teardown. */
export function tokensLeftLiveAlert(alert: TokensLeftLive): Record<string, unknown> {
  const notProven = alert.notProvenClientIds ?? [];
  return {
    level: 'ERROR',
    alert: ALERT_NAMES.TOKENS_LEFT_LIVE,
    step: alert.step,
    secretArn: alert.secretArn,
    clientIds: alert.clientIds,
    // Never to revoke on this line's word.
    ...notProven.length ? { notProvenClientIds: notProven } : {},
    message: `${alert.what} Revoke the clientIds listed in the Astra Portal (Settings > Tokens; their descriptions name the secret) `
      + `or with DELETE /v2/clientIdSecrets/{clientId}${alert.unless ?? ''}.`
      + (notProven.length ? ' notProvenClientIds were named by the secret\'s value but are not provably its tokens (they may be another team\'s): do not revoke them on this word.' : ''),
  };
}
