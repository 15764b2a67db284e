import { ConfigError, endpointSetting, readConfig } from '../../../lambda/clients/config';
import { isLoopbackHost } from '../../../src/shared/base-url';

describe('readConfig', () => {
  test('defaults', () => {
    expect(readConfig({})).toEqual({
      secretsManagerEndpoint: undefined,
      astraApiUrl: 'https://api.astra.datastax.com',
      httpTimeoutMs: 10000,
      httpMaxAttempts: 4,
      retryBaseMs: 250,
      testAttempts: 5,
      testRetryDelayMs: 1000,
      timeMarginMs: 20000,
      secretsManagerTimeoutMs: 5000,
      teardownTurnsAtOnce: 4,
    });
  });
  test.each(['http://127.0.0.1:8080', 'http://localhost:1/', 'http://[::1]:9', 'https://api.test.cloud.datastax.com'])('accepts %s', (url) => {
    expect(readConfig({ ASTRA_API_URL: url }).astraApiUrl).toBe(url.replace(/\/$/, ''));
  });
  test.each(['http://api.astra.datastax.com', 'http://127.0.0.1.evil.com', 'ftp://127.0.0.1', 'not a url', 'https://u:p@host'])('refuses %s', (url) => {
    expect(() => readConfig({ ASTRA_API_URL: url })).toThrow(ConfigError);
  });
  test('numeric knobs are validated', () => {
    expect(readConfig({ ASTRA_RETRY_BASE_MS: '0', ASTRA_HTTP_MAX_ATTEMPTS: '2' })).toMatchObject({ retryBaseMs: 0, httpMaxAttempts: 2 });
    expect(() => readConfig({ ASTRA_HTTP_TIMEOUT_MS: 'soon' })).toThrow(/ASTRA_HTTP_TIMEOUT_MS/);
    expect(() => readConfig({ ASTRA_HTTP_MAX_ATTEMPTS: '0' })).toThrow(/at least 1/);
  });
  test('SECRETS_MANAGER_ENDPOINT: https, or http to loopback only, and never with credentials', () => {
    expect(readConfig({ SECRETS_MANAGER_ENDPOINT: ' https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com ' }).secretsManagerEndpoint)
      .toBe('https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com');
    expect(readConfig({ SECRETS_MANAGER_ENDPOINT: '' }).secretsManagerEndpoint).toBeUndefined();
    expect(() => readConfig({ SECRETS_MANAGER_ENDPOINT: 'https://example.com/?x=1' })).toThrow(/^SECRETS_MANAGER_ENDPOINT "https:\/\/example.com" must be a plain base URL with no query/);
  });
});

describe('URL credentials in the environment', () => {
  // Every shape a URL with credentials takes: https, http (refused for its scheme too), to loopback (allowed http),
  // no scheme, a scheme the URL parser does not split, a user alone, and a value that is not a URL at all.
  const PASSWORD = 'pw-9f3Kq7Zx';
  const urls = [
    `https://astra-user:${PASSWORD}@api.astra.datastax.com`,
    `http://astra-user:${PASSWORD}@api.astra.datastax.com/`,
    `http://astra-user:${PASSWORD}@127.0.0.1:8080`,
    `astra-user:${PASSWORD}@api.astra.datastax.com`,
    `custom://astra-user:${PASSWORD}@host/path`,
    `https://${PASSWORD}@api.astra.datastax.com`,
    `https://astra-user:${PASSWORD}@api.astra.datastax.com:notaport`,
    `https://astra-user:${PASSWORD}@api.astra.datastax.com/?token=${PASSWORD}#${PASSWORD}`,
  ];
  const refusal = (env: Record<string, string>): Error => {
    try {
      readConfig(env);
    } catch (error) {
      return error as Error;
    }
    throw new Error('accepted');
  };

  test.each(urls)('ASTRA_API_URL %s is refused without quoting the credentials', (url) => {
    const error = refusal({ ASTRA_API_URL: url });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^ASTRA_API_URL( "[^"]*")? (carries credentials|is not a URL|must use https)/);
    expect(error.message).toMatch(/with no credentials .*e\.g\. https:\/\/api\.astra\.datastax\.com/);
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain('astra-user');
  });

  test.each(urls)('SECRETS_MANAGER_ENDPOINT %s is refused without quoting the credentials', (url) => {
    const error = refusal({ SECRETS_MANAGER_ENDPOINT: url });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^SECRETS_MANAGER_ENDPOINT( "[^"]*")? (carries credentials|is not a URL|must use https).*Nothing was read or written/);
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain('astra-user');
  });

  test('a URL with credentials says so first, and quotes scheme and host only', () => {
    expect(refusal({ ASTRA_API_URL: `http://astra-user:${PASSWORD}@api.example.com/v2` }).message)
      .toMatch(/^ASTRA_API_URL "http:\/\/api.example.com" carries credentials \(user:password@ before the host\)\. /);
    expect(refusal({ SECRETS_MANAGER_ENDPOINT: `https://astra-user:${PASSWORD}@vpce.example.com` }).message)
      .toMatch(/^SECRETS_MANAGER_ENDPOINT "https:\/\/vpce.example.com" carries credentials .*signs its calls with its role/);
  });

  test('every *_ENDPOINT goes through the same check', () => {
    expect(endpointSetting({ CLOUDFORMATION_ENDPOINT: ' https://cloudformation.eu-west-1.amazonaws.com ' }, 'CLOUDFORMATION_ENDPOINT'))
      .toBe('https://cloudformation.eu-west-1.amazonaws.com');
    expect(endpointSetting({}, 'CLOUDFORMATION_ENDPOINT')).toBeUndefined();
    expect(() => endpointSetting({ CLOUDFORMATION_ENDPOINT: `https://u:${PASSWORD}@cfn.example.com` }, 'CLOUDFORMATION_ENDPOINT'))
      .toThrow(/^CLOUDFORMATION_ENDPOINT "https:\/\/cfn.example.com" carries credentials/);
  });
  test('loopback hosts', () => {
    expect(['127.1.2.3', 'LOCALHOST', '::1'].map(isLoopbackHost)).toEqual([true, true, true]);
    expect(['128.0.0.1', '127.0.0.1.nip.io', '10.0.0.1'].map(isLoopbackHost)).toEqual([false, false, false]);
  });
});
