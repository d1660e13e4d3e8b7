// The dashboard's HTTP server, one implementation for the plugin (`kubectl sluice dashboard`, local mode) and the
// operator (in-cluster mode): the page, its assets, the live streams, the buttons. Who may do what is auth.ts's and
// the apiserver's business; this file routes, sets the security headers, and never logs a token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from '../log/logger.ts';
import { APP_ACTIONS, diffCommand, ROLLOUT_ACTIONS, runVerb } from './actions.ts';
import type { Assets } from './assets.ts';
import { Auth, CSRF_HEADER, random, TokenRejected, type AuthOptions, type Viewer } from './auth.ts';
import type { KubeClient } from '../kube/client.ts';
import { WeightHistory } from './history.ts';
import { forward, isWrite, type Upstream } from './remote.ts';
import { appStream, overviewStream, problemOf, rolloutStream, Sse } from './streams.ts';

export interface DashboardOptions {
  auth: AuthOptions;
  assets: Assets;
  log: Logger;
  /** No writes: every button answers 403. */
  readOnly?: boolean;
  /** local mode only: every API request goes on to this in-cluster dashboard with the user's token (--remote). */
  upstream?: Upstream;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const INDEX = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark light">
<title>Sluice</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body><div id="app"><noscript>The Sluice dashboard needs JavaScript.</noscript></div></body>
</html>
`;

const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function send(res: ServerResponse, status: number, body: string | object, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-store', ...headers }).end(text);
}

async function readBody(req: IncomingMessage, max = 64 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) throw new Error('request body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const loginSchema = z.object({ token: z.string().min(1).max(16_384) });

export function dashboardHandler(o: DashboardOptions): { handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>; auth: Auth; history: WeightHistory } {
  const auth = new Auth(o.auth);
  const history = new WeightHistory();

  async function api(req: IncomingMessage, res: ServerResponse, url: URL, v: Viewer): Promise<void> {
    const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
    const ctx = { client: v.client, log: o.log, history };
    const nsName = (i: number): [string, string] | undefined => {
      const [ns, name] = [parts[i], parts[i + 1]];
      return ns !== undefined && name !== undefined && DNS_NAME.test(ns) && DNS_NAME.test(name) ? [ns, name] : undefined;
    };
    if (req.method === 'GET' && url.pathname === '/api/session') return send(res, 200, { user: v.user, csrf: v.csrf, mode: o.auth.mode, readOnly: o.readOnly === true });
    if (req.method === 'GET' && parts[1] === 'stream') {
      const sse = new Sse(res);
      if (parts[2] === 'overview') {
        const ns = url.searchParams.get('namespace') ?? '';
        if (ns !== '' && !DNS_NAME.test(ns)) return sse.send('problem', { status: 400, message: `"${ns}" is not a namespace name`, fatal: true });
        return overviewStream(sse, ctx, ns === '' ? undefined : ns);
      }
      const id = nsName(3);
      if (id === undefined) return sse.send('problem', { status: 400, message: 'the address names no valid namespace and name', fatal: true });
      if (parts[2] === 'rollout') return rolloutStream(sse, ctx, ...id);
      if (parts[2] === 'app') return appStream(sse, ctx, ...id);
      return sse.send('problem', { status: 404, message: 'no such stream', fatal: true });
    }
    const id = nsName(2);
    if (req.method === 'GET' && parts[1] === 'app' && parts[4] === 'diff' && id !== undefined) {
      const r = await runVerb(diffCommand, v.client, ...id, url.searchParams.get('prune') === 'true' ? ['--prune'] : [], AbortSignal.timeout(60_000), 'json');
      return r.status === 200 ? send(res, 200, r.out, { 'Content-Type': 'application/json' }) : send(res, r.status, { message: r.message });
    }
    if (req.method === 'POST' && (parts[1] === 'rollout' || parts[1] === 'app') && id !== undefined && parts[4] !== undefined) {
      if (!auth.csrfOk(req, v)) return send(res, 403, { message: `refused: missing or wrong ${CSRF_HEADER} header` });
      if (o.readOnly === true) return send(res, 403, { message: 'this dashboard is read-only' });
      const action = (parts[1] === 'rollout' ? ROLLOUT_ACTIONS : APP_ACTIONS)[parts[4]];
      if (action === undefined) return send(res, 404, { message: `no action "${parts[4]}"` });
      const r = await runVerb(action.command, v.client, ...id, action.args(url.searchParams), AbortSignal.timeout(30_000));
      // Who did what, never with what credential.
      o.log.info({ user: v.user, action: `${parts[1]} ${parts[4]}`, namespace: id[0], name: id[1], status: r.status }, 'dashboard action');
      return send(res, r.status, { message: r.status === 403 ? `forbidden: ${r.message}` : r.message });
    }
    return send(res, 404, { message: 'not found' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    if (url.pathname === '/healthz') return send(res, 200, 'ok\n');
    if (url.pathname === '/favicon.ico') return send(res, 204, '');
    if (req.method === 'GET' && url.pathname === '/assets/app.js') return send(res, 200, o.assets.js, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' });
    if (req.method === 'GET' && url.pathname === '/assets/app.css') return send(res, 200, o.assets.css, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'no-cache' });
    if (req.method === 'GET' && url.pathname === '/') {
      const token = url.searchParams.get('token');
      if (token !== null && o.auth.mode === 'local') {
        const cookie = auth.exchangeLocalToken(token);
        if (cookie === undefined) return send(res, 401, 'This link\'s token is not this dashboard\'s: open the address "kubectl sluice dashboard" printed.\n');
        // The token leaves the address bar (and the history) at once.
        return send(res, 303, '', { 'Set-Cookie': cookie, Location: '/' });
      }
      return send(res, 200, INDEX, { 'Content-Type': 'text/html; charset=utf-8' });
    }
    if (req.method === 'POST' && url.pathname === '/api/login') {
      // JSON only: a cross-site form cannot send it without a preflight this server never answers.
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return send(res, 415, { message: 'send the token as JSON' });
      const body = loginSchema.safeParse(JSON.parse((await readBody(req)) || '{}'));
      if (!body.success) return send(res, 400, { message: 'token: a Kubernetes bearer token is required' });
      try {
        const { cookie, user } = await auth.login(body.data.token);
        o.log.info({ user }, 'dashboard login');
        return send(res, 200, { user }, { 'Set-Cookie': cookie });
      } catch (err) {
        if (err instanceof TokenRejected) return send(res, 401, { message: err.message });
        return send(res, 503, { message: problemOf(err, 'the token review').message });
      }
    }
    if (!url.pathname.startsWith('/api/')) return send(res, 404, 'not found\n');
    let v: Viewer | undefined;
    try {
      v = await auth.viewer(req);
    } catch (err) {
      if (err instanceof TokenRejected) return send(res, 401, { message: err.message });
      return send(res, 503, { message: problemOf(err, 'the token review').message });
    }
    if (v === undefined) return send(res, 401, { message: o.auth.mode === 'local' ? 'open the address "kubectl sluice dashboard" printed (it carries this run\'s token)' : 'log in with a Kubernetes token' });
    if (req.method === 'POST' && url.pathname === '/api/logout') {
      auth.logout(req);
      return send(res, 200, {}, { 'Set-Cookie': 'sluice_session=; Max-Age=0; Path=/' });
    }
    if (o.upstream !== undefined) {
      if (isWrite(req.method) && !auth.csrfOk(req, v)) return send(res, 403, { message: `refused: missing or wrong ${CSRF_HEADER} header` });
      if (isWrite(req.method) && o.readOnly === true) return send(res, 403, { message: 'this dashboard is read-only' });
      return forward(o.upstream, req, res, v, SECURITY_HEADERS);
    }
    try {
      await api(req, res, url, v);
    } finally {
      // A stream that ended on its own (a fatal problem) is closed here; everything else has ended already.
      if (!res.writableEnded) res.end();
    }
  }
  return { handle, auth, history };
}

export interface RunningDashboard {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0: any free one). In local mode only loopback Host headers are served. */
export function startDashboard(o: DashboardOptions & { host: string; port: number }): Promise<RunningDashboard> {
  const { handle } = dashboardHandler(o);
  let port = o.port;
  const server = createServer((req, res) => {
    if (o.auth.mode === 'local') {
      // A page from another site that rebinds its name to 127.0.0.1 sends its own Host: refused.
      const host = req.headers.host ?? '';
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}` && host !== `[::1]:${port}`) return send(res, 421, 'wrong Host for this dashboard\n');
    }
    handle(req, res).catch((err: unknown) => {
      o.log.error({ err: err instanceof Error ? err.message : String(err), path: (req.url ?? '').split('?')[0] }, 'dashboard request failed');
      if (!res.headersSent) send(res, 500, { message: 'internal error' });
      else res.end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      const addr = server.address();
      port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
      const host = o.host.includes(':') ? `[${o.host}]` : o.host;
      resolve({
        server,
        port,
        url: `http://${host}:${port}/`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** The local mode (the plugin, the demo): 127.0.0.1, one viewer with `client`'s credentials, a fresh token in the
 * returned address. `port` 0 picks a free one. */
export async function startLocalDashboard(client: KubeClient, o: { port: number; readOnly?: boolean; log: Logger; upstream?: Upstream }): Promise<RunningDashboard & { address: string }> {
  const { loadAssets } = await import('./assets.ts');
  const token = random();
  const upstream = o.upstream !== undefined ? { upstream: o.upstream } : {};
  const running = await startDashboard({ host: '127.0.0.1', port: o.port, assets: await loadAssets(), log: o.log, readOnly: o.readOnly === true, auth: { mode: 'local', localClient: client, localToken: token }, ...upstream });
  return { ...running, address: `${running.url}?token=${token}` };
}
