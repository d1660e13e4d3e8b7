// The workload of the control-plane outages at scale: blue-green Rollouts beside support.ts's canaries, and
// Applications syncing (prune, self-heal) from the real Git server, shaped for ../observer/gitops.ts as the kill
// campaign's are (`<app>-perm` always in Git, `<app>-gen-<v>` replaced by each revision, `<app>-untracked` made by the
// test), with a push that can happen while the apiserver is away (the operator's own poll finds it).
import { stringify } from 'yaml';
import type { ApplicationStatus } from '../../../src/api/application/schema.ts';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import { R } from '../../../src/kube/resource.ts';
import { follow } from '../../bench/watch.ts';
import type { GitServer } from '../../support/git-server.ts';
import type { Violation } from '../observer/check.ts';
import { EXTRA_LABEL, gitopsViolations, type CmEvent } from '../observer/gitops.ts';
import { rolloutObject, type Kubectl } from './support.ts';

type App = KubeObject & { status?: ApplicationStatus };
type Cm = KubeObject & { data?: Record<string, string> };

/** A blue-green Rollout whose switch waits `autoPromotionSeconds` after the preview is up; its Services first. */
export function blueGreen(name: string, version: number, autoPromotionSeconds: number): object[] {
  return [
    ...[`${name}-active`, `${name}-preview`].map((svc) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: svc }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } })),
    rolloutObject(name, version, { blueGreen: { activeService: `${name}-active`, previewService: `${name}-preview`, autoPromotionSeconds, scaleDownDelaySeconds: 1, abortScaleDownDelaySeconds: 1 } }),
  ];
}

const cm = (name: string, data: Record<string, string>): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

export class OutageApps {
  readonly names: string[];
  private readonly version = new Map<string, number>();
  readonly commits = new Map<string, string>();
  private readonly pushes = new Map<string, number>();
  private readonly events: CmEvent[] = [];
  private readonly ac = new AbortController();
  private feed: Promise<void> | undefined;
  private readonly o: { ns: string; client: KubeClient; kubectl: Kubectl; git: GitServer };

  constructor(o: { ns: string; client: KubeClient; kubectl: Kubectl; git: GitServer; count: number }) {
    this.o = o;
    this.names = Array.from({ length: o.count }, (_v, i) => `app-${i}`);
  }

  async setUp(): Promise<void> {
    this.feed = follow(this.o.client, `/api/v1/namespaces/${this.o.ns}/configmaps`, (type, obj, atMs) => {
      if (type === 'BOOKMARK') return;
      this.events.push({ type, name: obj.metadata?.name ?? '', labels: obj.metadata?.labels ?? {}, resourceVersion: obj.metadata?.resourceVersion ?? '0', atMs });
    }, this.ac.signal);
    for (const name of this.names) {
      const url = await this.o.git.createRepo(name);
      await this.push(name);
      const spec = { source: { repoURL: url, path: '.' }, destination: { namespace: this.o.ns }, syncPolicy: { automated: { prune: true, selfHeal: true } }, pollInterval: '10s' };
      const r = await this.o.kubectl(['apply', '--server-side', '--field-manager=chaos-user', '-n', this.o.ns, '-f', '-'], [cm(`${name}-untracked`, { v: '1' }), stringify({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Application', metadata: { name }, spec })].join('---\n'));
      if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
    }
  }

  /** The next revision of `name` in Git (no refresh asked: the operator's poll, or a later refresh, finds it). */
  async push(name: string): Promise<void> {
    const v = (this.version.get(name) ?? 0) + 1;
    this.pushes.set(`${name}/${v}`, Date.now());
    const sha = await this.o.git.commit(name, { 'perm.yaml': cm(`${name}-perm`, { rev: String(v) }), 'gen.yaml': cm(`${name}-gen-${v}`, { rev: String(v) }) }, `revision ${v}`);
    this.version.set(name, v);
    this.commits.set(name, sha);
  }

  /** An imperative edit of a field Git declares (self-heal puts it back) with another manager's label (kept). */
  async drift(name: string): Promise<void> {
    await this.o.kubectl(['patch', 'configmap', `${name}-perm`, '-n', this.o.ns, '--field-manager=chaos-drift', '--type=merge', '-p', JSON.stringify({ metadata: { labels: { [EXTRA_LABEL]: 'x' } }, data: { rev: 'drifted' } })]);
  }

  /** Synced and Healthy at its last commit, with that commit's content and nothing else of its own. */
  async problems(name: string): Promise<string[]> {
    const s = (await this.o.client.get<App>(R.application, this.o.ns, name)).status;
    const sha = this.commits.get(name);
    const v = this.version.get(name) ?? 1;
    const out: string[] = [];
    if (s?.sync?.revision !== sha || s?.sync?.status !== 'Synced' || s?.health?.status !== 'Healthy' || s?.operationState?.phase !== 'Succeeded' || s?.operationState?.syncResult?.revision !== sha) out.push(`${name}: not Synced/Healthy at ${sha?.slice(0, 7)} (sync ${s?.sync?.status} at ${s?.sync?.revision?.slice(0, 7)}, health ${s?.health?.status}, operation ${s?.operationState?.phase} at ${s?.operationState?.syncResult?.revision?.slice(0, 7)})`);
    const cms = (await this.o.client.list<Cm>(R.configMap, this.o.ns)).items.filter((c) => c.metadata?.name?.startsWith(`${name}-`) === true);
    const names = cms.map((c) => c.metadata?.name ?? '').sort();
    const expected = [`${name}-gen-${v}`, `${name}-perm`, `${name}-untracked`].sort();
    if (names.join() !== expected.join()) out.push(`${name}: ConfigMaps ${names.join(', ')}, expected ${expected.join(', ')}`);
    if (cms.find((c) => c.metadata?.name === `${name}-perm`)?.data?.rev !== String(v)) out.push(`${name}-perm: not at revision ${v} (not healed or not synced)`);
    return out;
  }

  async settled(name: string): Promise<boolean> {
    return (await this.problems(name)).length === 0;
  }

  /** Invariants 6 and 7 judged on every ConfigMap state the apiserver stored so far. */
  violations(): Violation[] {
    return gitopsViolations(this.events, this.names, (app, v) => this.pushes.get(`${app}/${v}`));
  }

  get observedEvents(): number {
    return this.events.length;
  }

  async stop(): Promise<void> {
    this.ac.abort();
    await this.feed;
  }
}
