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
import { webChart } from '../../test/support/helm-chart.ts';
import { testClient } from '../../test/support/operator.ts';
import type { ApplicationStatus } from '../api/application/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import { REFRESH_ANNOTATION } from './sync.ts';

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
});
