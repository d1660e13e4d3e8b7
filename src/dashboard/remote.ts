// `kubectl sluice dashboard --remote URL`: the in-cluster dashboard through a local address, carrying the kubeconfig
// user's bearer token on every request (as `kubectl proxy` carries credentials to the apiserver). The browser talks
// only to 127.0.0.1 with the local mode's protections (a token in the printed address exchanged for a cookie, Host
// checks, CSRF on writes); the token goes only to the remote dashboard, never into the browser, a URL or a log. The
// remote dashboard checks it with a TokenReview and acts with it, so the user's own RBAC decides, as in its login page.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Viewer } from './auth.ts';

export class RemoteDashboardError extends Error {
  override readonly name = 'RemoteDashboardError';
}

export interface Upstream {
  /** The remote dashboard's address (under a path when an ingress serves it under one). */
  base: URL;
  token: string;
}

const loopback = (host: string): boolean => {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
};

/** Checks the --remote address: https, or plain http to a loopback address only (a token must not cross a network in clear). */
export function parseRemote(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new RemoteDashboardError(`--remote: "${raw}" is not a URL (https://sluice.example.com)`);
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback(u.hostname))) {
    throw new RemoteDashboardError(`--remote: ${u.protocol}// would send your token in clear; use https:// (plain http only to a loopback address)`);
  }
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '') throw new RemoteDashboardError('--remote: give the dashboard\'s address only (no credentials, query or fragment)');
  return u;
}

/** The bearer token of an `Authorization` header the kubeconfig produced; client certificates cannot be forwarded. */
export function bearerOf(authorization: string | undefined): string {
  const token = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
  if (token === undefined) {
    throw new RemoteDashboardError('--remote needs a bearer token from your kubeconfig user (a token, a token file or an exec plugin); client certificates and basic auth cannot be forwarded to a dashboard: try a context whose user has a token (kubectl create token NAME gives one)');
  }
  return token;
}

// Hop-by-hop and credential headers never pass the proxy, in either direction.
const REQUEST_HEADERS = ['accept', 'content-type', 'content-length', 'last-event-id'];
const RESPONSE_HEADERS = ['content-type', 'cache-control', 'content-length'];

/**
 * Sends an authenticated local request on to the remote dashboard and streams the answer back (the live views are
 * server-sent events: piped as they come). Writes were checked against the local session's CSRF token already.
 * `/api/session` is rewritten so the page uses the local session's CSRF token.
 */
export function forward(up: Upstream, req: IncomingMessage, res: ServerResponse, v: Viewer, security: Record<string, string>): Promise<void> {
  // The remote may live under a path (an ingress prefix); the local request's path is appended to it as is.
  const target = new URL(up.base.origin + up.base.pathname.replace(/\/+$/, '') + (req.url ?? '/'));
  const headers: Record<string, string> = { authorization: `Bearer ${up.token}` };
  for (const h of REQUEST_HEADERS) {
    const value = req.headers[h];
    if (typeof value === 'string') headers[h] = value;
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const out = send(target, { method: req.method, headers, timeout: 30_000 }, (remote) => {
      const pass: Record<string, string> = { ...security };
      for (const h of RESPONSE_HEADERS) {
        const value = remote.headers[h];
        if (typeof value === 'string') pass[h] = value;
      }
      if (req.method === 'GET' && target.pathname.endsWith('/api/session') && remote.statusCode === 200) {
        const chunks: Buffer[] = [];
        remote.on('data', (c: Buffer) => chunks.push(c));
        remote.on('end', () => {
          let body: Record<string, unknown> = {};
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            // an answer that is not JSON: the page reports a broken session
          }
          const text = JSON.stringify({ ...body, csrf: v.csrf, mode: 'remote', remote: up.base.origin });
          res.writeHead(200, { ...pass, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }).end(text);
          resolve();
        });
        return;
      }
      res.writeHead(remote.statusCode ?? 502, pass);
      remote.pipe(res);
      remote.on('end', () => resolve());
      remote.on('error', () => resolve());
      // The browser left (a stream closed): stop reading from the remote too.
      res.on('close', () => remote.destroy());
    });
    out.on('timeout', () => out.destroy(new Error('the remote dashboard did not answer within 30 s')));
    out.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { ...security, 'content-type': 'application/json' }).end(JSON.stringify({ message: `the remote dashboard ${up.base.origin} cannot be reached: ${err.message}` }));
      else res.end();
      resolve();
    });
    // The stream's own keep-alive has no end: a response without a timeout once it is flowing.
    out.on('response', () => out.setTimeout(0));
    req.pipe(out);
  });
}

/** A request that changes something: it must carry the local session's CSRF token before it is forwarded. */
export const isWrite = (method: string | undefined): boolean => method !== 'GET' && method !== 'HEAD';
