import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Metrics, TokenType } from './registry.js';

/** oidc-provider model kinds (snake_case, as its events name them) → `type` label. */
const TOKEN_MODELS: Record<string, TokenType> = {
  access_token: 'access_token',
  client_credentials: 'client_credentials',
  refresh_token: 'refresh_token',
};

/**
 * Token counters from oidc-provider's events (https://github.com/panva/node-oidc-provider/blob/main/docs/events.md):
 * a model emits `<kind>.saved` (opaque) or `<kind>.issued` (JWT) when a token is minted and `<kind>.destroyed` when
 * it is revoked (revocation endpoint, refresh token reuse); `grant.revoked` (the provider's own cascade) and
 * `grant.destroyed` (ours: account, admin, deleted client) count whole grants. Also notes the provider's route
 * name for each request, for the HTTP histogram's `route` label (./http.ts).
 */
export function observeProvider(provider: Provider, metrics: Metrics): void {
  const emitter = provider as unknown as NodeJS.EventEmitter;
  for (const [kind, type] of Object.entries(TOKEN_MODELS)) {
    emitter.on(`${kind}.saved`, () => metrics.tokensIssued.inc({ type }));
    emitter.on(`${kind}.issued`, () => metrics.tokensIssued.inc({ type }));
    emitter.on(`${kind}.destroyed`, () => metrics.tokensRevoked.inc({ type }));
  }
  emitter.on('grant.revoked', () => metrics.tokensRevoked.inc({ type: 'grant' }));
  emitter.on('grant.destroyed', () => metrics.tokensRevoked.inc({ type: 'grant' }));
  emitter.on('grant.success', (ctx: KoaContextWithOIDC) => {
    if (ctx.oidc?.params?.grant_type === 'refresh_token') metrics.tokensRefreshed.inc();
  });

  provider.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      const route = (ctx as KoaContextWithOIDC).oidc?.route;
      if (route) metrics.providerRoutes.set(ctx.req, route);
    }
  });
}
