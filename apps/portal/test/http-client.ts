// A cookie- and CSRF-keeping API client, like a browser's page script; used by the unit tests
// (in-process requests) and the integration tests (real HTTP).

/** Sends one request; returns the response. */
export type Send = (method: string, path: string, headers: Record<string, string>, body?: string) => Promise<Response>;

/** The client. */
export interface ApiClient {
  request(method: string, path: string, body?: unknown, extra?: Record<string, string>): Promise<Response>;
  /** GET /api/session (for the CSRF token), then POST /api/session. */
  login(username: string, password: string): Promise<Response>;
  /** The session cookie (`__Host-invis-session=…`), or '' — settable to test tampering. */
  cookie: string;
  csrf: string;
}

/** @returns a client that keeps the session cookie and the CSRF token across requests. */
export function apiClient(send: Send, headers: Record<string, string> = {}): ApiClient {
  // Other cookies (the visitor's CSRF cookie), kept like a browser does.
  const jar = new Map<string, string>();
  const cookieHeader = (): string =>
    [...(client.cookie ? [client.cookie] : []), ...[...jar].map(([k, v]) => `${k}=${v}`)].join('; ');
  const client: ApiClient = {
    cookie: '',
    csrf: '',
    async request(method, path, body, extra = {}) {
      const res = await send(
        method,
        path,
        {
          ...headers,
          ...(cookieHeader() ? { cookie: cookieHeader() } : {}),
          ...(client.csrf ? { 'x-csrf-token': client.csrf } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...extra,
        },
        body === undefined ? undefined : JSON.stringify(body),
      );
      for (const set of res.headers.getSetCookie()) {
        const pair = set.split(';')[0] as string;
        const [name = '', value = ''] = pair.split('=');
        const gone = value === '' || /max-age=0/i.test(set);
        if (name === '__Host-invis-session') client.cookie = gone ? '' : pair;
        else if (gone) jar.delete(name);
        else jar.set(name, value);
      }
      return res;
    },
    async login(username, password) {
      const s = (await (await client.request('GET', '/api/session')).json()) as { csrfToken: string };
      client.csrf = s.csrfToken;
      const res = await client.request('POST', '/api/session', { username, password });
      if (res.ok) client.csrf = ((await res.clone().json()) as { csrfToken: string }).csrfToken;
      return res;
    },
  };
  return client;
}

/** A {@link Send} over real HTTP to `baseUrl`. */
export function httpSend(baseUrl: string): Send {
  return (method, path, headers, body) =>
    fetch(new URL(path, baseUrl), { method, headers, redirect: 'manual', ...(body === undefined ? {} : { body }) });
}
