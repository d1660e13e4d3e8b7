// charts/sluice: `helm lint`, what `helm template --kube-version` renders (and refuses), and `helm install` /
// `upgrade` / `uninstall` into the real control plane: the CRDs are created and later updated by an upgrade, the
// operator's pods become Ready (kwok), and an uninstall keeps the CRDs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../support/cluster.ts';
import { installCrds } from '../support/crds.ts';
import { CHART, helm, KUBE_VERSION, render, valuesFile, type Doc, type Run } from './helm.ts';

const CRD_DIR = join(import.meta.dirname, '..', '..', 'crds');
const crdFiles = readdirSync(CRD_DIR).filter((f) => f.endsWith('.sluice.dev.yaml'));

type Container = { args?: string[]; env?: { name: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }[]; readinessProbe?: { httpGet?: { path?: string } }; livenessProbe?: { httpGet?: { path?: string } }; resources?: { requests?: Record<string, string> }; securityContext?: Record<string, unknown> };
type PodSpec = { serviceAccountName?: string; securityContext?: Record<string, unknown>; containers: Container[]; topologySpreadConstraints?: { topologyKey: string }[]; volumes?: { name: string; emptyDir?: object }[] };
type Deployment = Doc & { spec: { replicas: number; template: { spec: PodSpec } } };
type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] };

/** Chart copies made by `chartWithCrds`, removed when the file's tests end. */
const copies: string[] = [];
afterAll(() => {
  for (const c of copies) rmSync(dirname(c), { recursive: true, force: true });
});

/** A copy of the chart whose CRD files went through `edit` (as a new chart version would change them). */
function chartWithCrds(edit: (file: string, text: string) => string): string {
  const chart = join(mkdtempSync(join(tmpdir(), 'sluice-chart-')), 'sluice');
  copies.push(chart);
  cpSync(CHART, chart, { recursive: true });
  const dir = join(chart, 'files', 'crds');
  for (const f of readdirSync(dir)) writeFileSync(join(dir, f), edit(f, readFileSync(join(dir, f), 'utf8')));
  return chart;
}

const one = <T extends Doc>(docs: Doc[], kind: string, name?: string): T => {
  const hits = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata?.name === name));
  if (hits.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, rendered ${hits.length}`);
  return hits[0] as T;
};

describe('charts/sluice renders', () => {
  it('passes helm lint --strict, in the default and the namespaced mode', async () => {
    for (const values of [{}, { rbac: { namespaced: true }, watchNamespaces: ['team-a', 'team-b'] }, { serviceMonitor: { enabled: true }, gitops: { clusterAdmin: true } }, { sharding: { enabled: true } }]) {
      const res = await helm(['lint', CHART, '--strict', '--kube-version', KUBE_VERSION, '-f', valuesFile(values)]);
      expect({ code: res.code, out: res.stdout }).toEqual({ code: 0, out: expect.stringContaining('1 chart(s) linted, 0 chart(s) failed') });
      expect(res.stdout).not.toMatch(/\[(INFO|WARNING|ERROR)\]/);
    }
  });

  it('runs two replicas with leader election in the release namespace, probes, requests and a locked-down pod', async () => {
    const docs = await render('ops', 'sluice-system');
    const dep = one<Deployment>(docs, 'Deployment');
    expect(dep.metadata?.namespace).toBe('sluice-system');
    expect(dep.spec.replicas).toBe(2);
    const pod = dep.spec.template.spec;
    const c = pod.containers[0]!;
    expect(c.args).toEqual(expect.arrayContaining(['--leader-elect', '--leader-election-namespace=sluice-system', '--leader-election-id=sluice-leader', '--metrics-addr=0.0.0.0:8080']));
    expect(c.args?.some((a) => a.startsWith('--namespace'))).toBe(false); // all namespaces by default
    expect(c.env).toEqual(expect.arrayContaining([{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]));
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c.resources?.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '1Gi' } }]); // Git clones and kustomize builds
    expect(pod.topologySpreadConstraints?.map((t) => t.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    expect(pod.serviceAccountName).toBe(one(docs, 'ServiceAccount').metadata?.name);
    expect(one(docs, 'PodDisruptionBudget')).toMatchObject({ spec: { minAvailable: 1 } });
    expect(one(docs, 'Service')).toMatchObject({ spec: { ports: [{ name: 'http', port: 8080, targetPort: 'http' }] } });
    expect(docs.some((d) => d.kind === 'ServiceMonitor')).toBe(false);
    const sm = one(await render('ops', 'sluice-system', { serviceMonitor: { enabled: true, labels: { release: 'prom' } } }), 'ServiceMonitor');
    expect(sm).toMatchObject({ metadata: { labels: { release: 'prom' } }, spec: { endpoints: [{ port: 'http', path: '/metrics' }] } });
  });

  it('sharding.enabled: three active replicas with --shards=auto and the rights over every membership Lease', async () => {
    const docs = await render('ops', 'sluice-system', { sharding: { enabled: true } });
    const dep = one<Deployment>(docs, 'Deployment');
    expect(dep.spec.replicas).toBe(3);
    const args = dep.spec.template.spec.containers[0]?.args ?? [];
    expect(args).toEqual(expect.arrayContaining(['--shards=auto', '--leader-election-namespace=sluice-system', '--leader-election-id=sluice-leader']));
    expect(args).not.toContain('--leader-elect');
    const role = one<Doc & { rules: Rule[] }>(docs, 'Role');
    expect(role.rules).toEqual(expect.arrayContaining([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'update', 'delete'] }]));
    const plain = one<Doc & { rules: Rule[] }>(await render('ops', 'sluice-system'), 'Role');
    expect(plain.rules.some((r) => r.verbs.includes('list'))).toBe(false); // without sharding, only the leader Lease
  });

  it('carries the CRDs of crds/ as templates, kept on uninstall', async () => {
    const crds = (await render('ops', 'sluice-system')).filter((d) => d.kind === 'CustomResourceDefinition');
    expect(crds.map((c) => c.metadata?.name).sort()).toEqual(crdFiles.map((f) => f.replace(/\.yaml$/, '')).sort());
    for (const crd of crds) {
      const source = parse(readFileSync(join(CRD_DIR, `${crd.metadata?.name}.yaml`), 'utf8')) as Doc;
      expect(crd.spec).toEqual(source.spec);
      expect(crd.metadata?.annotations?.['helm.sh/resource-policy']).toBe('keep');
    }
    const without = await render('ops', 'sluice-system', { crds: { install: false } });
    expect(without.some((d) => d.kind === 'CustomResourceDefinition')).toBe(false);
  });

  it('namespaced mode: a Role per watched namespace, the operator told to watch only those, no cluster-wide writes', async () => {
    const docs = await render('ops', 'sluice-system', { rbac: { namespaced: true }, watchNamespaces: ['team-a', 'team-b'] });
    const c = one<Deployment>(docs, 'Deployment').spec.template.spec.containers[0]!;
    expect(c.args).toContain('--namespace=team-a,team-b');
    const roles = docs.filter((d) => d.kind === 'Role');
    expect(roles.map((r) => `${r.metadata?.namespace}/${r.metadata?.name}`).sort()).toEqual(['sluice-system/ops-sluice-leader-election', 'team-a/ops-sluice', 'team-b/ops-sluice']);
    expect(docs.filter((d) => d.kind === 'RoleBinding')).toHaveLength(3);
    // The one ClusterRole left reads ClusterAnalysisTemplates (cluster-scoped), nothing else.
    const cr = one<Doc & { rules: Rule[] }>(docs, 'ClusterRole');
    expect(cr.rules).toEqual([{ apiGroups: ['sluice.dev'], resources: ['clusteranalysistemplates'], verbs: ['get', 'list', 'watch'] }]);
  });

  it('gitops.clusterAdmin binds cluster-admin instead of the gitops rules', async () => {
    // The gitops rules write ConfigMaps; the operator's own rules only read its notification ConfigMaps.
    const writesConfigMaps = (r: Rule): boolean => (r.resources?.includes('configmaps') ?? false) && r.verbs.includes('create');
    const plain = one<Doc & { rules: Rule[] }>(await render('ops', 'sluice-system'), 'ClusterRole');
    expect(plain.rules.some(writesConfigMaps)).toBe(true);
    const docs = await render('ops', 'sluice-system', { gitops: { clusterAdmin: true } });
    expect(one<Doc & { rules: Rule[] }>(docs, 'ClusterRole').rules.some(writesConfigMaps)).toBe(false);
    expect(docs.filter((d) => d.kind === 'ClusterRoleBinding').map((b) => (b as Doc & { roleRef: { name: string } }).roleRef.name)).toEqual(['ops-sluice-sluice-system', 'cluster-admin']);
  });

  it('refuses bad values with a message naming the value', async () => {
    const refused = async (values: object): Promise<string> => {
      const res = await helm(['template', 'ops', CHART, '--kube-version', KUBE_VERSION, '-f', valuesFile(values)]);
      expect(res.code).not.toBe(0);
      return res.stderr;
    };
    expect(await refused({ rbac: { namespaced: true } })).toContain('rbac.namespaced=true needs watchNamespaces');
    expect(await refused({ leaderElection: { enabled: false } })).toContain('replicaCount=2 needs leaderElection.enabled=true');
    expect(await refused({ replicas: 3 })).toMatch(/additional properties 'replicas' not allowed/);
    expect(await refused({ podSecurityContext: { runAsNonRoot: false } })).toMatch(/podSecurityContext.*runAsNonRoot/s);
    expect(await refused({ watchNamespaces: ['Team_A'] })).toMatch(/watchNamespaces/);
    expect(await refused({ gitops: { rules: [{ resources: ['configmaps'] }] } })).toMatch(/gitops.*verbs/s);
    const old = await helm(['template', 'ops', CHART, '--kube-version', '1.28.9']);
    expect(old.stderr).toContain('chart requires kubeVersion: >=1.29.0-0 which is incompatible with Kubernetes v1.28.9');
  });
});

describe('helm install into the control plane', () => {
  let ns: string;
  let release: string;
  const crdNames = crdFiles.map((f) => f.replace(/\.yaml$/, ''));
  const jsonOf = async <T,>(args: string[]): Promise<T> => {
    const res = await kubectl([...args, '-o', 'json']);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    return JSON.parse(res.stdout) as T;
  };

  beforeAll(async () => {
    ns = await createNamespace('helm-install');
    release = `sluice-${ns.slice(-6)}`;
  });

  /**
   * The CRDs are shared by every test of the run: uninstall only a release whose CRDs all say keep. Otherwise leave
   * the release (the namespace goes anyway) and remove just its cluster-scoped RBAC.
   */
  const uninstallKeepingCrds = async (): Promise<Run> => {
    const manifest = await helm(['get', 'manifest', release, '-n', ns]);
    const crds = manifest.stdout.split(/^---$/m).filter((d) => d.includes('kind: CustomResourceDefinition'));
    if (manifest.code === 0 && crds.every((d) => d.includes('helm.sh/resource-policy: keep'))) return helm(['uninstall', release, '-n', ns, '--wait']);
    for (const kind of ['clusterrolebinding', 'clusterrole']) await kubectl(['delete', kind, `${release}-${ns}`, '--ignore-not-found']);
    return { code: 1, stdout: '', stderr: `${release}: not uninstalled (${manifest.code === 0 ? 'a CRD without helm.sh/resource-policy: keep' : manifest.stderr})` };
  };

  afterAll(async () => {
    await uninstallKeepingCrds();
    await deleteNamespace(ns);
  });

  it('creates the CRDs and a Deployment whose pods become Ready (adopting CRDs applied with kubectl)', async () => {
    // Other tests apply the same CRDs from crds/ with kubectl: Helm adopts them only when told to.
    await installCrds();
    const refused = await helm(['install', release, CHART, '-n', ns]);
    expect(refused.stderr).toMatch(/CustomResourceDefinition "[a-z]+\.sluice\.dev" in namespace "" exists and cannot be imported into the current release/);
    const res = await helm(['install', release, CHART, '-n', ns, '--take-ownership', '--wait', '--timeout=180s']);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    expect(res.stdout).toContain('STATUS: deployed');
    expect(res.stdout).toContain(`kubectl -n ${ns} rollout status deployment/${release}`); // NOTES.txt
    for (const name of crdNames) {
      const crd = await jsonOf<Doc & { status?: { conditions?: { type: string; status: string }[] } }>(['get', 'crd', name]);
      expect(crd.metadata?.annotations?.['meta.helm.sh/release-name']).toBe(release);
      expect(crd.status?.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Established', status: 'True' })]));
    }
    const wait = await kubectl(['wait', '-n', ns, '--for=condition=Ready', 'pod', '-l', `app.kubernetes.io/instance=${release}`, '--timeout=60s']);
    expect(wait.code).toBe(0);
    const dep = await jsonOf<{ status?: { readyReplicas?: number } }>(['get', 'deployment', release, '-n', ns]);
    expect(dep.status?.readyReplicas).toBe(2);
    const pdb = await jsonOf<{ status?: { currentHealthy?: number; disruptionsAllowed?: number } }>(['get', 'pdb', release, '-n', ns]);
    expect(pdb.status).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 1 });
  });

  it('updates a changed CRD on helm upgrade (the CRD upgrade path) and keeps the CRDs on uninstall', async () => {
    // The AnalysisTemplate CRD changes (a label), as a new chart version would change it.
    const chart = chartWithCrds((file, text) => {
      if (file !== 'analysistemplates.sluice.dev.yaml') return text;
      const crd = parse(text) as Doc;
      crd.metadata = { ...crd.metadata, labels: { ...crd.metadata?.labels, 'sluice.dev/chart-upgrade-test': ns } };
      return stringify(crd);
    });
    const up = await helm(['upgrade', release, chart, '-n', ns, '--set', 'logLevel=debug', '--wait', '--timeout=180s']);
    expect({ code: up.code, stderr: up.stderr }).toEqual({ code: 0, stderr: '' });
    const live = await jsonOf<Doc>(['get', 'crd', 'analysistemplates.sluice.dev']);
    expect(live.metadata?.labels?.['sluice.dev/chart-upgrade-test']).toBe(ns);
    const dep = await jsonOf<Deployment>(['get', 'deployment', release, '-n', ns]);
    expect(dep.spec.template.spec.containers[0]?.args).toContain('--log-level=debug');

    // Back to the repository's chart: the label goes again.
    const back = await helm(['upgrade', release, CHART, '-n', ns, '--wait', '--timeout=180s']);
    expect(back.code).toBe(0);
    expect((await jsonOf<Doc>(['get', 'crd', 'analysistemplates.sluice.dev'])).metadata?.labels?.['sluice.dev/chart-upgrade-test']).toBeUndefined();

    const held = (await helm(['get', 'manifest', release, '-n', ns])).stdout.split(/^---$/m).filter((d) => d.includes('kind: CustomResourceDefinition'));
    expect(held).toHaveLength(crdNames.length);
    const un = await uninstallKeepingCrds();
    expect({ code: un.code, stderr: un.stderr }).toEqual({ code: 0, stderr: '' });
    expect(un.stdout).toMatch(/kept due to the resource policy/);
    for (const name of crdNames) expect((await kubectl(['get', 'crd', name])).code).toBe(0);
    expect((await kubectl(['get', 'deployment', release, '-n', ns])).code).not.toBe(0);
    expect((await kubectl(['get', 'clusterrole', `${release}-${ns}`])).code).not.toBe(0);
  });

  it('creates CRDs that do not exist yet, and with crds.keep=false an uninstall removes them', async () => {
    // The shared sluice.dev CRDs exist already and must stay: this release carries the same CRDs in a group of its
    // own, so what Helm creates (and later deletes) belongs to this test alone.
    const group = `${ns}.sluice-test.dev`;
    const chart = chartWithCrds((_, text) => text.replaceAll('sluice.dev', group));
    const other = `${release}-own`;
    const names = crdNames.map((n) => n.replace('sluice.dev', group));
    for (const name of names) expect((await kubectl(['get', 'crd', name])).code).not.toBe(0);
    const res = await helm(['install', other, chart, '-n', ns, '--set', 'crds.keep=false', '--set', 'leaderElection.id=other-leader', '--wait', '--timeout=180s']);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    for (const name of names) {
      const crd = await jsonOf<Doc & { status?: { conditions?: { type: string; status: string }[] } }>(['get', 'crd', name]);
      expect(crd.metadata?.annotations?.['meta.helm.sh/release-name']).toBe(other);
      expect(crd.status?.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Established', status: 'True' })]));
    }
    // Not `--wait`: the CRDs' removal is asserted below, with room for the apiserver's CRD finalizer, which backs off
    // (minutes under load) when a CRD is deleted while its storage is still being set up ("storage is (re)initializing").
    const un = await helm(['uninstall', other, '-n', ns]);
    expect(un.code).toBe(0);
    await waitFor('the CRDs gone', async () => {
      for (const name of names) if ((await kubectl(['get', 'crd', name])).code === 0) return false;
      return true;
    }, 240_000);
  }, 330_000);
});
