/**
 * The `alert` names of the rotation function's ERROR lines about a step that succeeded. The construct's metric filter
 * counts them; the handler writes them. Imports nothing, so the handler's bundle shares it.
 */
export const TOKEN_ALERTS = {
  /** A new token expires before the rotation that replaces it (and its grace) is over. */
  EXPIRES_BEFORE_REPLACEMENT: 'TokenExpiresBeforeReplacement',
  /** A secret left the stack, or its stack was deleted, and some of its tokens could not be revoked. */
  TOKENS_LEFT_LIVE: 'TokensLeftLiveOnDeletion',
} as const;
