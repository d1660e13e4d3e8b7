// A Helm chart from a Git path synced by the controller on the real control plane: values files and parameters, a
// values commit upgrading it (its pre-upgrade hook Job run again first), a template removed by the next chart
// version pruned (but not one marked helm.sh/resource-policy: keep), and a failing template reported with its line,
// nothing pruned.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { startAppOperator, type AppOperator } from '../../test/support/gitops.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { bigChart, webChart } from '../../test/support/helm-chart.ts';
import { testClient } from '../../test/support/operator.ts';
import type { ApplicationStatus } from '../api/application/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import { GitSource } from './source/git.ts';
import { CachedRenderer } from './sync-source.ts';
import { REFRESH_ANNOTATION } from './sync.ts';
import { Discovery } from '../kube/discovery.ts';
import type { Application } from '../api/application/schema.ts';

process.env.SLUICE_HELM = join(process.env.SLUICE_TEST_BIN_DIR ?? '', 'helm');

type App = KubeObject & { status?: ApplicationStatus };
type Cm = KubeObject & { data?: Record<string, string> };

describe('Helm chart from a Git path', () => {
  let ns: string;
  let git: GitServer;
  let op: AppOperator;
  const { client } = testClient();
  const app = (): Promise<App> => client.get<App>(R.application, ns, 'shop');
  const cm = async (name: string): Promise<Cm | undefined> => {
    try {
      return await client.get<Cm>(R.configMap, ns, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const refresh = async (): Promise<void> => void (await kubectl(['annotate', '--overwrite', '-n', ns, 'application/shop', `${REFRESH_ANNOTATION}=${Date.now()}`]));
  const syncedAt = async (sha: string): Promise<void> =>
    waitFor(`synced ${sha.slice(0, 7)}`, async () => {
      const s = (await app()).status;
      return s?.sync?.revision === sha && s.operationState?.phase === 'Succeeded' && s.operationState.syncResult?.revision === sha;
    }, 60_000).catch(async (e: unknown) => {
      console.log(JSON.stringify((await app()).status, null, 1));
      throw e;
    });

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('helm-git');
    git = await startGitServer();
    op = await startAppOperator(client, [ns]);
  });

  afterAll(async () => {
    await op.stop();
    await git.close();
    await deleteNamespace(ns);
  });

  it('syncs, upgrades by a values commit, prunes a removed template (keeping resource-policy: keep) and reports a failing template', async () => {
    const url = await git.createRepo('charts');
    const c1 = await git.commit('charts', webChart());
    const spec = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'shop', namespace: ns },
      spec: {
        source: { repoURL: url, targetRevision: 'main', path: 'charts/web', helm: { valueFiles: ['../../values/prod.yaml'], parameters: [{ name: 'message', value: 'from-app' }] } },
        destination: { namespace: ns },
        syncPolicy: { automated: { prune: true } },
        pollInterval: '10s',
      },
    };
    expect((await kubectl(['apply', '--server-side', '-f', '-'], stringify(spec))).code).toBe(0);
    await syncedAt(c1);
    let s = (await app()).status!;
    expect(s.resources?.map((r) => r.name).sort()).toEqual(['shop-extra', 'shop-kept', 'shop-settings']);
    expect((await cm('shop-settings'))?.data).toMatchObject({ color: 'green', message: 'from-app', namespace: ns, rollouts: 'true' });
    expect((await cm('shop-settings'))?.data?.kube).toMatch(/^v1\.\d+\.\d+/);
    const hooks = (run: ApplicationStatus): (string | undefined)[][] => (run.operationState?.syncResult?.resources ?? []).filter((r) => r.hookPhase !== undefined).map((r) => [r.name, r.syncPhase, r.hookPhase]);
    expect(hooks(s)).toEqual([['shop-migrate', 'PreSync', 'Succeeded']]);

    // A values commit: upgraded, with the pre-upgrade hook run again first.
    const c2 = await git.commit('charts', { 'values/prod.yaml': 'color: red\n' });
    await refresh();
    await syncedAt(c2);
    expect((await cm('shop-settings'))?.data?.color).toBe('red');
    expect(hooks((await app()).status!)).toEqual([['shop-migrate', 'PreSync', 'Succeeded']]);

    // The next chart version drops two templates: extra is pruned, kept stays (helm.sh/resource-policy: keep).
    const next = webChart({ version: '0.2.0', extraTemplate: false });
    delete next['charts/web/templates/keep.yaml'];
    const c3 = await git.commit('charts', { ...next, 'values/prod.yaml': 'color: red\n', 'charts/web/templates/extra.yaml': null, 'charts/web/templates/keep.yaml': null });
    await refresh();
    await syncedAt(c3);
    expect(await cm('shop-extra')).toBeUndefined();
    expect(await cm('shop-kept')).toBeDefined();
    s = (await app()).status!;
    expect(s.operationState?.syncResult?.resources?.filter((r) => r.status === 'Pruned' || r.status === 'PruneSkipped').map((r) => [r.name, r.status, r.message]).sort()).toEqual([
      ['shop-extra', 'Pruned', 'pruned'],
      ['shop-kept', 'PruneSkipped', 'helm.sh/resource-policy: keep'],
    ]);

    // A failing template: a condition naming the template and line; nothing applied or pruned.
    const c4 = await git.commit('charts', webChart({ broken: true, extraTemplate: false }));
    await refresh();
    await waitFor('ComparisonError', async () => (await app()).status?.conditions?.some((c) => c.type === 'ComparisonError') === true, 30_000);
    s = (await app()).status!;
    expect(s.sync?.revision).toBe(c4);
    expect(s.conditions?.find((c) => c.type === 'ComparisonError')?.message).toMatch(/^charts\/web\/templates\/broken\.yaml:6: helm template: .*nil pointer evaluating interface \{\}\.deeper/);
    expect(await cm('shop-settings')).toBeDefined();
  }, 180_000);

  it('figures: a 50-template chart rendered cold and cached, and a 200-object chart synced', async () => {
    const url = await git.createRepo('big');
    const sha = await git.commit('big', bigChart('chart', 50, 4, 'one'));
    const source = new GitSource({ cacheDir: `${process.env.TMPDIR ?? '/tmp'}/sluice-helm-figures-${Date.now()}` });
    const renderer = new CachedRenderer({ client, discovery: new Discovery(client), source });
    const spec = { source: { repoURL: url, targetRevision: 'main', path: 'chart', helm: {} }, destination: { namespace: ns }, pollInterval: '10s' };
    const appObj = { apiVersion: 'sluice.dev/v1alpha1', kind: 'Application', metadata: { name: 'big', namespace: ns }, spec } as unknown as Application;
    await source.ensure(url, await source.resolve(url, 'main'));
    let t = performance.now();
    const cold = await renderer.render(appObj, { namespace: ns, name: 'big' }, [sha]);
    const coldMs = performance.now() - t;
    t = performance.now();
    const cached = await renderer.render(appObj, { namespace: ns, name: 'big' }, [sha]);
    const cachedMs = performance.now() - t;
    expect(cold.ok && cold.manifests.length).toBe(200);
    expect(cached).toBe(cold);

    const t0 = Date.now();
    const app200 = { ...appObj, spec: { ...spec, syncPolicy: { automated: { prune: true } } } };
    expect((await kubectl(['apply', '--server-side', '-f', '-'], stringify(app200))).code).toBe(0);
    await waitFor('200 objects synced', async () => (await client.get<App>(R.application, ns, 'big')).status?.operationState?.phase === 'Succeeded', 120_000);
    const syncMs = Date.now() - t0;
    expect((await client.get<App>(R.application, ns, 'big')).status?.resources).toHaveLength(200);
    console.log(`helm figures: ${JSON.stringify({ templates: 50, objects: 200, renderColdMs: Math.round(coldMs), renderCachedMs: Number(cachedMs.toFixed(3)), syncFromApplyMs: syncMs })}`);
  }, 180_000);
});
