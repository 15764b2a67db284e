import { Redactor } from '../../../lambda/logging/redact';
import { parseSecretString } from '../../../lambda/value/secret-value';

describe('parseSecretString', () => {
  test('names a version without a SecretString (binary) as such, not as bad JSON', () => {
    expect(() => parseSecretString('', 'AWSCURRENT', new Redactor())).toThrow(/AWSCURRENT has no SecretString \(binary or empty\)/);
  });
});
