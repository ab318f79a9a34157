import http from 'node:http';

export interface LogoutDelivery {
  contentType: string | undefined;
  logoutToken: string | null;
}

export interface LogoutReceiver {
  /** The app's `backchannel_logout_uri` (loopback http). */
  url: string;
  deliveries: LogoutDelivery[];
  close(): Promise<void>;
}

/**
 * An app's back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0 §2.5): a real HTTP server on a
 * loopback port that records each POSTed `logout_token` and answers 200.
 */
export async function startLogoutReceiver(): Promise<LogoutReceiver> {
  const deliveries: LogoutDelivery[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      deliveries.push({ contentType: req.headers['content-type'], logoutToken: new URLSearchParams(body).get('logout_token') });
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/backchannel-logout`,
    deliveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
