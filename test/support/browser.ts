/**
 * A minimal user agent for the server's HTML pages: keeps cookies, follows redirects by hand, reads and
 * submits the real forms. It stops at the client's redirect URI (nothing listens there) and returns it.
 */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(readonly origin: string) {}

  #store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(header) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    if (!headers.has('accept')) headers.set('accept', 'text/html,application/xhtml+xml');
    const response = await fetch(new URL(url, this.origin), { ...init, headers, redirect: 'manual' });
    this.#store(response);
    return response;
  }

  /** Follows redirects from `url` until a page (returned with its URL) or a URL under `stopAt`. */
  async navigate(url: string, stopAt: string, init?: RequestInit): Promise<{ url: string; response?: Response; html?: string }> {
    let current = new URL(url, this.origin).href;
    let response = await this.request(current, init);
    for (let hops = 0; hops < 20; hops += 1) {
      if (response.status >= 300 && response.status < 400) {
        current = new URL(response.headers.get('location')!, current).href;
        if (current.startsWith(stopAt)) return { url: current };
        response = await this.request(current);
        continue;
      }
      return { url: current, response, html: await response.text() };
    }
    throw new Error('too many redirects');
  }

  /** Submits the form whose action contains `actionPart`, with `fields` over its hidden inputs. */
  async submit(page: { url: string; html?: string }, actionPart: string, fields: Record<string, string>, stopAt: string, extraHeaders: Record<string, string> = {}) {
    const form = findForm(page.html ?? '', actionPart);
    const body = new URLSearchParams({ ...form.hidden, ...fields });
    return this.navigate(new URL(form.action, page.url).href, stopAt, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin, ...extraHeaders },
    });
  }
}

export function findForm(html: string, actionPart: string): { action: string; hidden: Record<string, string>; inputs: string[] } {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  for (const [, attrs, inner] of forms) {
    const action = /action="([^"]*)"/.exec(attrs!)?.[1] ?? '';
    if (!action.includes(actionPart)) continue;
    const hidden: Record<string, string> = {};
    const inputs: string[] = [];
    for (const [input] of inner!.matchAll(/<input\b[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(input)?.[1];
      const type = /type="([^"]*)"/.exec(input)?.[1] ?? 'text';
      if (!name) continue;
      inputs.push(`${type}:${name}`);
      if (type === 'hidden') hidden[name] = decodeEntities(/value="([^"]*)"/.exec(input)?.[1] ?? '');
    }
    return { action: decodeEntities(action), hidden, inputs };
  }
  throw new Error(`no form with action containing "${actionPart}" in page:\n${html.slice(0, 500)}`);
}

const decodeEntities = (value: string) =>
  value.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
