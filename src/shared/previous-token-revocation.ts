/**
 * When the token that was AWSCURRENT before a rotation is revoked.
 */
export enum PreviousTokenRevocation {
  /**
   * The demoted token (now AWSPREVIOUS) stays valid until the next rotation, so clients that cached it
   * keep working; the token before it is revoked.
   */
  AT_NEXT_ROTATION = 'AT_NEXT_ROTATION',
  /** The demoted token is revoked as soon as the new one is promoted: only AWSCURRENT is ever valid. */
  IMMEDIATELY = 'IMMEDIATELY',
}
