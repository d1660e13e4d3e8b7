// The chart's RBAC is enough, and no more: its ServiceAccount, ClusterRole/Roles and bindings are rendered by
// `helm template` and applied; the operator runs as a process (src/main.ts) with a token of that ServiceAccount
// (TokenRequest API) and leader election on, and takes a canary Rollout through a Gateway API route to promotion
// and an Application through a sync from a real Git server. Requests outside the chart's rules are refused (403).
// Both RBAC modes: cluster-wide (a ClusterRole) and namespaced (a Role per watched namespace).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ApplicationStatus } from '../../src/api/application/schema.ts';
import type { KubeObject } from '../../src/kube/client.ts';
import { isNotFound } from '../../src/kube/errors.ts';
import { R } from '../../src/kube/resource.ts';
import { HTTP_ROUTE } from '../../src/rollout/traffic/gatewayapi.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../support/cluster.ts';
import { startGitServer, type GitServer } from '../support/git-server.ts';
import { startOperator, type OperatorProcess } from '../support/operator-process.ts';
import { testClient } from '../support/operator.ts';
import { helpers, installAllCrds, rolloutManifest } from '../support/rollouts.ts';
import { applyDocs, kubectlAs, RBAC_KINDS, render, serviceAccountKubeconfig, type Doc } from './helm.ts';

type Route = KubeObject & { spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] } };
type App = KubeObject & { status?: ApplicationStatus };
type Lease = KubeObject & { spec?: { holderIdentity?: string } };
type EventObj = KubeObject & { reportingComponent?: string; reportingInstance?: string; involvedObject?: { kind?: string } };

const MODES = [
  { mode: 'cluster-wide', values: (): object => ({}) },
  { mode: 'namespaced', values: (watched: string[]): object => ({ rbac: { namespaced: true }, watchNamespaces: watched }) },
];

describe.each(MODES)('the chart RBAC ($mode) runs the operator', ({ mode, values }) => {
  const { client } = testClient(); // the admin: the test's own reads and a person's actions
  let ns: string;
  let dest: string;
  let release: string;
  let rbac: Doc[];
  let sa: string;
  let saKubeconfig: string;
  let git: GitServer;
  let gitCache: string;
  let op: OperatorProcess;
  const identity = `rbac-${mode}`;

  const canI = async (args: string[]): Promise<boolean> => {
    const res = await kubectlAs(saKubeconfig, ['auth', 'can-i', ...args]);
    if (res.code !== 0 && res.stdout.trim() !== 'no') throw new Error(`kubectl auth can-i ${args.join(' ')}: ${res.stderr}`);
    return res.stdout.trim() === 'yes';
  };

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace(`rbac-${mode}`);
    dest = await createNamespace(`rbac-${mode}-dest`);
    release = `sluice-${ns.slice(-6)}`;
    rbac = (await render(release, ns, values([ns, dest]))).filter((d) => RBAC_KINDS.includes(d.kind ?? ''));
    await applyDocs(rbac);
    sa = rbac.find((d) => d.kind === 'ServiceAccount')?.metadata?.name ?? '';
    saKubeconfig = await serviceAccountKubeconfig(ns, sa);
    git = await startGitServer();
    gitCache = await mkdtemp(join(tmpdir(), 'sluice-gitcache-'));
    // A clone cache of its own, given to the process explicitly (jest's process.env is not the one a child inherits).
    op = await startOperator(saKubeconfig, identity, [`--namespace=${ns},${dest}`, '--leader-elect', `--leader-election-namespace=${ns}`, '--workers=2'], { SLUICE_GIT_CACHE: gitCache });
  });

  afterAll(async () => {
    op.kill('SIGTERM');
    await op.exited;
    await git.close();
    await rm(gitCache, { recursive: true, force: true });
    for (const d of rbac.filter((x) => x.metadata?.namespace === undefined)) await kubectl(['delete', (d.kind ?? '').toLowerCase(), d.metadata?.name ?? '', '--ignore-not-found']);
    await deleteNamespace(dest);
    await deleteNamespace(ns);
  });

  it('is the ServiceAccount, and leads through the Lease the chart lets it hold', async () => {
    const who = await kubectlAs(saKubeconfig, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(who.stdout).toBe(`system:serviceaccount:${ns}:${sa}`);
    // Ready (caches synced) can come before the first campaign has created the Lease.
    const holder = async (): Promise<string | undefined> => {
      try {
        return (await client.get<Lease>(R.lease, ns, 'sluice-leader')).spec?.holderIdentity;
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    };
    await waitFor('the Lease held', async () => (await holder()) === identity);
  });

  it('takes a canary through a Gateway API route to promotion', async () => {
    const { apply, statusPatch, rollout, selector } = helpers(ns, client);
    for (const svc of ['web-stable', 'web-canary']) await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: svc }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } });
    await apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web' },
      spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'web-stable', port: 80, weight: 100 }, { name: 'web-canary', port: 80, weight: 0 }] }] },
    });
    const manifest = (version: string): object =>
      rolloutManifest('web', version, { canaryService: 'web-canary', stableService: 'web-stable', trafficRouting: { gatewayAPI: { httpRoute: 'web' } }, steps: [{ setWeight: 40 }, { pause: {} }] });
    const weight = async (): Promise<number | undefined> => (await client.get<Route>(HTTP_ROUTE, ns, 'web')).spec?.rules?.[0]?.backendRefs?.find((b) => b.name === 'web-canary')?.weight;

    await apply(manifest('v1'));
    await waitFor('v1 Healthy', async () => (await rollout('web')).status?.phase === 'Healthy', 60_000);
    const v1 = (await rollout('web')).status?.stableRS;
    await apply(manifest('v2'));
    await waitFor('v2 at 40% and paused', async () => (await weight()) === 40 && (await rollout('web')).status?.phase === 'Paused', 60_000);
    const v2 = (await rollout('web')).status?.currentPodHash;
    expect(v2).not.toBe(v1);
    expect(await selector('web-canary')).toBe(v2);
    await statusPatch('web', { status: { pauseConditions: null } }); // promote
    await waitFor('v2 Healthy and stable', async () => {
      const s = (await rollout('web')).status;
      return s?.phase === 'Healthy' && s.stableRS === v2;
    }, 60_000);
    expect(await selector('web-stable')).toBe(v2);
    expect(await weight()).toBe(0);
    // The operator recorded Events (create on events).
    const events = (await client.list<EventObj>(R.event, ns)).items.filter((e) => e.reportingComponent === 'sluice.dev/sluice' && e.reportingInstance === identity);
    expect(events.length).toBeGreaterThan(0);
  });

  it('syncs an Application from Git into the destination namespace', async () => {
    const url = await git.createRepo('config');
    const c1 = await git.commit('config', {
      'app/config.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { color: 'blue' } }),
      'app/deploy.yaml': stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'api' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'registry.invalid/api:1' }] } } },
      }),
    });
    const res = await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], stringify({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'api' },
      spec: { source: { repoURL: url, targetRevision: 'main', path: 'app' }, destination: { namespace: dest }, syncPolicy: { automated: { prune: true, selfHeal: true } } },
    }));
    expect(res.stderr).toBe('');
    await waitFor('Synced and Healthy', async () => {
      const s = (await client.get<App>(R.application, ns, 'api')).status;
      return s?.sync?.status === 'Synced' && s.sync.revision === c1 && s.health?.status === 'Healthy';
    }, 60_000);
    expect((await client.get<KubeObject & { data?: Record<string, string> }>(R.configMap, dest, 'settings')).data).toEqual({ color: 'blue' });
  });

  it('is refused what the chart does not grant', async () => {
    // Positive controls: the rules the operator uses.
    expect(await canI(['patch', 'rollouts.sluice.dev', '--subresource=status', '-n', ns])).toBe(true);
    expect(await canI(['create', 'pods', '--subresource=eviction', '-n', dest])).toBe(true);
    expect(await canI(['update', 'leases/sluice-leader', '-n', ns])).toBe(true);
    // Never granted: deleting or editing Applications (people's objects), creating pods, reading Secrets in bulk,
    // RBAC, other Leases, Namespaces. (Rollouts and Deployments a sync may write: gitops.rules grant them.)
    expect(await canI(['delete', 'applications.sluice.dev', '-n', ns])).toBe(false);
    expect(await canI(['update', 'applications.sluice.dev', '-n', ns])).toBe(false);
    expect(await canI(['patch', 'clusteranalysistemplates.sluice.dev'])).toBe(false);
    expect(await canI(['create', 'pods', '-n', ns])).toBe(false);
    expect(await canI(['list', 'secrets', '-n', ns])).toBe(false);
    expect(await canI(['create', 'clusterrolebindings'])).toBe(false);
    expect(await canI(['update', 'leases/another-lease', '-n', ns])).toBe(false);
    expect(await canI(['delete', 'namespaces'])).toBe(false);
    if (mode === 'namespaced') {
      // Nothing outside the watched namespaces, nor across all of them.
      expect(await canI(['get', 'rollouts.sluice.dev', '-n', 'default'])).toBe(false);
      expect(await canI(['list', 'rollouts.sluice.dev', '--all-namespaces'])).toBe(false);
      expect(await canI(['list', 'clusteranalysistemplates.sluice.dev'])).toBe(true);
    } else {
      expect(await canI(['list', 'rollouts.sluice.dev', '--all-namespaces'])).toBe(true);
    }
    // A real request outside the rules: 403 from the apiserver.
    const secrets = await kubectlAs(saKubeconfig, ['get', 'secrets', '-n', ns]);
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toMatch(new RegExp(`Forbidden.*system:serviceaccount:${ns}:${sa}.*cannot list resource "secrets"`, 's'));
    const del = await kubectlAs(saKubeconfig, ['delete', 'applications.sluice.dev', 'api', '-n', ns]);
    expect(del.stderr).toMatch(/Forbidden.*cannot delete resource "applications"/s);
  });

  it('cannot sync what gitops.rules leave out: the Application reports the refusal', async () => {
    const url = await git.createRepo('secrets');
    await git.commit('secrets', { 'app/secret.yaml': stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token' }, stringData: { token: 'x' } }) });
    const res = await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], stringify({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'secrets' },
      spec: { source: { repoURL: url, targetRevision: 'main', path: 'app' }, destination: { namespace: dest }, syncPolicy: { automated: {} } },
    }));
    expect(res.stderr).toBe('');
    await waitFor('the sync refused', async () => (await client.get<App>(R.application, ns, 'secrets')).status?.operationState?.phase === 'Failed', 60_000);
    const status = (await client.get<App>(R.application, ns, 'secrets')).status;
    expect(status?.sync?.status).toBe('OutOfSync');
    expect(status?.operationState?.syncResult?.resources).toEqual([
      expect.objectContaining({ kind: 'Secret', name: 'token', status: 'SyncFailed', message: expect.stringContaining(`User "system:serviceaccount:${ns}:${sa}" cannot patch resource "secrets"`) }),
    ]);
    expect((await kubectl(['get', 'secret', 'token', '-n', dest])).code).not.toBe(0);
    // The Secret watch this sync opened can never list; the replica stays ready (the chart's probe would see 200).
    expect((await fetch(op.metricsUrl.replace('/metrics', '/readyz'))).status).toBe(200);
  });
});
