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
const PUSH = { github: githubPush, gitlab: gitlabPush, generic: genericPush } as const;

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

/**
 * Where JSON.parse first fails on `text`, for the messages in which V8 leaves the position out (a bad token is quoted
 * with a few characters around it; a body cut short says only "Unexpected end"). The shortest failing prefix, by
 * bisection: a prefix before the error is either valid or merely incomplete (an error at its very end).
 */
export function jsonErrorPosition(text: string): number {
  const failsWithin = (k: number): boolean => {
    try {
      JSON.parse(text.slice(0, k));
      return false;
    } catch (err) {
      const m = err instanceof Error ? err.message : '';
      if (m.startsWith('Unexpected end of JSON input')) return false;
      const at = /position (\d+)/.exec(m);
      return at === null || Number(at[1]) < k;
    }
  };
  if (!failsWithin(text.length)) return text.length;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsWithin(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}

/** The delivery says it is a push: the generic endpoint takes nothing else; GitHub and GitLab name the event in a header. */
function claimsPush(provider: 'github' | 'gitlab' | 'generic', headers: Record<string, string | string[] | undefined>): boolean {
  if (provider === 'github') return header(headers, 'x-github-event') === 'push';
  if (provider === 'gitlab') return ['Push Hook', 'Tag Push Hook'].includes(header(headers, 'x-gitlab-event') ?? '');
  return true;
}

/**
 * A verified body read as a delivery: a push, another event (ping: nothing to do), or a refusal (400) naming where the
 * body is wrong: the position of a JSON syntax error, or the field of a push payload that is missing or mistyped.
 * A push that cannot be read used to be answered 202 with nothing refreshed, which left the sender's mistake unseen.
 */
export function readDelivery(provider: 'github' | 'gitlab' | 'generic', headers: Record<string, string | string[] | undefined>, body: Buffer): { ok: true; push: Push | undefined } | { ok: false; reason: string } {
  const text = body.toString('utf8');
  if (text.trim() === '') return { ok: false, reason: 'body is empty: a JSON push payload was expected' };
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    const m = err instanceof Error ? err.message : String(err);
    return { ok: false, reason: `body is not JSON: ${m}${/position \d+/.test(m) ? '' : ` (at position ${jsonErrorPosition(text)})`}` };
  }
  const push = parsePush(provider, payload);
  if (push !== undefined || !claimsPush(provider, headers)) return { ok: true, push };
  const issue = PUSH[provider].safeParse(payload).error?.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? 'the body' : issue.path.map(String).join('.');
  return { ok: false, reason: `not a ${provider} push payload: ${field}: ${issue?.message ?? 'unreadable'}` };
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

/** POST handler: 413 over the size limit, 401 unsigned, 400 unreadable (naming where), 409 replayed, 202 with the matched apps (refreshes run after answering). */
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
  const delivery = readDelivery(verdict.provider, req.headers, body);
  if (!delivery.ok) {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`${delivery.reason}\n`);
    return;
  }
  if (deps.replay !== undefined && !deps.replay.admit(deliveryKeys(verdict.provider, req.headers, body))) {
    res.writeHead(409, { 'Content-Type': 'text/plain' }).end('delivery already received (replayed)\n');
    return;
  }
  const keys = delivery.push === undefined ? [] : matchApplications(deps.apps(), delivery.push);
  res.writeHead(202, { 'Content-Type': 'application/json' }).end(JSON.stringify({ refreshed: keys }) + '\n');
  for (const key of keys) await deps.refresh(key).catch((err: unknown) => deps.onError?.(err));
}
