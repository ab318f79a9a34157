import type http from 'node:http';

/**
 * A graceful `server.close()`: stop accepting connections, let the requests in flight finish, and close keep-alive
 * connections as soon as they are idle. Node's `server.close()` alone closes only the connections idle at that
 * moment; a connection whose response is still running would answer `Connection: keep-alive` and then stay open
 * until `keepAliveTimeout`. So every response from the moment of closing says `Connection: close` (RFC 9112 §9.6)
 * and each finished response closes what is idle. What has not finished after `graceMs` is cut.
 * Call `trackForGracefulClose` before `listen`.
 */
export function trackForGracefulClose(server: http.Server): { close(graceMs: number): Promise<void> } {
  const active = new Set<http.ServerResponse>();
  let closing = false;
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    active.add(res);
    if (closing && !res.headersSent) res.setHeader('Connection', 'close');
    res.once('close', () => {
      active.delete(res);
      if (closing) server.closeIdleConnections();
    });
  });

  return {
    async close(graceMs) {
      closing = true;
      for (const res of active) if (!res.headersSent) res.setHeader('Connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const forced = setTimeout(() => server.closeAllConnections(), graceMs).unref();
      await closed;
      clearTimeout(forced);
    },
  };
}
