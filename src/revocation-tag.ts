/**
 * The secret tag the rotation function reads the policy from (it comes with DescribeSecret,
 * which the function calls anyway, so one shared function serves secrets with either policy).
 */
export const PREVIOUS_TOKEN_REVOCATION_TAG = 'astra-token-secret:previous-token-revocation';
