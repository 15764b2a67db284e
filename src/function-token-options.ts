/**
 * How `AstraTokenSecret.addToFunction` tells a Lambda function where its token is.
 */
export interface FunctionTokenOptions {
  /**
   * The environment variable that holds the secret's ARN. The function reads the token from Secrets Manager at run
   * time (or through the Parameters and Secrets Lambda Extension), never from its environment.
   *
   * @default 'ASTRA_TOKEN_SECRET_ARN'
   */
  readonly environmentVariable?: string;
}
