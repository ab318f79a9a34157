import type http from 'node:http';
import type Provider from 'oidc-provider';

/**
 * The local upstream's user-facing part: its login + consent interaction (server side) and a
 * "user with a browser" that walks an authorization URL through it (client side).
 *
 * oidc-provider runs the protocol; with `devInteractions` disabled it redirects the user agent to
 * `/interaction/<uid>` whenever it needs a login or a consent, and expects the application to finish the
 * interaction with `provider.interactionFinished(req, res, result)`, which answers 303 back to the
 * provider's `/auth/<uid>` resume endpoint.
 */

export interface UpstreamAccount {
  sub: string;
  email: string;
  name?: string;
}

export const INTERACTION_PREFIX = '/interaction/';

const BODY_LIMIT = 64 * 1024;

export async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new Error('request entity too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function send(res: http.ServerResponse, status: number, type: 'json' | 'html' | 'text', body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', { json: 'application/json', html: 'text/html; charset=utf-8', text: 'text/plain; charset=utf-8' }[type]);
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

/**
 * Serves `/interaction/<uid>[/login|/confirm|/abort]`:
 *  - GET  `/interaction/<uid>`: JSON `{ uid, prompt, details }` when `Accept: application/json`, else a minimal HTML
 *    page (a login form prefilled with the default account, or Allow / Deny buttons).
 *  - POST `/login` (form field `sub`, or `email`): signs that account in.
 *  - POST `/confirm`: grants everything the consent prompt reports missing.
 *  - POST `/abort`: the user denies → the client gets `error=access_denied`.
 */
export async function handleInteraction(
  provider: Provider,
  accounts: Map<string, UpstreamAccount>,
  defaultAccount: UpstreamAccount,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  pathname: string,
): Promise<void> {
  const [uid, action] = pathname.slice(INTERACTION_PREFIX.length).split('/');
  let details: Awaited<ReturnType<Provider['interactionDetails']>>;
  try {
    // Reads the `_interaction` cookie set by the authorization endpoint; fails without it or when expired.
    details = await provider.interactionDetails(req, res);
  } catch (error) {
    send(res, 400, 'text', `interaction not found: ${(error as Error).message}`);
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, 'text', 'interaction mismatch');
    return;
  }
  const prompt = details.prompt;

  if (req.method === 'GET' && action === undefined) {
    if (req.headers.accept?.includes('application/json')) {
      send(res, 200, 'json', JSON.stringify({ uid, prompt: prompt.name, details: prompt.details, params: details.params }));
      return;
    }
    const form = (path: string, fields: string) =>
      `<form method="post" action="${INTERACTION_PREFIX}${escapeHtml(uid!)}/${path}">${fields}</form>`;
    const body =
      prompt.name === 'login'
        ? form('login', `<input name="email" type="email" value="${escapeHtml(defaultAccount.email)}"><button type="submit">Sign in</button>`)
        : `<p>${escapeHtml(String(details.params.client_id))} wants: ${escapeHtml(String(details.params.scope ?? ''))}</p>` +
          form('confirm', '<button type="submit">Allow</button>') +
          form('abort', '<button type="submit">Deny</button>');
    send(res, 200, 'html', `<!DOCTYPE html><html><head><title>Upstream ${escapeHtml(prompt.name)}</title></head><body>${body}</body></html>`);
    return;
  }

  if (req.method !== 'POST') {
    send(res, 405, 'text', 'method not allowed');
    return;
  }
  const form = new URLSearchParams((await readBody(req)).toString('utf8'));

  if (action === 'login' && prompt.name === 'login') {
    const sub = form.get('sub');
    const email = form.get('email');
    const account = sub ? accounts.get(sub) : [...accounts.values()].find((a) => a.email === email);
    if (!account) {
      send(res, 400, 'text', 'unknown account');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
    return;
  }

  if (action === 'confirm' && prompt.name === 'consent') {
    // A Grant records what the user allowed this client; the consent prompt's details list what the request asks for
    // beyond the existing grant (all of it with `prompt=consent` in a fresh session).
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
    if (!grant) {
      send(res, 400, 'text', 'grant not found');
      return;
    }
    const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  if (action === 'abort') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the user denied the request' },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  send(res, 400, 'text', `unexpected ${action ?? 'GET'} for the ${prompt.name} prompt`);
}

/** A cookie jar good enough for one host: name → value, ignoring Path (cookies of other paths are harmless here). */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  header(): string | undefined {
    return this.#cookies.size ? [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ') : undefined;
  }

  store(response: Response): void {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = cookie.split(';');
      const i = pair.indexOf('=');
      if (i < 1) continue;
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key = '', val = ''] = attribute.split('=').map((s) => s.trim());
        if (key.toLowerCase() === 'max-age') return Number(val) <= 0;
        if (key.toLowerCase() === 'expires') return Date.parse(val) <= Date.now();
        return false;
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
}

/**
 * Follows `authorizationUrl` like a user's browser: authorization request → login → consent (or deny), keeping
 * cookies, until the upstream redirects away from itself; returns that redirect (the client's callback, with
 * `code`+`state`+`iss` or `error`) without fetching it. Throws when the upstream answers anything else (e.g. its
 * JSON error page for an unknown client or redirect_uri).
 */
export async function driveLogin(
  issuer: string,
  authorizationUrl: string,
  options: { deny?: boolean; account: UpstreamAccount },
): Promise<URL> {
  const origin = new URL(issuer).origin;
  const jar = new CookieJar();
  const request = async (url: URL, init: { method?: string; form?: Record<string, string>; json?: boolean } = {}) => {
    const headers: Record<string, string> = {};
    const cookie = jar.header();
    if (cookie) headers.cookie = cookie;
    if (init.json) headers.accept = 'application/json';
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      body: init.form ? new URLSearchParams(init.form) : undefined,
      redirect: 'manual',
    });
    jar.store(response);
    return response;
  };

  let url = new URL(authorizationUrl);
  if (url.origin !== origin) throw new Error(`completeLogin: ${url.origin} is not this upstream (${origin})`);
  let response = await request(url);

  for (let step = 0; step < 20; step += 1) {
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) {
      throw new Error(`completeLogin: the upstream answered ${response.status} at ${url.pathname}: ${(await response.text()).slice(0, 500)}`);
    }
    await response.body?.cancel();
    url = new URL(location, url);
    if (url.origin !== origin) return url;

    if (!url.pathname.startsWith(INTERACTION_PREFIX)) {
      response = await request(url); // the provider's /auth/<uid> resume endpoint
      continue;
    }
    const page = await request(url, { json: true });
    if (page.status !== 200) throw new Error(`completeLogin: interaction page answered ${page.status}: ${await page.text()}`);
    const { prompt } = (await page.json()) as { prompt: string };
    const base = url.pathname.replace(/\/$/, '');
    if (prompt === 'login') {
      response = await request(new URL(`${base}/login`, url), { method: 'POST', form: { sub: options.account.sub } });
    } else if (prompt === 'consent') {
      response = await request(new URL(`${base}/${options.deny ? 'abort' : 'confirm'}`, url), { method: 'POST', form: {} });
    } else {
      throw new Error(`completeLogin: unexpected prompt ${prompt}`);
    }
  }
  throw new Error('completeLogin: too many redirects');
}
