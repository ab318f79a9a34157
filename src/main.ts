import http from 'node:http';
import { ConfigError, loadConfig } from './config.js';
import { createContext } from './context.js';
import { createApp } from './app.js';
import { trackForGracefulClose } from './http/graceful-close.js';
import { DEMO } from '../seeds/index.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const context = await createContext(config);
  const { logger } = context;
  const server = http.createServer(createApp(context).callback());
  server.keepAliveTimeout = 65_000;
  const graceful = trackForGracefulClose(server);
  await new Promise<void>((resolve) => server.listen(config.port, resolve));

  const lines = [
    `oauth-hub is listening on port ${config.port}`,
    `  issuer:     ${config.issuer}`,
    `  discovery:  ${config.issuer}/.well-known/openid-configuration`,
    `  store:      ${context.database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}/pgdata` : 'Postgres'}${context.redis ? ' + Redis' : ' (no Redis)'}`,
    config.bootstrapAdmin.clientId
      ? `  admin token: curl -u ${config.bootstrapAdmin.clientId}:$BOOTSTRAP_ADMIN_CLIENT_SECRET -d grant_type=client_credentials -d scope=admin ${config.issuer}/token`
      : `  admin token: npm run cli -- admin:create${context.database.kind === 'pglite' ? ' with this server stopped (the embedded store is one process\'s)' : ''} or set BOOTSTRAP_ADMIN_CLIENT_ID/_SECRET, then POST grant_type=client_credentials&scope=admin to /token (README: "Get an admin token")`,
    ...(config.seedDemo ? [`  demo:       user ${DEMO.email} / ${DEMO.password}, public client "${DEMO.clientId}" (redirect ${DEMO.redirectUri})`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // Stop accepting, let in-flight requests finish (10 s at most), then stop the queue and close the stores.
    try {
      await graceful.close(10_000);
      await context.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error('shutdown failed', { error: (error as Error)?.message });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `start failed: ${(error as Error)?.message ?? error}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
