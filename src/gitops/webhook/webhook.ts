// Git push webhooks: GitHub (X-Hub-Signature-256 HMAC), GitLab (X-Gitlab-Token) and a generic HMAC
// (X-Sluice-Signature-256, same format as GitHub's). A verified push answers 202 at once and asks every matching
// Application for a refresh through its `sluice.dev/refresh` annotation, so the refresh goes through the apiserver:
// any replica may receive the webhook, and the leader acts on it.
//
// verify/parse/match are pure; `handleWebhook` is the thin HTTP shell.
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ReplayGuard } from '../../server/replay.ts';
import { readBody, safeEqual } from '../../server/request.ts';

export const WEBHOOK_MAX_BYTES = 1024 * 1024;

export interface WebhookSecrets {
  github?: string;
  gitlab?: string;
  generic?: string;
}

export interface Push {
  /** Repository URLs the payload names (HTTP(S) forms only; Sluice fetches over HTTPS). */
  urls: string[];
  /** The pushed ref (`refs/heads/main`), when the payload says. */
  ref?: string;
}

export type Verdict = { ok: true; provider: 'github' | 'gitlab' | 'generic' } | { ok: false; status: 400 | 401; reason: string };

const hmac = (secret: string, body: Buffer): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const header = (headers: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Which provider sent this, and is it signed with the configured secret? An unconfigured provider is refused. */
export function verify(headers: Record<string, string | string[] | undefined>, body: Buffer, secrets: WebhookSecrets): Verdict {
  if (header(headers, 'x-github-event') !== undefined) {
    const sig = header(headers, 'x-hub-signature-256');
    if (secrets.github === undefined) return { ok: false, status: 401, reason: 'GitHub webhooks are not configured' };
    if (sig === undefined || !safeEqual(sig, hmac(secrets.github, body))) return { ok: false, status: 401, reason: 'bad or missing X-Hub-Signature-256' };
    return { ok: true, provider: 'github' };
  }
  if (header(headers, 'x-gitlab-event') !== undefined) {
    const token = header(headers, 'x-gitlab-token');
    if (secrets.gitlab === undefined) return { ok: false, status: 401, reason: 'GitLab webhooks are not configured' };
    if (token === undefined || !safeEqual(token, secrets.gitlab)) return { ok: false, status: 401, reason: 'bad or missing X-Gitlab-Token' };
    return { ok: true, provider: 'gitlab' };
  }
  const sig = header(headers, 'x-sluice-signature-256');
  if (secrets.generic === undefined) return { ok: false, status: 401, reason: 'generic webhooks are not configured' };
  if (sig === undefined || !safeEqual(sig, hmac(secrets.generic, body))) return { ok: false, status: 401, reason: 'bad or missing X-Sluice-Signature-256' };
  return { ok: true, provider: 'generic' };
}

const githubPush = z.object({ ref: z.string().optional(), repository: z.object({ clone_url: z.string().optional(), html_url: z.string().optional() }) });
const gitlabPush = z.object({ ref: z.string().optional(), project: z.object({ git_http_url: z.string().optional(), web_url: z.string().optional() }) });
const genericPush = z.object({ repoURL: z.string(), ref: z.string().optional() });

/** The repository and ref a push names; undefined for other events (ping, issues…). */
export function parsePush(provider: 'github' | 'gitlab' | 'generic', payload: unknown): Push | undefined {
  const clean = (xs: (string | undefined)[]): string[] => xs.filter((x): x is string => x !== undefined && /^https?:\/\//.test(x));
  if (provider === 'github') {
    const p = githubPush.safeParse(payload);
    return p.success ? { urls: clean([p.data.repository.clone_url, p.data.repository.html_url]), ref: p.data.ref } : undefined;
  }
  if (provider === 'gitlab') {
    const p = gitlabPush.safeParse(payload);
    return p.success ? { urls: clean([p.data.project.git_http_url, p.data.project.web_url]), ref: p.data.ref } : undefined;
  }
  const p = genericPush.safeParse(payload);
  return p.success ? { urls: clean([p.data.repoURL]), ref: p.data.ref } : undefined;
}

/** `https://User@Host/org/repo.git/` and `https://host/org/repo` are the same repository. */
export function normalizeRepoURL(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host.toLowerCase()}${u.pathname.replace(/\/+$/, '').replace(/\.git$/, '')}`;
  } catch {
    return url;
  }
}

export interface AppRef {
  key: string;
  repoURL: string;
  targetRevision?: string;
}

/**
 * Applications to refresh for a push: same repository, and a targetRevision the push may have moved. A branch
 * name must match the pushed branch; HEAD, tags and SHAs refresh on any push (a cheap ls-remote settles it).
 */
export function matchApplications(apps: AppRef[], push: Push): string[] {
  const urls = new Set(push.urls.map(normalizeRepoURL));
  const branch = push.ref?.startsWith('refs/heads/') === true ? push.ref.slice('refs/heads/'.length) : undefined;
  const keys = apps
    .filter((a) => urls.has(normalizeRepoURL(a.repoURL)))
    .filter((a) => {
      const rev = a.targetRevision ?? '';
      if (branch === undefined || rev === '' || rev === 'HEAD' || /^[0-9a-f]{40}$/.test(rev) || rev.startsWith('refs/tags/')) return true;
      return rev === branch || rev === `refs/heads/${branch}`;
    })
    .map((a) => a.key);
  // An app with several sources of the pushed repository is refreshed once.
  return [...new Set(keys)];
}

/*
 * Replayed deliveries: a signature covers the body only, so a captured request can be sent again, under the same
 * delivery id or a new one. After the signature check, a delivery with a key already accepted (ReplayGuard) is refused
 * with 409; a replay sent to another replica only causes a refresh, which is idempotent.
 */

/**
 * What identifies a delivery: its id header, when the sender sets one, and for GitHub and GitLab its body's digest
 * (their push bodies name the commits, so two real pushes differ). The generic body names only the repository and
 * ref, so the same body is sent again for every push: it is told apart by X-Sluice-Delivery alone (or not at all, and
 * a replay of it is only an idempotent refresh).
 */
export function deliveryKeys(provider: 'github' | 'gitlab' | 'generic', headers: Record<string, string | string[] | undefined>, body: Buffer): string[] {
  const idHeader = { github: 'x-github-delivery', gitlab: 'x-gitlab-event-uuid', generic: 'x-sluice-delivery' }[provider];
  const id = header(headers, idHeader);
  const keys = id === undefined || id === '' ? [] : [`${provider} id ${id}`];
  if (provider !== 'generic') keys.push(`${provider} body ${createHash('sha256').update(body).digest('hex')}`);
  return keys;
}

export interface WebhookDeps {
  secrets: WebhookSecrets;
  /** Refuses replayed deliveries (409) when set. */
  replay?: ReplayGuard;
  apps: () => AppRef[];
  /** Asks one Application (by `<ns>/<name>`) to look at Git now. */
  refresh: (key: string) => Promise<void>;
  maxBytes?: number;
  onError?: (err: unknown) => void;
}

/** POST handler: 413 over the size limit, 401 unsigned, 409 replayed, 202 with the matched apps (refreshes run after answering). */
export async function handleWebhook(req: IncomingMessage, res: ServerResponse, deps: WebhookDeps): Promise<void> {
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' }).end();
    return;
  }
  const body = await readBody(req, res, deps.maxBytes ?? WEBHOOK_MAX_BYTES);
  if (body === undefined) return;
  const verdict = verify(req.headers, body, deps.secrets);
  if (!verdict.ok) {
    res.writeHead(verdict.status, { 'Content-Type': 'text/plain' }).end(`${verdict.reason}\n`);
    return;
  }
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end('body is not JSON\n');
    return;
  }
  if (deps.replay !== undefined && !deps.replay.admit(deliveryKeys(verdict.provider, req.headers, body))) {
    res.writeHead(409, { 'Content-Type': 'text/plain' }).end('delivery already received (replayed)\n');
    return;
  }
  const push = parsePush(verdict.provider, payload);
  const keys = push === undefined ? [] : matchApplications(deps.apps(), push);
  res.writeHead(202, { 'Content-Type': 'application/json' }).end(JSON.stringify({ refreshed: keys }) + '\n');
  for (const key of keys) await deps.refresh(key).catch((err: unknown) => deps.onError?.(err));
}
