import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface ProbeServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Liveness: the process can still do work (its event loop answers). */
  healthy: () => boolean;
  /** Readiness: caches synced; a standby replica that does not lead is ready too. */
  ready: () => boolean;
  /** POST /api/webhook: Git push webhooks (GitHub, GitLab, generic HMAC) that refresh Applications at once. */
  webhook?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** POST /api/approve: signed approvals of paused Rollouts (src/approval). */
  approve?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /**
   * A client must send its headers within `headersTimeoutMs` and its whole request within `requestTimeoutMs`, or the
   * connection is closed (408): a slow sender (slowloris, a webhook body at a byte a second) cannot hold sockets for
   * Node's defaults of 60 s and 300 s. Checked every `checkIntervalMs`. Defaults: 10 s, 30 s, 1 s.
   */
  timeouts?: { headersTimeoutMs?: number; requestTimeoutMs?: number; checkIntervalMs?: number };
}

/** /metrics (Prometheus text), /healthz, /readyz, and the Git webhook route. */
export function startProbeServer(o: ProbeServerOptions): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/api/webhook' && o.webhook !== undefined) return o.webhook(req, res);
    if (path === '/api/approve' && o.approve !== undefined) return o.approve(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'Content-Type': o.registry.contentType }).end(await o.registry.metrics());
    } else if (path === '/healthz' || path === '/livez') {
      const ok = o.healthy();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok\n' : 'unhealthy\n');
    } else if (path === '/readyz') {
      const ok = o.ready();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok\n' : 'caches not synced\n');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    }
  };
  const t = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, checkIntervalMs: 1_000, ...o.timeouts };
  const server = createServer({ headersTimeout: t.headersTimeoutMs, requestTimeout: t.requestTimeoutMs, connectionsCheckingInterval: t.checkIntervalMs }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
      resolve({ server, port, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}
