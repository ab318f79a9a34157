import type { IncomingMessage } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Token kinds counted by the provider observer (./provider.ts). */
export const TOKEN_TYPES = ['access_token', 'client_credentials', 'refresh_token'] as const;
export type TokenType = (typeof TOKEN_TYPES)[number];
export const REFRESH_OUTCOMES = ['success', 'needs_reauth', 'failure'] as const;
export type RefreshOutcome = (typeof REFRESH_OUTCOMES)[number];

/** Prefix of prom-client's default process metrics (`oauth_hub_process_cpu_seconds_total`, …). */
export const DEFAULT_METRICS_PREFIX = 'oauth_hub_';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_class'>;
  httpInFlight: Gauge;
  tokensIssued: Counter<'type'>;
  tokensRefreshed: Counter;
  tokensRevoked: Counter<'type'>;
  integrationRefresh: Counter<'provider' | 'outcome'>;
  /** oidc-provider's route name per request (it runs with its own Koa context): set by ./provider.ts, read by ./http.ts. */
  providerRoutes: WeakMap<IncomingMessage, string>;
}

/**
 * One Prometheus registry per app context (never prom-client's global one), so several instances in one process
 * (tests) keep their own numbers. Names follow https://prometheus.io/docs/practices/naming/.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: DEFAULT_METRICS_PREFIX });
  const registers = [registry];
  const metrics: Metrics = {
    registry,
    providerRoutes: new WeakMap(),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template (or oidc-provider route name) and status class',
      labelNames: ['method', 'route', 'status_class'],
      registers,
    }),
    httpInFlight: new Gauge({ name: 'http_requests_in_flight', help: 'HTTP requests being handled', registers }),
    tokensIssued: new Counter({ name: 'oauth_tokens_issued_total', help: 'Tokens issued by the authorization server, by type', labelNames: ['type'], registers }),
    tokensRefreshed: new Counter({ name: 'oauth_tokens_refreshed_total', help: 'Successful refresh_token grants', registers }),
    tokensRevoked: new Counter({
      name: 'oauth_tokens_revoked_total',
      help: 'Tokens revoked (revocation endpoint, refresh token reuse) by type; type="grant" counts whole grants revoked',
      labelNames: ['type'],
      registers,
    }),
    integrationRefresh: new Counter({
      name: 'integration_refresh_total',
      help: 'Refreshes of linked accounts at their provider, by outcome',
      labelNames: ['provider', 'outcome'],
      registers,
    }),
  };
  // Known series start at 0, so rate() and dashboards see them before the first event.
  for (const type of [...TOKEN_TYPES]) metrics.tokensIssued.inc({ type }, 0);
  for (const type of [...TOKEN_TYPES, 'grant']) metrics.tokensRevoked.inc({ type }, 0);
  metrics.tokensRefreshed.inc(0);
  return metrics;
}
