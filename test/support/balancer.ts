import http from 'node:http';

/**
 * A test load balancer on a loopback port: every request goes to the backend the test picked with `use()`, so a
 * flow can be made to cross instances step by step. The instances share its URL as their issuer, as instances
 * behind a real balancer share the public one. `served` counts requests per backend.
 */
export interface Balancer {
  url: string;
  /** The backends' URLs, in the order `use()` refers to them. */
  backends: string[];
  use(index: number): void;
  served: number[];
  close(): Promise<void>;
}

export async function startBalancer(): Promise<Balancer> {
  let current = 0;
  const balancer = { backends: [] as string[], served: [] as number[] };
  const server = http.createServer((req, res) => {
    const target = balancer.backends[current];
    if (!target) {
      res.writeHead(502).end();
      return;
    }
    balancer.served[current] = (balancer.served[current] ?? 0) + 1;
    const { hostname, port } = new URL(target);
    // The Host header stays the balancer's, as a real one would pass it.
    const upstream = http.request({ host: hostname, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get backends() {
      return balancer.backends;
    },
    set backends(urls: string[]) {
      balancer.backends = urls;
      balancer.served = urls.map(() => 0);
    },
    get served() {
      return balancer.served;
    },
    use(index: number) {
      if (!balancer.backends[index]) throw new Error(`no backend ${index}`);
      current = index;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
