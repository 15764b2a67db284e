/**
 * The ARN the e2e harness gives its one local function: RotateSecret registers it as the secrets' rotation function,
 * and the runtime passes it as `context.invokedFunctionArn`, as Lambda does.
 */
export const E2E_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:e2e-rotation-driven-by-the-test';
