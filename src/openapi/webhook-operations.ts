import { pageQuery } from '../http/pagination.js';
import { invalidRequest, type OperationSpec } from './requests.js';

/** Outbound webhooks of a workspace: subscriptions and their delivery log (src/admin/webhooks.ts). */
export const webhookOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/admin/workspaces/{id}/webhooks',
    operationId: 'createWebhook',
    tag: 'Workspaces',
    summary: 'Subscribe a URL to the workspace’s connection lifecycle events',
    description:
      'Each event is POSTed as JSON `{ "type", "timestamp", "data" }` (`data`: the connection as `GET /integrations` ' +
      'shows it, never a token), signed the Standard Webhooks way: headers `webhook-id` (the delivery id, the same on ' +
      'every retry), `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 over ' +
      '`<webhook-id>.<webhook-timestamp>.<body>`, keyed with the secret returned here once). A 2xx answer delivers it; ' +
      'anything else (redirects included, not followed) is retried with doubling delays, then the delivery is `failed`.',
    audience: 'admin',
    body: 'CreateWebhookRequest',
    success: { status: 201, description: 'The subscription, and its signing secret once.', schema: 'WebhookWithSecret' },
    badRequest: invalidRequest('A bad `url` or `events`, or a malformed body.'),
    notFound: 'No such workspace.',
  },
  {
    method: 'get',
    path: '/admin/workspaces/{id}/webhooks',
    operationId: 'listWebhooks',
    tag: 'Workspaces',
    summary: 'List the workspace’s webhook subscriptions (never their secrets)',
    audience: 'admin',
    query: pageQuery,
    success: { status: 200, description: 'One page of subscriptions, by id.', schema: 'WebhookList' },
    badRequest: invalidRequest('A bad `limit` or `cursor`.'),
    notFound: 'No such workspace.',
  },
  {
    method: 'delete',
    path: '/admin/workspaces/{id}/webhooks/{webhookId}',
    operationId: 'deleteWebhook',
    tag: 'Workspaces',
    summary: 'Delete a webhook subscription and its delivery log',
    audience: 'admin',
    success: { status: 204, description: 'Deleted; nothing more is sent to it.' },
    notFound: 'No such workspace, or no such subscription in it.',
  },
  {
    method: 'get',
    path: '/admin/workspaces/{id}/webhooks/{webhookId}/deliveries',
    operationId: 'listWebhookDeliveries',
    tag: 'Workspaces',
    summary: 'A subscription’s delivery log, newest first',
    description: 'Each delivery’s status, attempts and last outcome; not its payload.',
    audience: 'admin',
    query: pageQuery,
    success: { status: 200, description: 'One page of deliveries, newest first.', schema: 'WebhookDeliveryList' },
    badRequest: invalidRequest('A bad `limit` or `cursor`.'),
    notFound: 'No such workspace, or no such subscription in it.',
  },
];
