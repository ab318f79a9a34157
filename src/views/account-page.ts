import type { GrantView } from '../grants/service.js';
import type { ConnectionView } from '../integrations/connection-view.js';
import { html, layout } from './html.js';

export interface AccountPageView {
  email: string;
  apps: GrantView[];
  /** The session-bound CSRF token every revoke form carries. */
  csrf: string;
  /** Set after a revoke: a confirmation that needs no server-side flash state. */
  revoked: boolean;
  signOutUrl: string;
  /** The user's own linked external accounts (Integrations). */
  linked: ConnectionView[];
  /** Set after a disconnect. */
  disconnected: boolean;
}

const DATE = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

const when = (iso: string) => html`<time datetime="${iso}">${DATE.format(new Date(iso))} UTC</time>`;

const revokeAction = (grantId: string) => `/account/grants/${encodeURIComponent(grantId)}/revoke`;

function appItem(app: GrantView, csrf: string) {
  return html`<li>
  <h3>${app.client_name}</h3>
  <p class="muted">${app.scopes.length ? app.scopes.map((scope) => html`<code>${scope}</code> `) : 'No scopes'}</p>
  <p class="muted">Authorized ${when(app.created_at)} · Last used ${app.last_used_at ? when(app.last_used_at) : 'never'}</p>
  <form method="post" action="${revokeAction(app.grant_id)}">
    <input type="hidden" name="csrf" value="${csrf}">
    <button type="submit" class="danger" aria-label="Revoke access for ${app.client_name}">Revoke</button>
  </form>
</li>`;
}

const STATUS_LABEL: Record<ConnectionView['status'], string> = { active: 'Connected', needs_reauth: 'Needs to be connected again', revoked: 'Disconnected' };

const disconnectAction = (id: string) => `/account/connections/${encodeURIComponent(id)}/disconnect`;

function linkedItem(connection: ConnectionView, csrf: string) {
  const label = `${connection.provider}${connection.purpose === 'default' ? '' : ` (${connection.purpose})`}`;
  return html`<li>
  <h3>${label}</h3>
  <p class="muted">${connection.identity.email ?? connection.identity.subject ?? 'Unknown account'} · <strong class="status-${connection.status}">${STATUS_LABEL[connection.status]}</strong></p>
  <p class="muted">Connected ${connection.connected_at ? when(connection.connected_at) : '—'}${connection.health.last_error ? html` · Last error: ${connection.health.last_error}` : ''}</p>
  ${connection.status === 'revoked'
    ? ''
    : html`<form method="post" action="${disconnectAction(connection.id)}">
    <input type="hidden" name="csrf" value="${csrf}">
    <button type="submit" class="danger" aria-label="Disconnect ${label}">Disconnect</button>
  </form>`}
</li>`;
}

/** The account page: one form per app and per linked account (works without JavaScript). */
export function accountPage(view: AccountPageView): string {
  return layout(
    'Your account',
    html`<h1>Your account</h1>
<p class="muted">Signed in as <strong>${view.email}</strong> · <a href="${view.signOutUrl}">Sign out</a></p>
${view.revoked ? html`<p class="notice" role="status">Access removed. That app can no longer use your account.</p>` : ''}
${view.disconnected ? html`<p class="notice" role="status">Account disconnected. Its tokens were deleted and revoked at the provider where possible.</p>` : ''}
<section aria-labelledby="apps-heading">
  <h2 id="apps-heading">Apps with access</h2>
  ${view.apps.length
    ? html`<ul class="apps">${view.apps.map((app) => appItem(app, view.csrf))}</ul>`
    : html`<p class="muted">No apps have access to your account.</p>`}
</section>
<section aria-labelledby="linked-heading">
  <h2 id="linked-heading">Linked accounts</h2>
  ${view.linked.length
    ? html`<ul class="apps">${view.linked.map((connection) => linkedItem(connection, view.csrf))}</ul>`
    : html`<p class="muted">No linked accounts yet. Accounts you connect (Google, Microsoft, Notion, …) will appear here.</p>`}
</section>`,
  );
}
