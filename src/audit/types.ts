/** CONTRACT.md, "Audit event types", plus our own in the same style. */
export const AUDIT_TYPES = [
  'OAuthAuthorize',
  'OAuthTokenIssue',
  'OAuthTokenRefresh',
  'OAuthRevoke',
  'OAuthGrantRevoke',
  'OAuthClientCreate',
  'OAuthClientUpdate',
  'OAuthClientRevoke',
  'OAuthClientSecretRotate',
  'OAuthTokenExchange',
  'OAuthInitialAccessTokenCreate',
  'OAuthLogout',
  'LoginSuccess',
  'LoginFailure',
  'UserCreate',
  'UserUpdate',
  'UserDelete',
  'WorkspaceCreate',
  'WorkspaceUpdate',
  'WorkspaceDelete',
  'ResourceServerCreate',
  'ResourceServerDelete',
  'IntegrationConnect',
  'IntegrationRefresh',
  'IntegrationRefreshFailure',
  'IntegrationDisconnect',
  'MailboxUpdate',
  'WebhookDelivery',
  'WebhookCreate',
  'WebhookDelete',
] as const;

export type AuditType = (typeof AUDIT_TYPES)[number];

export interface AuditEvent {
  type: AuditType;
  outcome?: 'success' | 'failure';
  /** `user:<id>`, `client:<client_id>`, `system`. */
  actor: string;
  workspaceId?: string | null;
  clientId?: string | null;
  accountId?: string | null;
  ip?: string | null;
  requestId?: string | null;
  /** Non-secret context. Keys that name secrets are dropped by the writer whatever their value. */
  details?: Record<string, unknown>;
}
