// The Application controller end to end: a real Git server (git http-backend), the real apiserver, the operator's
// runtime in-process. Each step builds on the previous one (one Application, one repository).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { startAppOperator, type AppOperator } from '../../test/support/gitops.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { testClient } from '../../test/support/operator.ts';
import type { ApplicationStatus } from '../api/application/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import { TRACKING_ANNOTATION } from './plan/plan.ts';
import { REFRESH_ANNOTATION } from './sync.ts';
import type { GitSource } from './source/git.ts';

type App = KubeObject & { status?: ApplicationStatus };
type ConfigMap = KubeObject & { data?: Record<string, string> };
type Deployment = KubeObject & { spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } } };

// The API's minimum; steps other than the poll measurement ask for a refresh by annotation instead of waiting.
const POLL = '10s';

const namespaceYaml = (ns: string): string => stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
const configMap = (name: string, data: Record<string, string>, wave?: number): string =>
  stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(wave !== undefined ? { annotations: { 'argocd.argoproj.io/sync-wave': String(wave) } } : {}) }, data });
const deployment = (image: string): string =>
  stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', annotations: { 'sluice.dev/sync-wave': '1' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } },
    },
  });

describe('Application sync against a real Git server and apiserver', () => {
  let ns: string;
  let dest: string;
  let git: GitServer;
  let url: string;
  let op: AppOperator;
  const { client } = testClient();
  // The operator's own client, so the test can count what it sends.
  const operator = testClient();
  let source: GitSource;
  const figures: Record<string, number> = {};

  const app = (): Promise<App> => client.get<App>(R.application, ns, 'web');
  const cm = async (name: string): Promise<ConfigMap | undefined> => {
    try {
      return await client.get<ConfigMap>(R.configMap, dest, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const patchApp = async (patch: object): Promise<void> => {
    await client.mergePatch(R.application, ns, 'web', patch);
  };

  const refresh = async (): Promise<void> => {
    await client.mergePatch(R.application, ns, 'web', { metadata: { annotations: { [REFRESH_ANNOTATION]: String(Date.now()) } } });
  };
  const commitAndRefresh = async (files: Record<string, string | null>): Promise<string> => {
    const sha = await git.commit('config', files);
    await refresh();
    return sha;
  };

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('gitops');
    dest = `${ns}-web`;
    git = await startGitServer();
    url = await git.createRepo('config');
    // The operator watches the app's namespace and the destination (which the repository itself creates).
    op = await startAppOperator(operator.client, [ns, dest]);
    source = op.source;
  });

  afterAll(async () => {
    await op.stop();
    await git.close();
    await kubectl(['delete', 'namespace', dest, '--ignore-not-found', '--wait=false']);
    await deleteNamespace(ns);
    // Measured figures, for the report.
    console.log(`gitops figures: ${JSON.stringify(figures)}`);
  });

  let c1: string;
  it('syncs a Namespace, a ConfigMap and a Deployment in order and reports Synced with the commit', async () => {
    c1 = await git.commit('config', {
      'apps/web/namespace.yaml': namespaceYaml(dest),
      'apps/web/config.yaml': configMap('settings', { color: 'blue' }),
      'apps/web/extra.yaml': configMap('extra', { keep: 'me' }),
      'apps/web/deploy.yaml': deployment('nginx:1.27'),
      'README.md': '# not a manifest\n',
    });
    const t0 = Date.now();
    const manifest = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'web', namespace: ns },
      spec: {
        source: { repoURL: url, targetRevision: 'main', path: 'apps/web' },
        destination: { server: 'https://kubernetes.default.svc', namespace: dest },
        syncPolicy: { automated: { prune: false, selfHeal: true } },
        pollInterval: POLL,
      },
    };
    expect((await kubectl(['apply', '--server-side', '--field-manager=sluice-test', '-f', '-'], stringify(manifest))).code).toBe(0);
    await waitFor('Synced at c1', async () => {
      const s = (await app()).status;
      return s?.sync?.status === 'Synced' && s.sync.revision === c1 && s.operationState?.phase === 'Succeeded';
    });
    figures.firstSyncMs = Date.now() - t0;
    const s = (await app()).status!;
    expect(s.operationState?.syncResult?.resources?.map((r) => `${r.kind}/${r.name}`)).toEqual([`Namespace/${dest}`, 'ConfigMap/extra', 'ConfigMap/settings', 'Deployment/web']);
    expect(s.resources?.map((r) => [r.kind, r.status])).toEqual([
      ['Namespace', 'Synced'],
      ['ConfigMap', 'Synced'],
      ['ConfigMap', 'Synced'],
      ['Deployment', 'Synced'],
    ]);
    expect(s.history?.map((h) => h.revision)).toEqual([c1]);
    const live = await cm('settings');
    expect(live?.data).toEqual({ color: 'blue' });
    expect(live?.metadata?.annotations?.[TRACKING_ANNOTATION]).toBe(`${ns}/web:/ConfigMap:${dest}/settings`);
    const dep = await client.get<Deployment>(R.deployment, dest, 'web');
    expect(dep.spec?.replicas).toBe(2);
    await waitFor('Healthy', async () => (await app()).status?.health?.status === 'Healthy');
  });

  it('applies a new commit after the poll interval', async () => {
    const t0 = Date.now();
    const c2 = await git.commit('config', { 'apps/web/config.yaml': configMap('settings', { color: 'green' }) });
    await waitFor('settings green', async () => (await cm('settings'))?.data?.color === 'green', 25_000);
    figures.commitToAppliedMs = Date.now() - t0;
    await waitFor('Synced at c2', async () => (await app()).status?.sync?.revision === c2 && (await app()).status?.sync?.status === 'Synced');
  });

  it('stays on a pinned commit SHA when refreshed after its branch moved on (it was the tip when resolved)', async () => {
    const pinned = (await app()).status?.sync?.revision ?? '';
    await patchApp({ spec: { source: { repoURL: url, targetRevision: pinned, path: 'apps/web' } } });
    await waitFor('Synced at the pinned SHA', async () => (await app()).status?.sync?.revision === pinned && (await app()).status?.sync?.status === 'Synced');
    await commitAndRefresh({ 'apps/web/config.yaml': configMap('settings', { color: 'red' }) });
    await refresh();
    await new Promise((r) => setTimeout(r, 1500)); // two refreshes' worth of looks: neither may move it
    expect((await app()).status?.sync?.revision).toBe(pinned);
    expect((await cm('settings'))?.data?.color).toBe('green');
    // Back on the branch: the new commit applies (then green again, for the tests after this one).
    await patchApp({ spec: { source: { repoURL: url, targetRevision: 'main', path: 'apps/web' } } });
    await waitFor('settings red', async () => (await cm('settings'))?.data?.color === 'red', 15_000);
    const green = await commitAndRefresh({ 'apps/web/config.yaml': configMap('settings', { color: 'green' }) });
    await waitFor('green again, Synced', async () => (await cm('settings'))?.data?.color === 'green' && (await app()).status?.sync?.revision === green && (await app()).status?.sync?.status === 'Synced', 15_000);
  });

  it('keeps a removed file while prune is off, and prunes it once prune is on', async () => {
    const c3 = await commitAndRefresh({ 'apps/web/extra.yaml': null });
    await waitFor('OutOfSync at c3', async () => {
      const s = (await app()).status;
      return s?.sync?.revision === c3 && s.sync.status === 'OutOfSync';
    });
    await refresh();
    await new Promise((r) => setTimeout(r, 1500)); // another look: still not pruned
    expect(await cm('extra')).toBeDefined();
    expect((await app()).status?.resources?.find((r) => r.name === 'extra')?.status).toBe('OutOfSync');
    await patchApp({ spec: { syncPolicy: { automated: { prune: true, selfHeal: true } } } });
    await waitFor('extra pruned', async () => (await cm('extra')) === undefined, 15_000);
    await waitFor('Synced after prune', async () => (await app()).status?.sync?.status === 'Synced');
    expect((await app()).status?.resources?.some((r) => r.name === 'extra')).toBe(false);
  });

  it('applies nothing and prunes nothing on a render error, and names the file and line', async () => {
    const withOther = await commitAndRefresh({ 'apps/web/other.yaml': configMap('other', { a: '1' }) });
    await waitFor('other applied', async () => (await cm('other')) !== undefined && (await app()).status?.sync?.revision === withOther, 15_000);
    const before = (await app()).status?.resources?.length;
    const bad = await commitAndRefresh({
      'apps/web/config.yaml': configMap('settings', { color: 'purple' }) + 'broken: [unclosed\n',
      'apps/web/deploy.yaml': deployment('nginx:1.28'),
      'apps/web/other.yaml': null,
    });
    await waitFor('ComparisonError', async () => {
      const s = (await app()).status;
      return s?.conditions?.some((c) => c.type === 'ComparisonError') === true && s.sync?.revision === bad;
    });
    const s = (await app()).status!;
    expect(s.conditions?.find((c) => c.type === 'ComparisonError')?.message).toMatch(/apps\/web\/config\.yaml:\d+: /);
    expect(s.sync?.status).toBe('Unknown');
    await refresh();
    await new Promise((r) => setTimeout(r, 1500));
    expect((await cm('settings'))?.data?.color).toBe('green');
    expect(await cm('other')).toBeDefined();
    expect((await client.get<Deployment>(R.deployment, dest, 'web')).spec?.template?.spec?.containers?.[0]?.image).toBe('nginx:1.27');
    expect((await app()).status?.resources?.length).toBe(before);

    // Fixing the file resumes: the image bump applies and the removal prunes.
    await commitAndRefresh({ 'apps/web/config.yaml': configMap('settings', { color: 'green' }) });
    await waitFor('recovered', async () => (await client.get<Deployment>(R.deployment, dest, 'web')).spec?.template?.spec?.containers?.[0]?.image === 'nginx:1.28', 15_000);
    await waitFor('other pruned', async () => (await cm('other')) === undefined, 15_000);
    // The sync prunes, then writes the status: the condition clears with that write.
    await waitFor('ComparisonError cleared', async () => (await app()).status?.conditions?.some((c) => c.type === 'ComparisonError') === false, 15_000);
  });

  it('never reverts fields another manager owns (SSA by sluice-rollout, kubectl scale)', async () => {
    const ssa = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: dest }, spec: { replicas: 5 } };
    expect((await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=sluice-rollout', '-f', '-'], stringify(ssa))).code).toBe(0);
    // A Git change elsewhere in the same object forces a real apply of the Deployment.
    await commitAndRefresh({ 'apps/web/deploy.yaml': deployment('nginx:1.29') });
    await waitFor('image 1.29', async () => (await client.get<Deployment>(R.deployment, dest, 'web')).spec?.template?.spec?.containers?.[0]?.image === 'nginx:1.29', 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await client.get<Deployment>(R.deployment, dest, 'web')).spec?.replicas).toBe(5);
    const s = (await app()).status!;
    expect(s.sync?.status).toBe('Synced');
    expect(s.operationState?.syncResult?.resources?.find((r) => r.kind === 'Deployment')?.message).toMatch(/\.spec\.replicas \(sluice-rollout\)/);

    expect((await kubectl(['scale', '-n', dest, 'deployment/web', '--replicas=3'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await client.get<Deployment>(R.deployment, dest, 'web')).spec?.replicas).toBe(3);
    expect((await app()).status?.sync?.status).toBe('Synced');
  });

  it('heals drift in a field Sluice declares within seconds, and recreates a deleted object', async () => {
    const t0 = Date.now();
    expect((await kubectl(['patch', '-n', dest, 'configmap/settings', '--type=merge', '-p', '{"data":{"color":"red"}}'])).code).toBe(0);
    await waitFor('healed', async () => (await cm('settings'))?.data?.color === 'green', 10_000, 50);
    figures.driftHealMs = Date.now() - t0;
    const t1 = Date.now();
    expect((await kubectl(['delete', '-n', dest, 'configmap/settings'])).code).toBe(0);
    await waitFor('recreated', async () => (await cm('settings'))?.data?.color === 'green', 10_000, 50);
    figures.recreateMs = Date.now() - t1;
  });

  it('costs no apiserver write, no dry-run and no fetch when neither Git nor the cluster changed', async () => {
    await waitFor('settled', async () => (await app()).status?.sync?.status === 'Synced' && (await app()).status?.health?.status === 'Healthy', 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    const patches = operator.requests.get('PATCH') ?? 0;
    const fetches = source.fetches.get(url) ?? 0;
    const rv = (await app()).metadata?.resourceVersion;
    await new Promise((r) => setTimeout(r, 11_000)); // a poll
    expect(operator.requests.get('PATCH') ?? 0).toBe(patches);
    expect(source.fetches.get(url) ?? 0).toBe(fetches);
    expect((await app()).metadata?.resourceVersion).toBe(rv);
  });
});

