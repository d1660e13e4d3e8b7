// Remote clusters end to end: the shared control plane runs the operator (in-process) and holds the cluster Secrets,
// Applications and ApplicationSets; a second, small control plane is the remote cluster; a real Git server holds
// the config. Steps build on each other (one remote plane per file: starting one costs ~10 s).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { clusterSecret, startFleetOperator, startRemotePlane, type FleetOperator, type RemotePlane } from '../../test/support/fleet.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { testClient } from '../../test/support/operator.ts';
import type { ApplicationStatus } from '../api/application/schema.ts';
import type { ApplicationSetStatus } from '../api/applicationset/schema.ts';
import { KubeClient, type KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';

type App = KubeObject & { status?: ApplicationStatus };
type AppSet = KubeObject & { status?: ApplicationSetStatus };
type ConfigMap = KubeObject & { data?: Record<string, string> };

const PROBE_MS = 1_000;
const configMap = (name: string, data: Record<string, string>): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

describe('remote clusters and ApplicationSets', () => {
  let ns: string;
  let remote: RemotePlane;
  let remoteClient: KubeClient;
  let git: GitServer;
  let url: string;
  let op: FleetOperator;
  const { client } = testClient();
  const operator = testClient();
  const figures: Record<string, number> = {};
  const dest = 'fleet-web';

  const get = async <T extends KubeObject>(c: KubeClient, rt: typeof R.configMap, namespace: string, name: string): Promise<T | undefined> => {
    try {
      return await c.get<T>(rt, namespace, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const apply = async (obj: object): Promise<void> => {
    const res = await kubectl(['apply', '-f', '-'], JSON.stringify(obj));
    if (res.code !== 0) throw new Error(res.stderr);
  };
  const application = (name: string, destination: object): object => ({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: ns },
    spec: { source: { repoURL: url, path: 'web' }, destination: { ...destination, namespace: dest }, syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] }, pollInterval: '10s' },
  });
  const condition = (a: { status?: { conditions?: { type: string; status: string; message?: string }[] } } | undefined, type: string): string | undefined => a?.status?.conditions?.find((c) => c.type === type && c.status === 'True')?.message;

  beforeAll(async () => {
    const started = Date.now();
    [remote] = await Promise.all([startRemotePlane(), installCrds()]);
    figures.remotePlaneStartS = (Date.now() - started) / 1000;
    remoteClient = KubeClient.fromDefault({}, remote.cp.kubeconfig);
    ns = await createNamespace('fleet');
    git = await startGitServer();
    url = await git.createRepo('config');
    await git.commit('config', { 'web/a.yaml': configMap('a', { v: '1' }), 'web/b.yaml': configMap('b', { v: '1' }) });
    op = await startFleetOperator(operator.client, [ns], ns, PROBE_MS);
  });

  afterAll(async () => {
    await op?.stop();
    await git?.close();
    await remote?.cp.stop();
    if (ns !== undefined) await deleteNamespace(ns);
    process.stderr.write(`fleet figures: ${JSON.stringify(figures)}\n`);
  });

  it('syncs an Application into the cluster its destination names: apply, heal, prune, only there', async () => {
    await apply(clusterSecret(ns, 'cluster-remote-a', { name: 'remote-a', server: remote.cp.server, config: { tlsClientConfig: remote.tls } }, { env: 'fleet' }));
    await apply(application('web', { name: 'remote-a' }));
    const t0 = Date.now();
    await waitFor('ConfigMaps a and b on the remote cluster', async () => (await get(remoteClient, R.configMap, dest, 'a')) !== undefined && (await get(remoteClient, R.configMap, dest, 'b')) !== undefined, 30_000);
    figures.firstSyncS = (Date.now() - t0) / 1000;
    await waitFor('Synced', async () => (await client.get<App>(R.application, ns, 'web')).status?.sync?.status === 'Synced', 20_000);
    expect(await get(client, R.configMap, dest, 'a')).toBeUndefined();

    // Drift on the remote cluster is healed from its own watch.
    await remoteClient.mergePatch(R.configMap, dest, 'a', { data: { v: 'edited' } });
    await waitFor('drift healed', async () => (await get<ConfigMap>(remoteClient, R.configMap, dest, 'a'))?.data?.v === '1', 20_000);

    // Idle: what one managed cluster costs (probes, and nothing else while nothing changes).
    await new Promise((r) => setTimeout(r, 1_000));
    const before = [...op.remoteRequests.values()].reduce((a, b) => a + b, 0);
    const idleMs = 15_000;
    await new Promise((r) => setTimeout(r, idleMs));
    const idle = [...op.remoteRequests.values()].reduce((a, b) => a + b, 0) - before;
    figures.idleRemoteRequestsPerMinute = Math.round((idle * 60_000) / idleMs);
    figures.probeMs = PROBE_MS;

    // Prune on the remote cluster when the file goes.
    await git.commit('config', { 'web/b.yaml': null });
    await client.mergePatch(R.application, ns, 'web', { metadata: { annotations: { 'sluice.dev/refresh': String(Date.now()) } } });
    await waitFor('b pruned on the remote cluster', async () => (await get(remoteClient, R.configMap, dest, 'b')) === undefined, 30_000);
  });

  it('a remote apiserver that stops: a condition on its Applications, no prune, and recovery when it returns', async () => {
    const down = remote.cp.restart('kube-apiserver', 6_000);
    await waitFor('unreachable condition', async () => condition(await client.get<App>(R.application, ns, 'web'), 'ComparisonError')?.includes('unreachable') === true, 20_000);
    const during = await client.get<App>(R.application, ns, 'web');
    expect(during.status?.resources?.map((r) => r.name)).toEqual(['a']);
    await down;
    await waitFor('condition cleared', async () => condition(await client.get<App>(R.application, ns, 'web'), 'ComparisonError') === undefined, 40_000);
    expect(await get(remoteClient, R.configMap, dest, 'a')).toBeDefined();
  });

  it('a bad CA, an unknown cluster or a refused token is a condition naming the field or the cause, and no credential reaches status', async () => {
    const key = remote.tls.keyData;
    await apply(clusterSecret(ns, 'cluster-bad', { name: 'bad-ca', server: 'https://127.0.0.1:1', config: { tlsClientConfig: { ...remote.tls, caData: Buffer.from('nonsense').toString('base64') } } }));
    await apply(application('bad', { name: 'bad-ca' }));
    await apply(application('nowhere', { server: 'https://127.0.0.1:2' }));
    // A token the apiserver does not know (an expired one answers the same 401).
    await apply(clusterSecret(ns, 'cluster-expired', { name: 'expired', server: remote.cp.server, config: { bearerToken: 'expired-token-value', tlsClientConfig: { caData: remote.tls.caData } } }));
    await apply(application('expired', { name: 'expired' }));
    await waitFor('credentials refused', async () => condition(await client.get<App>(R.application, ns, 'expired'), 'ComparisonError')?.includes('refuses the Secret\'s credentials (Unauthorized') === true, 20_000);
    expect(JSON.stringify(await client.get<App>(R.application, ns, 'expired'))).not.toContain('expired-token-value');
    await waitFor('bad CA condition', async () => condition(await client.get<App>(R.application, ns, 'bad'), 'InvalidSpecError')?.includes('data.config.tlsClientConfig.caData') === true, 20_000);
    await waitFor('unknown cluster condition', async () => condition(await client.get<App>(R.application, ns, 'nowhere'), 'InvalidSpecError')?.includes('spec.destination.server') === true, 20_000);
    const text = JSON.stringify(await client.get<App>(R.application, ns, 'bad'));
    expect(text).not.toContain(key.slice(0, 40));
    expect(text).not.toContain('PRIVATE KEY');
    await client.delete(R.application, ns, 'bad');
    await client.delete(R.application, ns, 'nowhere');
    await client.delete(R.application, ns, 'expired');
    await client.delete(R.secret, ns, 'cluster-expired');
    await client.delete(R.secret, ns, 'cluster-bad');
  });

  it('an ApplicationSet with a clusters generator: one Application per cluster Secret, added and removed with them', async () => {
    await apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'ApplicationSet',
      metadata: { name: 'fleet', namespace: ns },
      spec: {
        generators: [{ clusters: { selector: { matchLabels: { env: 'fleet' } } } }],
        syncPolicy: { preserveResourcesOnDeletion: true },
        template: {
          metadata: { name: '{{name}}-web', labels: { cluster: '{{name}}' } },
          spec: { source: { repoURL: url, path: 'web' }, destination: { name: '{{name}}', namespace: 'fleet-{{name}}' }, syncPolicy: { automated: { prune: true }, syncOptions: ['CreateNamespace=true'] }, pollInterval: '10s' },
        },
      },
    });
    const names = async (): Promise<string[]> =>
      (await client.list<KubeObject>(R.application, ns, { labelSelector: 'cluster' })).items.map((a) => a.metadata?.name ?? '').sort();
    await waitFor('one Application', async () => (await names()).join() === 'remote-a-web', 20_000);
    // A second Secret for the same apiserver (another name, and a ServiceAccount's bearer token this time): one more
    // Application, synced there.
    await remote.cp.kubectl(['create', 'serviceaccount', 'sluice-fleet', '-n', 'default']);
    await remote.cp.kubectl(['create', 'clusterrolebinding', 'sluice-fleet', '--clusterrole=cluster-admin', '--serviceaccount=default:sluice-fleet']);
    const token = (await remote.cp.kubectl(['create', 'token', 'sluice-fleet', '-n', 'default', '--duration=1h'])).trim();
    const t0 = Date.now();
    await apply(clusterSecret(ns, 'cluster-remote-b', { name: 'remote-b', server: `${remote.cp.server}/`, config: { bearerToken: token, tlsClientConfig: { caData: remote.tls.caData } } }, { env: 'fleet' }));
    await waitFor('two Applications', async () => (await names()).join() === 'remote-a-web,remote-b-web', 20_000);
    figures.secretToApplicationS = (Date.now() - t0) / 1000;
    await waitFor('remote-b synced', async () => (await get(remoteClient, R.configMap, 'fleet-remote-b', 'a')) !== undefined, 30_000);
    // The Secret goes: its Application is deleted, and (preserveResourcesOnDeletion) what it deployed stays.
    await client.delete(R.secret, ns, 'cluster-remote-b');
    await waitFor('back to one Application', async () => (await names()).join() === 'remote-a-web', 20_000);
    expect(await get(remoteClient, R.configMap, 'fleet-remote-b', 'a')).toBeDefined();
    // The set's status follows its next reconcile (the deletion wakes it), not the delete call itself.
    await waitFor('the set lists one Application', async () => (await client.get<AppSet>(R.applicationSet, ns, 'fleet')).status?.resources?.map((r) => r.name).join() === 'remote-a-web', 20_000);
  });

  it('duplicate generated names and an unknown parameter are conditions naming them; nothing is created for them', async () => {
    await apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'ApplicationSet',
      metadata: { name: 'dupes', namespace: ns },
      spec: {
        generators: [{ list: { elements: [{ app: 'one', path: 'web' }, { app: 'one', path: 'other' }, { app: 'two', path: 'web' }] } }],
        template: { metadata: { name: 'dup-{{app}}', labels: { set: 'dupes' } }, spec: { source: { repoURL: url, path: '{{path}}' }, destination: { name: 'remote-a', namespace: '{{nmespace}}' } } },
      },
    });
    await waitFor('ErrorOccurred', async () => condition(await client.get<AppSet>(R.applicationSet, ns, 'dupes'), 'ErrorOccurred') !== undefined, 20_000);
    const message = condition(await client.get<AppSet>(R.applicationSet, ns, 'dupes'), 'ErrorOccurred') ?? '';
    expect(message).toContain('spec.template.spec.destination.namespace: unknown parameter "nmespace"');
    expect((await client.list<KubeObject>(R.application, ns, { labelSelector: 'set=dupes' })).items).toEqual([]);
    // Fixed template: the duplicate is refused by name, the other two are created.
    await client.mergePatch(R.applicationSet, ns, 'dupes', { spec: { template: { spec: { destination: { namespace: 'dupes' } } } } });
    await waitFor('two created', async () => (await client.list<KubeObject>(R.application, ns, { labelSelector: 'set=dupes' })).items.length === 2, 20_000);
    await waitFor('duplicate named', async () => condition(await client.get<AppSet>(R.applicationSet, ns, 'dupes'), 'ErrorOccurred')?.includes('"dup-one" is generated by spec.generators[0].list[0] and by spec.generators[0].list[1]') === true, 20_000);
  });

  it('a git directories generator: one Application per matching directory, following new commits', async () => {
    await git.commit('config', { 'envs/dev/cm.yaml': configMap('env', { env: 'dev' }), 'envs/prod/cm.yaml': configMap('env', { env: 'prod' }), 'envs/skip/cm.yaml': configMap('env', { env: 'skip' }) });
    await apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'ApplicationSet',
      metadata: { name: 'envs', namespace: ns },
      spec: {
        generators: [{ git: { repoURL: url, revision: 'main', directories: [{ path: 'envs/*' }, { path: 'envs/skip', exclude: true }] } }],
        template: {
          metadata: { name: 'env-{{path.basename}}', labels: { set: 'envs' } },
          spec: { source: { repoURL: url, path: '{{path}}' }, destination: { name: 'remote-a', namespace: 'env-{{path.basename}}' }, syncPolicy: { automated: {}, syncOptions: ['CreateNamespace=true'] }, pollInterval: '10s' },
        },
      },
    });
    const names = async (): Promise<string> => (await client.list<KubeObject>(R.application, ns, { labelSelector: 'set=envs' })).items.map((a) => a.metadata?.name ?? '').sort().join();
    await waitFor('dev and prod', async () => (await names()) === 'env-dev,env-prod', 20_000);
    await waitFor('prod synced to the remote cluster', async () => (await get<ConfigMap>(remoteClient, R.configMap, 'env-prod', 'env'))?.data?.env === 'prod', 30_000);
    // A new directory; a change to the set (what a webhook or the poll interval would do) reads the repository again.
    await git.commit('config', { 'envs/qa/cm.yaml': configMap('env', { env: 'qa' }) });
    await client.mergePatch(R.applicationSet, ns, 'envs', { metadata: { annotations: { 'sluice.dev/refresh': String(Date.now()) } } });
    await waitFor('qa added', async () => (await names()) === 'env-dev,env-prod,env-qa', 20_000);
  });

  it('deleting an Application with the resources finalizer deletes what it deployed on the remote cluster', async () => {
    await client.mergePatch(R.application, ns, 'web', { metadata: { finalizers: ['resources-finalizer.argocd.argoproj.io'] } });
    await client.delete(R.application, ns, 'web');
    await waitFor('a deleted on the remote cluster', async () => (await get(remoteClient, R.configMap, dest, 'a')) === undefined, 20_000);
    await waitFor('the Application gone', async () => (await get(client, R.application, ns, 'web')) === undefined, 20_000);
  });
});
