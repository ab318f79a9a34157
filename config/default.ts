/**
 * Built-in defaults. Environment variables override them (see src/config.ts for the mapping);
 * the merged result is validated once at start. Durations are in seconds.
 */
export const defaults = {
  nodeEnv: 'development',
  port: 3000,
  /** Trust X-Forwarded-* (set when behind a TLS-offloading proxy). */
  trustProxy: false,
  /** Unset: http://localhost:$PORT */
  issuer: undefined as string | undefined,
  dataDir: './data',
  database: {
    /** Unset: embedded PGlite under dataDir. */
    url: undefined as string | undefined,
    /** Postgres schema holding every table (tests use a fresh one per run). */
    schema: 'public',
    poolMax: 10,
  },
  redis: {
    /** Unset: everything lives in the SQL store. A comma list of redis:// URLs means Redis Cluster. */
    url: undefined as string | undefined,
    keyPrefix: 'oauth:',
  },
  /** `kid:base64key,...`; unset outside production: generated once into dataDir. */
  encryptionKeys: undefined as string | undefined,
  bootstrapAdmin: {
    clientId: undefined as string | undefined,
    clientSecret: undefined as string | undefined,
  },
  providersFile: undefined as string | undefined,
  logLevel: 'info',
  ttl: {
    accessToken: 15 * 60,
    clientCredentials: 15 * 60,
    authorizationCode: 60,
    idToken: 60 * 60,
    refreshToken: 7 * 24 * 60 * 60,
    /** Refresh tokens of voice-assistant clients (Alexa, Google). */
    voiceRefreshToken: 365 * 24 * 60 * 60,
    /** A grant outlives its sliding refresh tokens; it caps how long a link lasts without a new login. */
    grant: 365 * 24 * 60 * 60,
    session: 14 * 24 * 60 * 60,
    interaction: 60 * 60,
    pushedAuthorizationRequest: 60,
  },
  /** A consumed refresh token presented again within this many seconds is answered, not treated as reuse. */
  refreshTokenReuseGraceSeconds: 10,
  /** Old signing keys stay published (and verifiable) this long after a rotation. */
  signingKeyOverlapSeconds: 24 * 60 * 60,
  /** Audit events older than this are deleted by the sweeper; 0 keeps them forever. */
  auditRetentionDays: 365,
  /** How often expired rows are swept from the SQL store; 0 disables the in-process sweeper. */
  sweepIntervalSeconds: 15 * 60,
  /** Outside production: create the demo user and demo client at start. */
  seedDemo: true,
  googleLinking: {
    clientId: undefined as string | undefined,
    issuer: 'https://accounts.google.com',
    jwksUri: 'https://www.googleapis.com/oauth2/v3/certs',
  },
  googleRisc: {
    issuer: 'https://accounts.google.com/',
    jwksUri: 'https://www.googleapis.com/oauth2/v3/certs',
  },
  integrations: {
    /** How long a user has to finish linking an account (CONTRACT.md: authorization state, 10 min). */
    stateTtlSeconds: 10 * 60,
    /** Token vending refreshes a token that expires within this margin first. */
    refreshMarginSeconds: 5 * 60,
    /** Refresh linked accounts ahead of expiry in the background (pg-boss with Postgres, in process on PGlite). */
    scheduledRefresh: true,
  },
  metrics: {
    /** Bearer token a Prometheus scrape of GET /metrics must send; unset: /metrics is open (private networks). */
    token: undefined as string | undefined,
  },
  /**
   * Counters in Redis when REDIS_URL is set (shared by every instance), else in process memory. A limit of 0 turns
   * that limit off; `enabled: false` turns them all off. Over a limit: 429 with Retry-After.
   */
  rateLimit: {
    enabled: true,
    login: {
      /** Failed logins in a row for one login name from one IP that lock that pair; a success resets the count. */
      maxFailures: 10,
      lockoutSeconds: 15 * 60,
      /** Failed logins from one IP (any login name) per window; the IP stays locked until the window ends. */
      ipMaxFailures: 100,
      ipWindowSeconds: 24 * 60 * 60,
    },
    token: {
      /**
       * Requests per window to the token, introspection and revocation endpoints per authenticated client. Every
       * Alexa (or Google) user refreshes through one client_id: keep this well above the platform's peak.
       */
      perClient: 1000,
      windowSeconds: 1,
      /** Failed client authentications (401 invalid_client) per IP per window; then every request from it waits. */
      ipMaxFailures: 100,
      ipWindowSeconds: 60,
    },
    admin: {
      /** /admin requests per window per admin client (all its tokens together). */
      perClient: 600,
      windowSeconds: 60,
    },
  },
};
