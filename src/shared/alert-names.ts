/**
 * The `alert` names of the rotation function's ERROR lines that need a person although no step failed: a token that will
 * expire, tokens left live, and Secrets Manager's events about a managed secret. The construct's metric filter counts
 * them; the handler writes them. Imports nothing, so the handler's bundle shares it.
 */
export const ALERT_NAMES = {
  /** A new token expires before the rotation that replaces it (and its grace) is over. */
  EXPIRES_BEFORE_REPLACEMENT: 'TokenExpiresBeforeReplacement',
  /** A secret left the stack, or its stack was deleted, and some of its tokens could not be revoked. */
  TOKENS_LEFT_LIVE: 'TokensLeftLiveOnDeletion',
  /** Secrets Manager reported a failed rotation of a managed secret (CloudTrail's RotationFailed, through EventBridge). */
  ROTATION_FAILED: 'ManagedSecretRotationFailed',
  /** A teardown request that CloudFormation's own state does not confirm (a forged or misdirected invocation): nothing revoked. */
  TEARDOWN_NOT_CONFIRMED: 'TeardownNotConfirmedByCloudFormation',
  /** A Secrets Manager event about a managed secret that its state contradicts (a forged or misdirected invoke): nothing done. */
  EVENT_NOT_CONFIRMED: 'SecretEventNotConfirmedBySecretsManager',
  /** Someone deleted a managed secret, or scheduled its deletion, outside CloudFormation: its tokens stay live. */
  SECRET_DELETED: 'ManagedSecretDeletedOutsideStack',
} as const;
