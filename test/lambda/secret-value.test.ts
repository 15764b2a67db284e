import { Redactor } from '../../lambda/redact';
import { parseSecretString } from '../../lambda/secret-value';

describe('parseSecretString', () => {
  test('names a version without a SecretString (binary) as such, not as bad JSON', () => {
    expect(() => parseSecretString('', 'AWSCURRENT', new Redactor())).toThrow(/AWSCURRENT has no SecretString \(binary or empty\)/);
  });
});
