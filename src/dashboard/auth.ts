// Who is asking, and as whom the dashboard reads and writes for them.
//  - local (the plugin's `kubectl sluice dashboard`): one viewer, the kubeconfig's user. A random token, printed in
//    the URL once, is exchanged for a session cookie; without it nothing is served (other local users share
//    127.0.0.1). Host must be the loopback address the server is bound to (a DNS-rebinding page cannot use it).
//  - cluster (the operator's dashboard): every viewer brings a Kubernetes bearer token (a login form, or an
//    Authorization header). It is checked with a TokenReview, then every request is sent to the apiserver with
//    that token: the apiserver's own RBAC decides each read and write, exactly as for kubectl with that token,
//    and the dashboard needs no privilege of its own beyond creating TokenReviews (no impersonation right, no
//    shared admin credential). Tokens live only in server memory, never in logs or in the browser after login.
// Writes need the session's CSRF token in a header (X-Sluice-CSRF); cookies are HttpOnly, SameSite=Strict, and
// Secure in cluster mode.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { KubeClient } from '../kube/client.ts';

export const SESSION_COOKIE = 'sluice_session';
export const CSRF_HEADER = 'x-sluice-csrf';
const SESSION_TTL_MS = 8 * 3600_000;
const REVIEW_TTL_MS = 60_000;

export interface Viewer {
  /** Who the apiserver says this is ("kubeconfig user" in local mode). */
  user: string;
  /** Reads and writes as this viewer. */
  client: KubeClient;
  csrf: string;
  /** The session's id when it came by cookie (a write then needs the CSRF header); undefined for a bearer header. */
  sessionId?: string;
}

interface Session {
  user: string;
  client: KubeClient;
  csrf: string;
  expires: number;
}

export const random = (bytes = 32): string => randomBytes(bytes).toString('base64url');

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

const tokenReviewSchema = z.object({
  status: z.object({ authenticated: z.boolean().optional(), user: z.object({ username: z.string().optional() }).optional(), error: z.string().optional() }).optional(),
});

export class TokenRejected extends Error {
  override readonly name = 'TokenRejected';
}

export interface AuthOptions {
  mode: 'local' | 'cluster';
  /** local: the kubeconfig user's client. */
  localClient?: KubeClient;
  /** local: the token in the printed URL. */
  localToken?: string;
  /** cluster: the operator's client, which creates TokenReviews. */
  reviewer?: KubeClient;
  /** cluster: a client that sends this bearer token (and nothing else that authenticates). */
  clientFor?: (token: string) => KubeClient;
  /** Secure on the session cookie (cluster mode behind TLS; off for plain-HTTP tests on loopback). */
  secureCookie?: boolean;
}

export class Auth {
  private readonly sessions = new Map<string, Session>();
  /** TokenReview answers by the token's hash, for a minute: a bearer header on every request is one review a minute. */
  private readonly reviews = new Map<string, { user: string; expires: number }>();
  readonly opts: AuthOptions;

  constructor(opts: AuthOptions) {
    this.opts = opts;
    if (opts.mode === 'local' && (opts.localClient === undefined || opts.localToken === undefined)) throw new Error('local dashboard: localClient and localToken are required');
    if (opts.mode === 'cluster' && (opts.reviewer === undefined || opts.clientFor === undefined)) throw new Error('cluster dashboard: reviewer and clientFor are required');
  }

  /** A new session for a viewer; returns the Set-Cookie value. */
  private open(user: string, client: KubeClient): { id: string; cookie: string; csrf: string } {
    const now = Date.now();
    for (const [k, s] of this.sessions) if (s.expires < now) this.sessions.delete(k);
    const id = random();
    const csrf = random();
    this.sessions.set(id, { user, client, csrf, expires: now + SESSION_TTL_MS });
    const secure = this.opts.secureCookie === true ? '; Secure' : '';
    return { id, csrf, cookie: `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_TTL_MS / 1000}${secure}` };
  }

  /** local mode: the printed URL's token for a session cookie, or undefined when it is not the token. */
  exchangeLocalToken(token: string): string | undefined {
    if (this.opts.mode !== 'local' || this.opts.localToken === undefined || !sameSecret(token, this.opts.localToken)) return undefined;
    return this.open('kubeconfig user', this.opts.localClient as KubeClient).cookie;
  }

  /** The user a token belongs to, by TokenReview; throws TokenRejected when the apiserver does not accept it. */
  async review(token: string): Promise<string> {
    const key = createHash('sha256').update(token).digest('hex');
    const hit = this.reviews.get(key);
    if (hit !== undefined && hit.expires > Date.now()) return hit.user;
    if (token === '' || /\s/.test(token)) throw new TokenRejected('the token is empty or malformed');
    const reviewer = this.opts.reviewer as KubeClient;
    const raw = await reviewer.request<unknown>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    const r = tokenReviewSchema.parse(raw).status;
    if (r?.authenticated !== true) throw new TokenRejected(`the apiserver does not accept this token${r?.error !== undefined ? `: ${r.error}` : ''}`);
    const user = r.user?.username ?? 'unknown';
    if (this.reviews.size > 10_000) this.reviews.clear();
    this.reviews.set(key, { user, expires: Date.now() + REVIEW_TTL_MS });
    return user;
  }

  /** cluster mode: a token from the login form for a session cookie. */
  async login(token: string): Promise<{ cookie: string; user: string }> {
    if (this.opts.mode !== 'cluster') throw new TokenRejected('login is for the in-cluster dashboard');
    const user = await this.review(token);
    const clientFor = this.opts.clientFor as (t: string) => KubeClient;
    return { cookie: this.open(user, clientFor(token)).cookie, user };
  }

  logout(req: IncomingMessage): void {
    const id = cookies(req).get(SESSION_COOKIE);
    if (id !== undefined) this.sessions.delete(id);
  }

  /** The viewer behind a request (session cookie, or in cluster mode a bearer header), or undefined. */
  async viewer(req: IncomingMessage): Promise<Viewer | undefined> {
    const id = cookies(req).get(SESSION_COOKIE);
    const s = id === undefined ? undefined : this.sessions.get(id);
    if (id !== undefined && s !== undefined && s.expires > Date.now()) return { user: s.user, client: s.client, csrf: s.csrf, sessionId: id };
    const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (this.opts.mode === 'cluster' && bearer !== undefined) {
      const user = await this.review(bearer);
      return { user, client: (this.opts.clientFor as (t: string) => KubeClient)(bearer), csrf: '' };
    }
    return undefined;
  }

  /** A write from a cookie session must carry the session's CSRF token (a bearer header is not sent by browsers on
   * their own, so it needs none). */
  csrfOk(req: IncomingMessage, v: Viewer): boolean {
    if (v.sessionId === undefined) return true;
    const h = req.headers[CSRF_HEADER];
    return typeof h === 'string' && sameSecret(h, v.csrf);
  }
}
