import { Redactor } from '../../../lambda/logging/redact';

describe('Redactor', () => {
  test('masks registered values and secret shapes, keeps ARNs and ids', () => {
    const r = new Redactor();
    r.add('s3cr3t-value', undefined, 'abc');
    const text = r.redact('x s3cr3t-value AstraCS:AbCd:0123abcd Authorization: Bearer xyz.123 {"clientSecret":"zz","token":"tt"} secret=qq abc '
      + 'arn:aws:secretsmanager:us-east-1:1:secret:app-token-AbCdEf');
    expect(text).toBe('x [REDACTED] AstraCS:[REDACTED] Authorization: Bearer [REDACTED] {"clientSecret":"[REDACTED]","token":"[REDACTED]"} secret=[REDACTED] abc '
      + 'arn:aws:secretsmanager:us-east-1:1:secret:app-token-AbCdEf');
  });
  test('masks the user info of any URL, and leaves a JSON line JSON', () => {
    const r = new Redactor();
    expect(r.redact('fetch failed: Request cannot be constructed from a URL that includes credentials: https://u:p4ss@api.example.com/v2/currentOrg'))
      .toBe('fetch failed: Request cannot be constructed from a URL that includes credentials: https://[REDACTED]@api.example.com/v2/currentOrg');
    expect(r.redact('HTTP://p4ss@h and ftp://a:b@c')).toBe('HTTP://[REDACTED]@h and ftp://[REDACTED]@c');
    const line = JSON.stringify({ url: 'https://api.example.com', contact: 'ops@example.com', other: 'http://x:y@z' });
    expect(JSON.parse(r.redact(line))).toEqual({ url: 'https://api.example.com', contact: 'ops@example.com', other: 'http://[REDACTED]@z' });
    expect(r.redact('arn:aws:secretsmanager:us-east-1:1:secret:a@b-AbCdEf https://api.example.com/a@b')).toBe('arn:aws:secretsmanager:us-east-1:1:secret:a@b-AbCdEf https://api.example.com/a@b');
  });
});
