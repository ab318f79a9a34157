/**
 * A minimal user agent for the flow scenario: a cookie jar, redirects followed by hand, forms read from the
 * page (hidden inputs kept, e.g. our CSRF token). One per flow, so every flow starts signed out.
 */
export class Browser {
  readonly #cookies = new Map<string, string>();

  constructor(readonly origin: string) {}

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size) headers.set('cookie', [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await fetch(new URL(url, this.origin), { ...init, headers, redirect: 'manual' });
    for (const header of response.headers.getSetCookie()) {
      const pair = header.split(';', 1)[0]!;
      const at = pair.indexOf('=');
      const value = pair.slice(at + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(header)) this.#cookies.delete(pair.slice(0, at).trim());
      else this.#cookies.set(pair.slice(0, at).trim(), value);
    }
    return response;
  }

  /** Follows redirects until a page (its URL and HTML) or a URL starting with `stopAt`. */
  async navigate(url: string, stopAt: string, init?: RequestInit): Promise<{ url: string; html?: string }> {
    let current = new URL(url, this.origin).href;
    let response = await this.request(current, init);
    for (let hops = 0; hops < 10; hops += 1) {
      if (response.status < 300 || response.status >= 400) {
        const html = await response.text();
        if (response.status !== 200) throw new Error(`${response.status} at ${current}: ${html.slice(0, 200)}`);
        return { url: current, html };
      }
      await response.body?.cancel();
      current = new URL(response.headers.get('location')!, current).href;
      if (current.startsWith(stopAt)) return { url: current };
      response = await this.request(current);
    }
    throw new Error('too many redirects');
  }

  /** Submits the page's form whose action contains `actionPart`, with `fields` over its hidden inputs. */
  submit(page: { url: string; html?: string }, actionPart: string, fields: Record<string, string>, stopAt: string) {
    const form = [...(page.html ?? '').matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].find(([, attrs]) => /action="([^"]*)"/.exec(attrs!)?.[1]?.includes(actionPart));
    if (!form) throw new Error(`no form for ${actionPart} at ${page.url}`);
    const hidden: Record<string, string> = {};
    for (const [input] of form[2]!.matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(input)?.[1];
      if (name) hidden[name] = decode(/value="([^"]*)"/.exec(input)?.[1] ?? '');
    }
    const action = decode(/action="([^"]*)"/.exec(form[1]!)![1]!);
    return this.navigate(new URL(action, page.url).href, stopAt, {
      method: 'POST',
      body: new URLSearchParams({ ...hidden, ...fields }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin },
    });
  }
}

const decode = (value: string) => value.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
