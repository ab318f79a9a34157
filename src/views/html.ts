import { createHash } from 'node:crypto';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escapes a value for text or a double-quoted attribute. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Markup that is already safe (built by these helpers); never wrap user input in it. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Tagged template: interpolations are escaped unless they are SafeHtml (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  const render = (value: unknown): string =>
    value instanceof SafeHtml ? value.value : Array.isArray(value) ? value.map(render).join('') : escapeHtml(value);
  return new SafeHtml(strings.reduce((out, part, i) => out + part + (i < values.length ? render(values[i]) : ''), ''));
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2433}
main{max-width:26rem;margin:8vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:0 0 1rem}label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input[type=email],input[type=text],input[type=password]{width:100%;padding:.6rem .7rem;border:1px solid #c3c8d2;border-radius:8px;font:inherit}
button{margin-top:1.25rem;width:100%;padding:.7rem;border:0;border-radius:8px;background:#2957d6;color:#fff;font:inherit;font-weight:600;cursor:pointer}
button.secondary{background:#e6e9ef;color:#1d2433;margin-top:.5rem}.error{background:#fdecec;color:#8a1c1c;padding:.6rem .8rem;border-radius:8px}
ul.scopes{padding-left:1.2rem}.muted{color:#5b6474;font-size:.9rem}code{background:#eef0f4;padding:.1rem .3rem;border-radius:4px}
a{color:#2957d6}h2{font-size:1.1rem;margin:1.75rem 0 .5rem}h3{font-size:1rem;margin:0}
ul.apps{list-style:none;padding:0;margin:0}ul.apps li{padding:.75rem 0;border-top:1px solid #e6e9ef}ul.apps p{margin:.2rem 0}
button.danger{width:auto;margin-top:.5rem;padding:.4rem .9rem;background:#fdecec;color:#8a1c1c}.notice{background:#e8f4ec;color:#1b5e20;padding:.6rem .8rem;border-radius:8px}
`;

/** CSP hash of the one inline stylesheet, so pages need no 'unsafe-inline' and load nothing external. */
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

export const PAGE_CSP = `default-src 'none'; style-src ${STYLE_HASH}; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'`;

export function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title}</title><style>${new SafeHtml(STYLE)}</style></head>
<body><main>${body}</main></body></html>`.value;
}
