/**
 * The check of a base URL that receives bearer tokens (the DevOps API) or new tokens (Secrets Manager): the construct
 * applies it at synth time, the handler to its environment. Imports nothing, so the handler's bundle shares it.
 */

/** 127.0.0.0/8, ::1 and localhost: where plain http is allowed, for local emulators and tests only. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1') return true;
  const octets = host.split('.');
  return octets.length === 4 && octets[0] === '127' && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
}

/** https, or plain http to a loopback host when `loopbackHttp`. */
export function isSecureOrLoopback(url: URL, options: { readonly loopbackHttp: boolean }): boolean {
  return url.protocol === 'https:' || (options.loopbackHttp && url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/** What can be wrong with a base URL; callers branch on it and word it with `describeBaseUrlProblem`. */
export type BaseUrlProblem = 'not-a-url' | 'credentials' | 'not-https' | 'query-or-fragment';

/**
 * What is wrong with `value` as a base URL, or undefined: not a URL, carrying credentials (`user:password@` before the
 * host), not https (plain http only to loopback when `loopbackHttp`), or carrying a query or a fragment. Credentials
 * are reported first, whatever else is wrong, so that a caller can say to remove them.
 */
export function baseUrlProblem(value: string, options: { readonly loopbackHttp: boolean }): BaseUrlProblem | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not-a-url';
  }
  if (url.username || url.password) return 'credentials';
  if (!isSecureOrLoopback(url, options)) return 'not-https';
  if (url.search || url.hash) return 'query-or-fragment';
  return undefined;
}

/** The problem in words, to follow the name of the setting in an error; it never quotes the value. */
export function describeBaseUrlProblem(problem: BaseUrlProblem, options: { readonly loopbackHttp: boolean }): string {
  switch (problem) {
    case 'not-a-url': return 'is not a URL';
    case 'credentials': return 'carries credentials (user:password@ before the host)';
    case 'not-https': return options.loopbackHttp ? 'must use https:// (plain http:// is allowed only for loopback hosts)' : 'must use https://';
    case 'query-or-fragment': return 'must be a plain base URL with no query or fragment';
  }
}

/**
 * `value` as an error message may quote it: scheme, host and path, never user info, query or fragment (where
 * credentials go). A value that is not a URL with a host is quoted only when it has no `@`, `?` or `#`; otherwise
 * undefined: say what is wrong without quoting it.
 */
export function shownUrl(value: string): string | undefined {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  // Special schemes (http, https, ftp, ws) parse user info apart from the host; any other keeps it in the path.
  if (url?.host) return `${url.protocol}//${url.host}${value.includes('@') ? '' : url.pathname.replace(/\/+$/, '')}`;
  return /[@?#]/.test(value) ? undefined : value;
}

/** The URL without trailing slashes, so that paths join onto it. */
export function trimmedBaseUrl(value: string): string {
  return value.replace(/\/+$/, '');
}
