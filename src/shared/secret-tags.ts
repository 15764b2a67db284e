/**
 * The tags that bind a managed secret to its settings. The construct writes them; the rotation function reads them
 * with DescribeSecret (which it calls anyway) and never takes these settings from the secret's value, which anyone
 * with secretsmanager:PutSecretValue could write. This module imports nothing, so the handler's bundle shares it.
 */

/** The UUID of the Astra role every token minted for the secret gets. */
export const ROLE_ID_TAG = 'astra-token-secret:role-id';

/** The ARN of the secret whose AWSCURRENT token mints and revokes; absent when the secret rotates itself. */
export const ADMIN_SECRET_ARN_TAG = 'astra-token-secret:admin-secret-arn';

/**
 * The longest a minted token may live, in whole seconds: each mint asks Astra for `tokenExpiry` = now + this. Absent:
 * no expiry is asked for (the organization's maximum, if any, applies).
 */
export const MAX_TOKEN_LIFETIME_TAG = 'astra-token-secret:max-token-lifetime-seconds';

/** When the token that was AWSCURRENT before a rotation is revoked (a `PreviousTokenRevocation`). */
export const PREVIOUS_TOKEN_REVOCATION_TAG = 'astra-token-secret:previous-token-revocation';

/**
 * The secret's DeletionPolicy as its last deploy rendered it (`Delete`, `Retain`, `RetainExceptOnCreate`, `Snapshot`),
 * whatever set it (the prop, `applyRemovalPolicy`, an aspect such as `RemovalPolicies`). The teardown reads it for a
 * secret that is no longer in the stack's template, whose policy CloudFormation's API no longer shows.
 */
export const DELETION_POLICY_TAG = 'astra-token-secret:deletion-policy';

/**
 * The secret's UpdateReplacePolicy as its last deploy rendered it: a secret CloudFormation kept when it replaced it
 * (`Retain`) says so itself, whatever a later template says of the logical id it once held.
 */
export const UPDATE_REPLACE_POLICY_TAG = 'astra-token-secret:update-replace-policy';
