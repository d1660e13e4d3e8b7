// Several sources (spec.sources) synced by the controller on the real control plane with the real Git server: a
// chart in one repository takes a values file from another (`$values/…`, a ref source), and plain YAML from that
// second repository sits next to the chart in one plan. A commit to the values repository changes the object; a
// values file that disappears is a condition naming the field, with nothing applied or pruned.
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
import { sluice } from '../../test/support/plugin.ts';

process.env.SLUICE_HELM = join(process.env.SLUICE_TEST_BIN_DIR ?? '', 'helm');

type App = KubeObject & { status?: ApplicationStatus };
type Cm = KubeObject & { data?: Record<string, string> };

describe('several sources', () => {
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
  const syncedAt = async (revisions: string[]): Promise<void> =>
    waitFor(`synced ${revisions.map((r) => r.slice(0, 7)).join(',')}`, async () => {
      const s = (await app()).status;
      return JSON.stringify(s?.sync?.revisions) === JSON.stringify(revisions) && s?.operationState?.phase === 'Succeeded' && JSON.stringify(s.operationState.syncResult?.revisions) === JSON.stringify(revisions);
    }, 60_000).catch(async (e: unknown) => {
      console.log(JSON.stringify((await app()).status, null, 1));
      throw e;
    });

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('sources');
    git = await startGitServer();
    op = await startAppOperator(client, [ns]);
  });

  afterAll(async () => {
    await op.stop();
    await git.close();
    await deleteNamespace(ns);
  });

  it('renders a chart with values from another repository next to plain YAML, follows a values commit, and reports a missing values file', async () => {
    const charts = await git.createRepo('charts');
    const config = await git.createRepo('config');
    const a1 = await git.commit('charts', webChart());
    const b1 = await git.commit('config', {
      'env/prod.yaml': 'color: purple\nmessage: from-config\n',
      'plain/extra.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain-extra\ndata: {a: "1"}\n',
    });
    const spec = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'shop', namespace: ns },
      spec: {
        sources: [
          { repoURL: charts, targetRevision: 'main', path: 'charts/web', helm: { valueFiles: ['$values/env/prod.yaml'] } },
          { repoURL: config, targetRevision: 'main', ref: 'values' },
          { repoURL: config, targetRevision: 'main', path: 'plain' },
        ],
        destination: { namespace: ns },
        syncPolicy: { automated: { prune: true } },
        pollInterval: '10s',
      },
    };
    expect((await kubectl(['apply', '--server-side', '-f', '-'], stringify(spec))).code).toBe(0);
    await syncedAt([a1, b1, b1]);
    let s = (await app()).status!;
    expect(s.sync?.revision).toBeUndefined();
    expect(s.resources?.map((r) => r.name).sort()).toEqual(['plain-extra', 'shop-extra', 'shop-kept', 'shop-settings']);
    expect((await cm('shop-settings'))?.data).toMatchObject({ color: 'purple', message: 'from-config', replicas: '1' });
    expect(s.history?.at(-1)?.revisions).toEqual([a1, b1, b1]);
    // `kubectl sluice app diff` renders the sources as the sync does ($values included): nothing to change.
    const short = [a1, b1, b1].map((c) => c.slice(0, 7)).join(',');
    expect(await sluice(['app', 'diff', 'shop', '-n', ns, '--exit-code'])).toMatchObject({ code: 0, stdout: `in sync with ${short}: 4 object(s), nothing to change\n` });

    // A commit to the values repository only: the chart's object follows.
    const b2 = await git.commit('config', { 'env/prod.yaml': 'color: red\nmessage: from-config\n' });
    await refresh();
    await syncedAt([a1, b2, b2]);
    expect((await cm('shop-settings'))?.data?.color).toBe('red');

    // The values file disappears: a condition naming the field and the source; nothing applied or pruned.
    const b3 = await git.commit('config', { 'env/prod.yaml': null, 'plain/extra.yaml': null });
    await refresh();
    await waitFor('ComparisonError', async () => (await app()).status?.conditions?.some((c) => c.type === 'ComparisonError') === true, 30_000);
    s = (await app()).status!;
    expect(s.sync?.revisions).toEqual([a1, b3, b3]);
    expect(s.conditions?.find((c) => c.type === 'ComparisonError')?.message).toBe(
      `spec.sources[0]: spec.sources[0].helm.valueFiles[0]: values file "$values/env/prod.yaml" does not exist: no env/prod.yaml in spec.sources[1] (${config} at ${b3.slice(0, 12)})`,
    );
    expect((await cm('shop-settings'))?.data?.color).toBe('red');
    expect(await cm('plain-extra')).toBeDefined();
  }, 180_000);
});
