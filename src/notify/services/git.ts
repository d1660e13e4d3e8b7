// Commit statuses on GitHub and GitLab. The template's `github`/`gitlab` section names the repository and revision
// (`repoURLPath`, `revisionPath`, rendered like everything else) and the status (state, label, targetURL).
import { z } from 'zod';
import { httpSend } from './http.ts';
import { DeliveryError, field, type NotificationService, type Rendered } from './port.ts';

export const githubSettings = z.object({ token: z.string().min(1), apiURL: z.string().optional(), enterpriseBaseURL: z.string().optional() });
export const gitlabSettings = z.object({ token: z.string().min(1), apiURL: z.string().optional() });

/** `https://host/owner/repo(.git)` or `git@host:owner/repo.git` → `owner/repo` (GitLab: the full group path). */
export function repoPath(url: string): string {
  const m = /^(?:[a-z+]+:\/\/[^/]+\/|[^@]+@[^:]+:)(.+?)(?:\.git)?\/?$/.exec(url.trim());
  if (m?.[1] === undefined) throw new DeliveryError(`cannot find a repository path in "${url}"`, false);
  return m[1];
}

function target(n: Rendered, section: string): { repo: string; sha: string; state: string; label: string; url?: string; description?: string } | undefined {
  if (typeof n[section] !== 'object' || n[section] === null) return undefined;
  const repo = field(n, section, 'repoURLPath');
  const sha = field(n, section, 'revisionPath');
  const state = field(n, section, 'status', 'state');
  if (repo === undefined || sha === undefined || state === undefined) throw new DeliveryError(`${section}: repoURLPath, revisionPath and status.state must render to values`, false);
  if (!/^[0-9a-f]{7,64}$/i.test(sha.trim())) throw new DeliveryError(`${section}: revisionPath rendered "${sha.slice(0, 80)}", not a commit SHA`, false);
  return { repo: repoPath(repo), sha: sha.trim(), state: state.trim(), label: field(n, section, 'status', 'label') ?? 'sluice', url: field(n, section, 'status', 'targetURL'), description: field(n, section, 'message') ?? field(n, 'message')?.slice(0, 140) };
}

const GITHUB_STATES = new Set(['pending', 'success', 'failure', 'error']);

export function githubService(s: z.infer<typeof githubSettings>): NotificationService {
  const api = (s.apiURL ?? (s.enterpriseBaseURL !== undefined ? `${s.enterpriseBaseURL.replace(/\/$/, '')}/api/v3` : 'https://api.github.com')).replace(/\/$/, '');
  return {
    type: 'github',
    async send(n, _to, signal) {
      const t = target(n, 'github');
      if (t === undefined) return false;
      if (!GITHUB_STATES.has(t.state)) throw new DeliveryError(`github: status.state "${t.state}" is not one of ${[...GITHUB_STATES].join(', ')}`, false);
      const body = { state: t.state, context: t.label, target_url: t.url, description: t.description?.slice(0, 140) };
      await httpSend({ url: `${api}/repos/${t.repo}/statuses/${t.sha}`, headers: { authorization: `Bearer ${s.token}`, accept: 'application/vnd.github+json' }, body: JSON.stringify(body) }, signal);
      return true;
    },
  };
}

// GitLab spells failure "failed"; accept GitHub's words too, so one template can drive both.
const GITLAB_STATES: Readonly<Record<string, string>> = { pending: 'pending', running: 'running', success: 'success', failed: 'failed', failure: 'failed', error: 'failed', canceled: 'canceled' };

export function gitlabService(s: z.infer<typeof gitlabSettings>): NotificationService {
  const api = (s.apiURL ?? 'https://gitlab.com').replace(/\/$/, '');
  return {
    type: 'gitlab',
    async send(n, _to, signal) {
      const t = target(n, 'gitlab');
      if (t === undefined) return false;
      const state = GITLAB_STATES[t.state];
      if (state === undefined) throw new DeliveryError(`gitlab: status.state "${t.state}" is not one of ${Object.keys(GITLAB_STATES).join(', ')}`, false);
      const body = { state, name: t.label, target_url: t.url, description: t.description };
      await httpSend({ url: `${api}/api/v4/projects/${encodeURIComponent(t.repo)}/statuses/${t.sha}`, headers: { 'private-token': s.token }, body: JSON.stringify(body) }, signal);
      return true;
    },
  };
}
