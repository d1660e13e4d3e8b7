// Sharded GitOps with three real operator processes and a real Git server: each replica applies its Applications'
// objects with its owner label and caches only those; when a replica is SIGKILLed, its Applications move and their
// objects are relabelled by the new owner before its first compare, which then heals drift and applies and prunes
// new commits; nothing is deleted by accident (every object keeps its uid) and no two replicas reconcile one app at
// once.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { startOperator, type OperatorProcess } from '../../test/support/operator-process.ts';
import { testClient } from '../../test/support/operator.ts';
import { objectsFollowApps, ownerOf, resyncedSince, syncStarts, uidsOf, type App } from '../../test/support/sharded-gitops.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import type { LeaseObject } from '../runtime/leader.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';
import { INSTANCE_LABEL } from './plan/plan.ts';
import { REFRESH_ANNOTATION } from './sync.ts';

const APPS = 9;
const MAPS = 3;

type ConfigMap = KubeObject & { data?: Record<string, string> };

const configMap = (name: string, data: Record<string, string>): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
const appName = (i: number): string => `a${i}`;

/** The application controller's reconcile spans each replica logged (debug), by key. */
function spans(ops: OperatorProcess[]): Map<string, { replica: string; start: number; end: number }[]> {
  const out = new Map<string, { replica: string; start: number; end: number }[]>();
  for (const op of ops) {
    for (const line of readFileSync(op.logFile, 'utf8').split('\n')) {
      if (!line.includes('"msg":"reconcile span"')) continue;
      const l = JSON.parse(line) as { controller: string; key: string; startedAt: number; endedAt: number };
      if (l.controller !== 'application') continue;
      out.set(l.key, [...(out.get(l.key) ?? []), { replica: op.identity, start: l.startedAt, end: l.endedAt }]);
    }
  }
  return out;
}

describe('sharded GitOps: managed objects follow their Application', () => {
  let ns: string;
  let git: GitServer;
  let url: string;
  let gitCache: string;
  const ops: OperatorProcess[] = [];
  const { client } = testClient();

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('shardapp');
    git = await startGitServer();
    url = await git.createRepo('config');
    gitCache = await mkdtemp(join(tmpdir(), 'sluice-shardapp-'));
  });
  afterAll(async () => {
    for (const o of ops) o.kill('SIGKILL');
    await Promise.all(ops.map((o) => o.exited));
    await git.close();
    await deleteNamespace(ns);
    await rm(gitCache, { recursive: true, force: true });
  });

  const apps = async (): Promise<App[]> => (await client.list<App>(R.application, ns)).items;
  const maps = async (selector = INSTANCE_LABEL): Promise<ConfigMap[]> => (await client.list<ConfigMap>(R.configMap, ns, { labelSelector: selector })).items;
  /** Every app Synced and Healthy at `commit`, and every managed object labelled with its app's owner. */
  const settled = async (commit: string, live: string[]): Promise<boolean> => {
    const as = await apps();
    if (as.length !== APPS || !as.every((a) => a.status?.sync?.status === 'Synced' && a.status.sync.revision === commit && a.status.health?.status === 'Healthy' && live.includes(ownerOf(a) ?? ''))) return false;
    return objectsFollowApps(as, await maps());
  };
  /** Each replica's cache of ConfigMaps (only the sync's watches cache them) holds exactly the ones labelled for it. */
  const cachesHoldOwnOnly = async (live: OperatorProcess[]): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const op of live) {
      const mine = (await maps(`${INSTANCE_LABEL},${OWNER_LABEL}=${op.identity}`)).length;
      await waitFor(`${op.identity} caches its ${mine} ConfigMaps`, async () => (await op.metric('sluice_cache_objects', 'resource="configmaps"')) === mine, 15_000, 500);
      out[op.identity] = mine;
    }
    return out;
  };

  it('labels, caches per shard, moves with the app on a SIGKILL, heals drift there, prunes nothing by accident', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < APPS; i++) for (let j = 0; j < MAPS; j++) files[`apps/${appName(i)}/c${j}.yaml`] = configMap(`${appName(i)}-c${j}`, { v: '1' });
    const c1 = await git.commit('config', files);

    const args = ['--shards=auto', `--leader-election-namespace=${ns}`, `--namespace=${ns}`, '--leader-election-lease-duration=6', '--leader-election-renew-deadline=4', '--leader-election-retry-period=1', '--log-level=debug'];
    const ids = ['a', 'b', 'c'].map((x) => `gsh-${x}-${ns}`.slice(0, 42).replace(/-+$/, ''));
    ops.push(...(await Promise.all(ids.map((id) => startOperator(kubeconfigPath(), id, args, { SLUICE_GIT_CACHE: join(gitCache, id) })))));
    await waitFor('three membership leases', async () => (await client.list<LeaseObject>(R.lease, ns, { labelSelector: 'shard.sluice.dev/ring' })).items.length === 3);

    const manifests = Array.from({ length: APPS }, (_, i) => ({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: appName(i), namespace: ns },
      spec: { source: { repoURL: url, targetRevision: 'main', path: `apps/${appName(i)}` }, destination: { namespace: ns }, syncPolicy: { automated: { prune: true, selfHeal: true } }, pollInterval: '10s' },
    }));
    expect((await kubectl(['apply', '--server-side', '--field-manager=sluice-test', '-f', '-'], manifests.map((m) => stringify(m)).join('---\n'))).code).toBe(0);
    const t0 = Date.now();
    await waitFor('every app Synced, its objects labelled with its owner', () => settled(c1, ids), 60_000, 250);
    process.stderr.write(`${APPS} apps, ${APPS * MAPS} objects synced and labelled ${Date.now() - t0} ms after the apply\n`);
    const total = (await maps()).length;
    expect(total).toBe(APPS * MAPS);

    // Each replica caches only its own apps' objects.
    const cached = await cachesHoldOwnOnly(ops);
    process.stderr.write(`managed ConfigMaps cached per replica (3 replicas): ${JSON.stringify(cached)} of ${total}\n`);
    expect(Object.values(cached).reduce((a, b) => a + b, 0)).toBe(total);
    expect(Math.max(...Object.values(cached))).toBeLessThan(total);
    const uids = uidsOf(await maps());

    // SIGKILL a replica that owns apps (not the leader, so the takeover waits only for its Lease to expire).
    const leader = (await client.get<LeaseObject>(R.lease, ns, 'sluice-leader')).spec?.holderIdentity;
    const victim = ops.filter((o) => o.identity !== leader).sort((x, y) => (cached[y.identity] ?? 0) - (cached[x.identity] ?? 0))[0];
    if (victim === undefined) throw new Error('no non-leader replica');
    const victimApps = (await apps()).filter((a) => ownerOf(a) === victim.identity).map((a) => a.metadata?.name ?? '');
    expect(victimApps.length).toBeGreaterThan(0);
    const syncedAt = syncStarts(await apps());
    victim.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    // Drift while nobody owns it: a person edits one of the victim's objects.
    const drifted = `${victimApps[0]}-c0`;
    expect((await kubectl(['patch', '-n', ns, 'configmap', drifted, '--type=merge', '-p', '{"data":{"v":"edited"}}'])).stderr).toBe('');
    const survivors = ops.filter((o) => o !== victim);
    const live = survivors.map((o) => o.identity);
    await waitFor('the victim\'s apps and objects on live shards, drift healed', async () => {
      const cm = await client.get<ConfigMap>(R.configMap, ns, drifted);
      return cm.data?.v === '1' && (await settled(c1, live));
    }, 60_000, 250);
    process.stderr.write(`${victimApps.length} apps of the SIGKILLed replica and their ${victimApps.length * MAPS} objects taken over, drift healed, ${Date.now() - killedAt} ms after the kill\n`);
    // The new owner took the objects over before comparing, so it found them in sync: no sync operation ran for the
    // moved apps but the one whose object drifted (without the takeover, its watch would miss them: "Missing").
    const resynced = resyncedSince(await apps(), syncedAt, victimApps);
    expect(resynced).toEqual([victimApps[0]]);
    const after = await cachesHoldOwnOnly(survivors);
    process.stderr.write(`managed ConfigMaps cached per replica (2 replicas): ${JSON.stringify(after)} of ${total}\n`);
    expect(Object.values(after).reduce((a, b) => a + b, 0)).toBe(total);
    // Nothing was deleted and recreated: every object is the one first created.
    expect(uidsOf(await maps())).toEqual(uids);

    // A new commit for a moved app: its new owner applies and prunes it (the prune it was asked for, and only that).
    const moved = victimApps[0] ?? '';
    const c2 = await git.commit('config', { [`apps/${moved}/c0.yaml`]: configMap(`${moved}-c0`, { v: '2' }), [`apps/${moved}/c2.yaml`]: null, [`apps/${moved}/c3.yaml`]: configMap(`${moved}-c3`, { v: '1' }) });
    for (let i = 0; i < APPS; i++) await client.mergePatch(R.application, ns, appName(i), { metadata: { annotations: { [REFRESH_ANNOTATION]: String(Date.now()) } } });
    await waitFor('c2 applied by the new owner', () => settled(c2, live), 60_000, 250);
    const now = new Map((await maps()).map((m) => [m.metadata?.name ?? '', m]));
    expect(now.get(`${moved}-c0`)?.data).toEqual({ v: '2' });
    expect(now.has(`${moved}-c2`)).toBe(false);
    expect(now.has(`${moved}-c3`)).toBe(true);
    for (const [name, uid] of uids) if (name !== `${moved}-c2`) expect([name, now.get(name)?.metadata?.uid]).toEqual([name, uid]);

    // A replica joins: the sharder drains some apps from their live owners to it (the handshake), and it takes their
    // objects over: again in sync at once (no sync operation), each cache its own, every object the same.
    const before = new Map((await apps()).map((a) => [a.metadata?.name ?? '', { owner: ownerOf(a), startedAt: a.status?.operationState?.startedAt }]));
    const uids2 = uidsOf(await maps());
    const joiner = await startOperator(kubeconfigPath(), `gsh-d-${ns}`.slice(0, 42).replace(/-+$/, ''), args, { SLUICE_GIT_CACHE: join(gitCache, 'd') });
    ops.push(joiner);
    await waitFor('the joiner owns apps, their objects relabelled', async () => (await apps()).some((a) => ownerOf(a) === joiner.identity) && (await settled(c2, [...live, joiner.identity])), 60_000, 250);
    const drained = (await apps()).filter((a) => ownerOf(a) === joiner.identity);
    expect(drained.map((a) => [a.metadata?.name, a.status?.operationState?.startedAt])).toEqual(drained.map((a) => [a.metadata?.name, before.get(a.metadata?.name ?? '')?.startedAt]));
    const joined = await cachesHoldOwnOnly([...survivors, joiner]);
    process.stderr.write(`after a replica joined, ${drained.length} apps drained to it; managed ConfigMaps cached per replica: ${JSON.stringify(joined)}\n`);
    expect(Object.values(joined).reduce((a, b) => a + b, 0)).toBe(total);
    expect(uidsOf(await maps())).toEqual(uids2);

    // Scale in to one replica (graceful stops: each releases its Lease): the last one holds and caches everything.
    const [last, ...leaving] = [...survivors, joiner];
    if (last === undefined) throw new Error('no replica left');
    for (const op of leaving) op.kill('SIGTERM');
    for (const op of leaving) expect(await op.exited).toBe(0);
    await waitFor('every app on the last replica', () => settled(c2, [last.identity]), 60_000, 250);
    const one = await cachesHoldOwnOnly([last]);
    process.stderr.write(`managed ConfigMaps cached by a single replica: ${JSON.stringify(one)}\n`);
    expect(one[last.identity]).toBe(total);
    expect(uidsOf(await maps())).toEqual(uids2);

    // Never two replicas on one app at once.
    const overlaps: string[] = [];
    for (const [key, ss] of spans(ops)) {
      const sorted = [...ss].sort((x, y) => x.start - y.start);
      for (let i = 1; i < sorted.length; i++) {
        const cur = sorted[i];
        for (const p of sorted.slice(0, i)) if (cur !== undefined && p.replica !== cur.replica && p.end > cur.start) overlaps.push(`${key}: ${p.replica} [${p.start},${p.end}] vs ${cur.replica} from ${cur.start}`);
      }
    }
    const handedOver = [...spans(ops).values()].filter((ss) => new Set(ss.map((s) => s.replica)).size > 1).length;
    process.stderr.write(`apps reconciled by more than one replica (one after the other): ${handedOver}; overlapping spans: ${overlaps.length}\n`);
    expect(handedOver).toBeGreaterThanOrEqual(victimApps.length);
    expect(overlaps).toEqual([]);
  }, 240_000);
});
