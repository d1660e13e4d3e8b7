// Sharded GitOps into a remote cluster (fleet): two real operator processes with --shards=auto and cluster Secrets;
// Applications whose destination is a second control plane. Their objects there carry their owner shard's label; a
// SIGKILLed replica's apps move, the new owner relabels their remote objects before comparing and heals drift there,
// and nothing is deleted and recreated.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { clusterSecret, startRemotePlane, type RemotePlane } from '../../test/support/fleet.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { startOperator, type OperatorProcess } from '../../test/support/operator-process.ts';
import { testClient } from '../../test/support/operator.ts';
import { objectsFollowApps, ownerOf, resyncedSince, syncStarts, uidsOf, type App } from '../../test/support/sharded-gitops.ts';
import { KubeClient, type KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import type { LeaseObject } from '../runtime/leader.ts';
import { INSTANCE_LABEL } from './plan/plan.ts';

const APPS = 4;
const DEST = 'fleet-shard';

type ConfigMap = KubeObject & { data?: Record<string, string> };

describe('sharded GitOps into a remote cluster', () => {
  let ns: string;
  let remote: RemotePlane;
  let remoteClient: KubeClient;
  let git: GitServer;
  let url: string;
  let gitCache: string;
  const ops: OperatorProcess[] = [];
  const { client } = testClient();

  beforeAll(async () => {
    [remote] = await Promise.all([startRemotePlane(), installCrds()]);
    remoteClient = KubeClient.fromDefault({}, remote.cp.kubeconfig);
    ns = await createNamespace('shardfleet');
    git = await startGitServer();
    url = await git.createRepo('config');
    gitCache = await mkdtemp(join(tmpdir(), 'sluice-shardfleet-'));
  });
  afterAll(async () => {
    for (const o of ops) o.kill('SIGKILL');
    await Promise.all(ops.map((o) => o.exited));
    await git?.close();
    await remote?.cp.stop();
    if (ns !== undefined) await deleteNamespace(ns);
    await rm(gitCache, { recursive: true, force: true });
  });

  const apps = async (): Promise<App[]> => (await client.list<App>(R.application, ns)).items;
  const remoteMaps = async (): Promise<ConfigMap[]> => (await remoteClient.list<ConfigMap>(R.configMap, DEST, { labelSelector: INSTANCE_LABEL })).items;
  const settled = async (live: string[]): Promise<boolean> => {
    const as = await apps();
    if (as.length !== APPS || !as.every((a) => a.status?.sync?.status === 'Synced' && live.includes(ownerOf(a) ?? ''))) return false;
    const ms = await remoteMaps();
    return ms.length === APPS * 2 && objectsFollowApps(as, ms);
  };

  it('labels remote objects with their app\'s owner and takes them over when the app moves', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < APPS; i++) for (const c of ['x', 'y']) files[`apps/f${i}/${c}.yaml`] = stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `f${i}-${c}` }, data: { v: '1' } });
    await git.commit('config', files);
    const secret = clusterSecret(ns, 'cluster-remote', { name: 'remote', server: remote.cp.server, config: { tlsClientConfig: remote.tls } });
    expect((await kubectl(['apply', '-f', '-'], JSON.stringify(secret))).code).toBe(0);

    const args = ['--shards=auto', `--leader-election-namespace=${ns}`, `--namespace=${ns}`, `--cluster-secret-namespace=${ns}`, '--leader-election-lease-duration=6', '--leader-election-renew-deadline=4', '--leader-election-retry-period=1'];
    const ids = ['a', 'b'].map((x) => `gfl-${x}-${ns}`.slice(0, 42).replace(/-+$/, ''));
    ops.push(...(await Promise.all(ids.map((id) => startOperator(kubeconfigPath(), id, args, { SLUICE_GIT_CACHE: join(gitCache, id) })))));
    await waitFor('two membership leases', async () => (await client.list<LeaseObject>(R.lease, ns, { labelSelector: 'shard.sluice.dev/ring' })).items.length === 2);
    const manifests = Array.from({ length: APPS }, (_, i) => ({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: `f${i}`, namespace: ns },
      spec: { source: { repoURL: url, targetRevision: 'main', path: `apps/f${i}` }, destination: { name: 'remote', namespace: DEST }, syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] }, pollInterval: '10s' },
    }));
    expect((await kubectl(['apply', '--server-side', '--field-manager=sluice-test', '-f', '-'], manifests.map((m) => stringify(m)).join('---\n'))).code).toBe(0);
    await waitFor('every app Synced, its remote objects labelled with its owner', () => settled(ids), 60_000, 250);
    const uids = uidsOf(await remoteMaps());

    // SIGKILL the replica owning the most apps; drift one of its remote objects while nobody owns it.
    const per = new Map(ids.map((id) => [id, 0]));
    for (const a of await apps()) per.set(ownerOf(a) ?? '', (per.get(ownerOf(a) ?? '') ?? 0) + 1);
    const victim = [...ops].sort((x, y) => (per.get(y.identity) ?? 0) - (per.get(x.identity) ?? 0))[0];
    if (victim === undefined) throw new Error('no replica');
    const victimApps = (await apps()).filter((a) => ownerOf(a) === victim.identity).map((a) => a.metadata?.name ?? '');
    expect(victimApps.length).toBeGreaterThan(0);
    const syncedAt = syncStarts(await apps());
    victim.kill('SIGKILL');
    await victim.exited;
    const drifted = `${victimApps[0]}-x`;
    await remoteClient.mergePatch(R.configMap, DEST, drifted, { data: { v: 'edited' } });
    const survivor = ops.find((o) => o !== victim)?.identity ?? '';
    await waitFor('the victim\'s apps and remote objects on the survivor, drift healed', async () => (await remoteClient.get<ConfigMap>(R.configMap, DEST, drifted)).data?.v === '1' && (await settled([survivor])), 60_000, 250);
    // Taken over before the first compare: no sync operation for a moved app in sync, only for the drifted one.
    const resynced = resyncedSince(await apps(), syncedAt, victimApps);
    expect(resynced).toEqual([victimApps[0]]);
    process.stderr.write(`${victimApps.length} apps and their ${victimApps.length * 2} remote objects moved to ${survivor}\n`);
    expect(uidsOf(await remoteMaps())).toEqual(uids);
  }, 180_000);
});
