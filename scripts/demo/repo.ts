// The demo's config repository and the CI job that changes it: examples/demo/repo/ is the initial commit; a
// release edits the Rollout's image tag (and, for the bad version, its env) the way a CI pipeline's "bump" step
// would, pushes, and sends the push webhook a Git host would send to the operator.
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMap, isSeq, parseAllDocuments, parseDocument } from 'yaml';
import { UNREADY_LABEL } from '../../test/cluster/stages.ts';
import { PROXY_LABEL } from '../../test/dataplane/kubeproxy.ts';
import { RUN_LABEL } from '../../test/dataplane/podrunner.ts';
import type { GitServer } from '../../test/support/git-server.ts';

export const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples', 'demo');
export const REPO_DIR = join(EXAMPLES, 'repo');
export const ROLLOUT_FILE = 'apps/demo/rollout.yaml';
export const HTTP_ROUTE_FILE = 'apps/demo/httproute.yaml';
export const SERVICES_FILE = 'apps/demo/services.yaml';
export const VIRTUAL_SERVICE_FILE = 'apps/demo/virtualservice.yaml';

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

/**
 * Pure: the config repo of `npm run demo -- --istio`: the VirtualService of examples/demo/istio/ instead of the
 * HTTPRoute, and the Rollout's trafficRouting on it (the builtin checks then read Istio's metric families).
 */
export function istioVariant(files: Record<string, string>, virtualService = readFileSync(join(EXAMPLES, 'istio', 'virtualservice.yaml'), 'utf8')): Record<string, string> {
  const { [HTTP_ROUTE_FILE]: _route, ...rest } = files;
  const doc = parseDocument(files[ROLLOUT_FILE] ?? '');
  doc.setIn(['spec', 'strategy', 'canary', 'trafficRouting'], doc.createNode({ istio: { virtualService: { name: 'demo', routes: ['primary'] } } }));
  const steps = doc.getIn(['spec', 'strategy', 'canary', 'steps']);
  if (isSeq(steps)) for (const step of steps.items) if (isMap(step) && step.hasIn(['analysis', 'gatewayAPIMetrics'])) step.deleteIn(['analysis', 'gatewayAPIMetrics']);
  return { ...rest, [ROLLOUT_FILE]: doc.toString(), [VIRTUAL_SERVICE_FILE]: virtualService };
}

/**
 * Pure: the labels this machine's harness needs, added to the seeded repo (kwok runs no containers): the Rollout's
 * pods opt in to the pod runner and wait, not Ready, until their process answers (a readiness probe that passes);
 * the stable and canary Services opt in to the kube-proxy emulator. Nothing else changes.
 */
export function withHarnessLabels(files: Record<string, string>): Record<string, string> {
  const rollout = parseDocument(files[ROLLOUT_FILE] ?? '');
  for (const [k, v] of [[RUN_LABEL, 'demo-app'], [UNREADY_LABEL, 'true']] as const) rollout.setIn(['spec', 'template', 'metadata', 'labels', k], v);
  const services = parseAllDocuments(files[SERVICES_FILE] ?? '').map((d, i) => {
    const name = d.getIn(['metadata', 'name']);
    if (name === 'demo-stable' || name === 'demo-canary') d.setIn(['metadata', 'labels', PROXY_LABEL], 'true');
    const text = d.toString();
    return i > 0 && !text.startsWith('---') ? `---\n${text}` : text; // a parsed document keeps its own marker
  });
  return { ...files, [ROLLOUT_FILE]: rollout.toString(), [SERVICES_FILE]: services.join('') };
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
