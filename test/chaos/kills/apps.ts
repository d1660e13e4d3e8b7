// The GitOps half of the kill campaign: Applications that prune and self-heal, each on its own repository of the
// real Git server (git http-backend), given a new revision every few seconds (the refresh annotation standing in for
// a push webhook) and drifted by hand between them, while the leader is being killed. The ConfigMaps they manage are
// watched straight from the apiserver for ../observer/gitops.ts; at the end each must be synced at its last commit.
import { stringify } from 'yaml';
import type { ApplicationStatus } from '../../../src/api/application/schema.ts';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import { R } from '../../../src/kube/resource.ts';
import { REFRESH_ANNOTATION } from '../../../src/gitops/sync-shared.ts';
import { follow } from '../../bench/watch.ts';
import type { GitServer } from '../../support/git-server.ts';
import { EXTRA_LABEL, gitopsViolations, type CmEvent } from '../observer/gitops.ts';
import type { Violation } from '../observer/check.ts';

type Kubectl = (args: string[], input?: string) => Promise<{ stdout: string; stderr: string; code: number }>;
type App = KubeObject & { status?: ApplicationStatus };
type Cm = KubeObject & { data?: Record<string, string> };

const cm = (name: string, data: Record<string, string>): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

export class AppWorkload {
  readonly names: string[];
  private readonly version = new Map<string, number>();
  private readonly commits = new Map<string, string>();
  private readonly pushes = new Map<string, number>();
  private readonly events: CmEvent[] = [];
  private readonly ac = new AbortController();
  private feed: Promise<void> | undefined;
  drifts = 0;
  /** Apps whose object was drifted with the other manager's label, which must be kept from then on. */
  private readonly drifted = new Set<string>();
  revisions = 0;

  private readonly o: { ns: string; client: KubeClient; kubectl: Kubectl; git: GitServer; count: number };

  constructor(o: { ns: string; client: KubeClient; kubectl: Kubectl; git: GitServer; count: number }) {
    this.o = o;
    this.names = Array.from({ length: o.count }, (_v, i) => `app-${i}`);
  }

  /** Repositories at revision 1, the untracked neighbours, the Applications; the watch on ConfigMaps started. */
  async setUp(): Promise<void> {
    this.feed = follow(this.o.client, `/api/v1/namespaces/${this.o.ns}/configmaps`, (type, obj, atMs) => {
      if (type === 'BOOKMARK') return;
      this.events.push({ type, name: obj.metadata?.name ?? '', labels: obj.metadata?.labels ?? {}, resourceVersion: obj.metadata?.resourceVersion ?? '0', atMs });
    }, this.ac.signal);
    for (const name of this.names) {
      const url = await this.o.git.createRepo(name);
      await this.push(name, 1);
      const apply = await this.o.kubectl(['apply', '--server-side', '--field-manager=chaos-user', '-n', this.o.ns, '-f', '-'], [
        cm(`${name}-untracked`, { v: '1' }),
        stringify({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Application', metadata: { name }, spec: { source: { repoURL: url, path: '.' }, destination: { namespace: this.o.ns }, syncPolicy: { automated: { prune: true, selfHeal: true } }, pollInterval: '10s' } }),
      ].join('---\n'));
      if (apply.code !== 0) throw new Error(`kubectl apply: ${apply.stderr}`);
    }
  }

  /** The next revision of `name` in Git (no refresh asked: the operator's poll, a refresh or a webhook finds it). */
  async push(name: string, v = (this.version.get(name) ?? 0) + 1): Promise<void> {
    this.pushes.set(`${name}/${v}`, Date.now());
    const sha = await this.o.git.commit(name, { 'perm.yaml': cm(`${name}-perm`, { rev: String(v) }), 'gen.yaml': cm(`${name}-gen-${v}`, { rev: String(v) }) }, `revision ${v}`);
    this.version.set(name, v);
    this.commits.set(name, sha);
  }

  /** Synced at its last commit, Healthy, with that commit's content, the other manager's label kept. */
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
    const perm = cms.find((c) => c.metadata?.name === `${name}-perm`);
    if (perm?.data?.rev !== String(v)) out.push(`${name}-perm: rev ${perm?.data?.rev}, expected ${v} (not healed or not synced)`);
    if (this.drifted.has(name) && perm !== undefined && perm.metadata?.labels?.[EXTRA_LABEL] === undefined) out.push(`${name}-perm: the other manager's label ${EXTRA_LABEL} is gone`);
    return out;
  }

  async settled(name: string): Promise<boolean> {
    return (await this.problems(name)).length === 0;
  }

  /** One round of work: every app that is settled gets its next revision; one app's object drifted by hand. */
  async tick(round: number): Promise<void> {
    for (const name of this.names) {
      if (!(await this.settled(name))) continue;
      await this.push(name, (this.version.get(name) ?? 1) + 1);
      this.revisions++;
      await this.o.kubectl(['annotate', '--overwrite', '-n', this.o.ns, `applications.sluice.dev/${name}`, `${REFRESH_ANNOTATION}=${Date.now()}`]);
    }
    await this.drift(this.names[round % this.names.length]!);
  }

  /** Drift on a field Git declares (self-heal must put it back), and a label of another manager (kept: invariant 7). */
  async drift(name: string): Promise<void> {
    const d = await this.o.kubectl(['patch', 'configmap', `${name}-perm`, '-n', this.o.ns, '--field-manager=chaos-drift', '--type=merge', '-p', JSON.stringify({ metadata: { labels: { [EXTRA_LABEL]: 'x' } }, data: { rev: 'drifted' } })]);
    if (d.code !== 0) return;
    this.drifts++;
    this.drifted.add(name);
  }

  /** Invariants 6 and 7 judged on every ConfigMap state the apiserver stored so far. */
  violations(): Violation[] {
    return gitopsViolations(this.events, this.names, (app, v) => this.pushes.get(`${app}/${v}`));
  }

  async stop(): Promise<Violation[]> {
    this.ac.abort();
    await this.feed;
    return this.violations();
  }

  get observedEvents(): number {
    return this.events.length;
  }
}
