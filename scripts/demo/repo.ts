// The demo's config repository and the CI job that changes it: examples/demo/repo/ is the initial commit; a
// release edits the Rollout's image tag (and, for the bad version, its env) the way a CI pipeline's "bump" step
// would, pushes, and sends the push webhook a Git host would send to the operator.
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import type { GitServer } from '../../test/support/git-server.ts';

export const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples', 'demo');
export const REPO_DIR = join(EXAMPLES, 'repo');
export const ROLLOUT_FILE = 'apps/demo/rollout.yaml';

/** Every file under examples/demo/repo, keyed by its path in the repository. */
export function seedFiles(dir = REPO_DIR): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

export interface Release {
  /** The new image tag (the repository part of the image is kept). */
  tag: string;
  /** Env vars to set on the first container (others are kept). */
  env?: Record<string, string>;
}

/** Pure: the Rollout manifest with the first container's image tag and env changed; comments and layout kept. */
export function bumpRollout(text: string, release: Release, file = ROLLOUT_FILE): string {
  const doc = parseDocument(text);
  const path = ['spec', 'template', 'spec', 'containers', 0];
  const image = doc.getIn([...path, 'image']);
  if (typeof image !== 'string') throw new Error(`${file}: spec.template.spec.containers[0].image is missing`);
  const repo = image.replace(/:[^:/@]+$/, '');
  doc.setIn([...path, 'image'], `${repo}:${release.tag}`);
  for (const [name, value] of Object.entries(release.env ?? {})) {
    const env = doc.getIn([...path, 'env'], true);
    if (!isSeq(env)) throw new Error(`${file}: spec.template.spec.containers[0].env must be a list to set ${name}`);
    const entry = env.items.find((i) => isMap(i) && i.get('name') === name);
    if (isMap(entry)) entry.set('value', value);
    else env.add(doc.createNode({ name, value }, { flow: true }));
  }
  return doc.toString();
}

/** The current image tag of the Rollout in `text`. */
export function imageTag(text: string): string {
  const image = parseDocument(text).getIn(['spec', 'template', 'spec', 'containers', 0, 'image']);
  return typeof image === 'string' ? (/:([^:/@]+)$/.exec(image)?.[1] ?? 'latest') : '';
}

export interface ConfigRepoOptions {
  git: GitServer;
  repo: string;
  repoURL: string;
  /** The operator's webhook endpoint and the generic HMAC secret it was started with. */
  webhook: { url: string; secret: string };
}

/** The config repository as CI and people change it: every change is a real commit, pushed, then announced. */
export class ConfigRepo {
  private readonly o: ConfigRepoOptions;
  private rollout: string;

  constructor(o: ConfigRepoOptions, initialRollout: string) {
    this.o = o;
    this.rollout = initialRollout;
  }

  get rolloutText(): string {
    return this.rollout;
  }

  /** CI: bump the image (and env), commit, push, webhook. Returns the commit SHA. */
  async release(r: Release, message: string): Promise<string> {
    this.rollout = bumpRollout(this.rollout, r);
    const sha = await this.o.git.commit(this.o.repo, { [ROLLOUT_FILE]: this.rollout }, message);
    await this.notify();
    return sha;
  }

  /** A person: `git revert --no-edit HEAD`, push, webhook. Returns the new commit SHA. */
  async revert(): Promise<string> {
    await this.o.git.git(this.o.repo, ['revert', '--no-edit', 'HEAD']);
    const sha = await this.o.git.git(this.o.repo, ['rev-parse', 'HEAD']);
    this.rollout = await this.o.git.git(this.o.repo, ['show', `HEAD:${ROLLOUT_FILE}`]);
    await this.notify();
    return sha;
  }

  /** The push webhook, signed like Sluice's generic provider expects (X-Sluice-Signature-256). */
  private async notify(): Promise<void> {
    const body = JSON.stringify({ repoURL: this.o.repoURL, ref: 'refs/heads/main' });
    const signature = `sha256=${createHmac('sha256', this.o.webhook.secret).update(body).digest('hex')}`;
    const res = await fetch(this.o.webhook.url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Sluice-Signature-256': signature }, body });
    if (res.status !== 202) throw new Error(`push webhook answered ${res.status}: ${await res.text()}`);
  }
}
