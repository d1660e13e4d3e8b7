// Label-selected children under sharding, with real operator processes: the ReplicaSets a shard creates and the
// Services its Rollouts name carry its owner label; each replica caches only its own; when a Rollout moves (a replica
// joins and takes objects through the drain handshake, then another stops) its children follow it to the new owner,
// which carries on the next rollout with the same ReplicaSets (no duplicate, no error).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../../test/support/cluster.ts';
import { installCrds } from '../../../test/support/crds.ts';
import { startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { testClient } from '../../../test/support/operator.ts';
import { sluice } from '../../../test/support/plugin.ts';
import { rolloutManifest } from '../../../test/support/rollouts.ts';
import type { RingView } from '../../cli/commands/shards.ts';
import type { KubeObject } from '../../kube/client.ts';
import { R } from '../../kube/resource.ts';
import { DRAIN_LABEL, OWNER_LABEL, PARENT_ANNOTATION } from './decide.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const ROLLOUTS = 8;

type Obj = KubeObject & { status?: { phase?: string; stableRS?: string; currentPodHash?: string; conditions?: { type: string; status: string }[] } };

const rollout = (name: string, version: string): object => {
  const m = rolloutManifest(name, version, { scaleDownDelaySeconds: 0, canaryService: `${name}-canary`, stableService: `${name}-stable`, steps: [{ setWeight: 50 }, { pause: { duration: 1 } }] }) as { spec: object };
  return { ...m, spec: { ...m.spec, replicas: 2 } };
};
const services = (name: string): object[] => ['stable', 'canary'].map((role) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: `${name}-${role}` }, spec: { selector: { app: name }, ports: [{ port: 80 }] } }));

describe('sharded children', () => {
  let ns: string;
  const ops: OperatorProcess[] = [];
  const { client } = testClient();

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('shardkids');
  });
  afterAll(async () => {
    for (const o of ops) o.kill('SIGKILL');
    await Promise.all(ops.map((o) => o.exited));
    await deleteNamespace(ns);
  });

  const apply = async (objs: object[]): Promise<void> => {
    const res = await kubectl(['apply', '--server-side', '--field-manager=gitops-user', '-n', ns, '-f', '-'], objs.map((o) => stringify(o)).join('---\n'));
    expect(res.stderr).toBe('');
  };
  const list = async (r: typeof R.rollout): Promise<Obj[]> => (await client.list<Obj>(r, ns)).items;
  const healthyAt = async (version: string): Promise<boolean> => {
    const rs = await list(R.rollout);
    return rs.length === ROLLOUTS && rs.every((r) => r.status?.phase === 'Healthy' && r.status.stableRS === r.status.currentPodHash && JSON.stringify(r.spec).includes(`:${version}`));
  };
  /** Children whose owner label differs from their Rollout's, as `kind/name: child-owner vs rollout-owner`. */
  const strays = async (): Promise<string[]> => {
    const rollouts = await list(R.rollout);
    const ownerOf = new Map(rollouts.map((r) => [r.metadata?.name ?? '', r.metadata?.labels?.[OWNER_LABEL]]));
    const byUid = new Map(rollouts.map((r) => [r.metadata?.uid ?? '', r.metadata?.labels?.[OWNER_LABEL]]));
    const out: string[] = [];
    for (const rs of await list(R.replicaSet)) {
      const want = byUid.get(rs.metadata?.ownerReferences?.[0]?.uid ?? '');
      if (rs.metadata?.labels?.[OWNER_LABEL] !== want) out.push(`rs/${rs.metadata?.name}: ${rs.metadata?.labels?.[OWNER_LABEL]} vs ${want}`);
    }
    for (const svc of await list(R.service)) {
      const parent = svc.metadata?.annotations?.[PARENT_ANNOTATION];
      const want = ownerOf.get((svc.metadata?.name ?? '').replace(/-(stable|canary)$/, ''));
      if (svc.metadata?.labels?.[OWNER_LABEL] !== want || parent !== `Rollout/${(svc.metadata?.name ?? '').replace(/-(stable|canary)$/, '')}`) out.push(`svc/${svc.metadata?.name}: ${svc.metadata?.labels?.[OWNER_LABEL]} vs ${want} (${parent})`);
    }
    return out;
  };
  const labelled = async (id: string, r: typeof R.rollout): Promise<number> => (await client.list<Obj>(r, ns, { labelSelector: `${OWNER_LABEL}=${id}` })).items.length;

  it('labels, caches and moves ReplicaSets and Services with their Rollout', async () => {
    const args = ['--shards=auto', `--leader-election-namespace=${ns}`, `--namespace=${ns}`, '--leader-election-lease-duration=6', '--leader-election-renew-deadline=4', '--leader-election-retry-period=1'];
    const id = (x: string): string => `kids-${x}-${ns}`.slice(0, 42).replace(/-+$/, '');
    ops.push(await startOperator(kubeconfigPath(), id('a'), args));
    const names = Array.from({ length: ROLLOUTS }, (_, i) => `k${i}`);
    await apply(names.flatMap(services));
    await apply(names.map((n) => rollout(n, 'v1')));
    await waitFor('v1 Healthy everywhere', () => healthyAt('v1'), 45_000, 250);
    expect(await strays()).toEqual([]);

    // A second replica joins: the sharder drains about half the Rollouts to it; it takes their children over.
    ops.push(await startOperator(kubeconfigPath(), id('b'), args));
    const [a, b] = ops as [OperatorProcess, OperatorProcess];
    const t0 = Date.now();
    await waitFor('Rollouts spread over both replicas', async () => (await labelled(b.identity, R.rollout)) >= ROLLOUTS / 2 - 1 && (await labelled(a.identity, R.rollout)) >= ROLLOUTS / 2 - 1, 30_000, 200);
    await apply(names.map((n) => rollout(n, 'v2')));
    await waitFor('v2 Healthy everywhere', () => healthyAt('v2'), 45_000, 250);
    process.stderr.write(`v2 Healthy on two shards ${Date.now() - t0} ms after the second joined\n`);
    await waitFor('children follow their Rollouts', async () => (await strays()).length === 0, 15_000, 200);

    // Each replica caches only its own ReplicaSets and Services (the gauge refreshes every 5 s).
    for (const op of [a, b]) {
      const mine = { rs: await labelled(op.identity, R.replicaSet), svc: await labelled(op.identity, R.service) };
      expect(mine.rs).toBeGreaterThan(0);
      await waitFor(`${op.identity}'s cache sizes`, async () => (await op.metric('sluice_cache_objects', 'resource="replicasets"')) === mine.rs && (await op.metric('sluice_cache_objects', 'resource="services"')) === mine.svc, 12_000, 500);
      process.stderr.write(`${op.identity}: ${mine.rs} ReplicaSets, ${mine.svc} Services cached (of ${(await list(R.replicaSet)).length} and ${(await list(R.service)).length})\n`);
    }

    // The ring view: both members, ready, one leading, owning what their labels say.
    const shown = await sluice(['shards', '-n', ns, '-o', 'json']);
    expect(shown.stderr).toBe('');
    const view = JSON.parse(shown.stdout) as RingView;
    expect(view.shards.map((s) => [s.shard, s.state, s.owned.rollouts])).toEqual(await Promise.all([a, b].map(async (op) => [op.identity, 'ready', await labelled(op.identity, R.rollout)])));
    expect([a.identity, b.identity]).toContain(view.leader);
    const tableOut = await sluice(['shards', '-n', ns]);
    process.stderr.write(tableOut.stdout);
    expect(tableOut.stdout).toMatch(/^SHARD\s+STATE\s+LEADER\s+RENEWED\s+ROLLOUTS/);

    // A hand edit naming the other live shard: that shard takes the Rollout's children; the sharder then either
    // drains it back or, when the ring (computed afresh for an edited label) agrees, leaves it. Either way the
    // move settles and the children end up with the Rollout's owner.
    const k0 = async (): Promise<Record<string, string> | undefined> => (await client.get<Obj>(R.rollout, ns, 'k0')).metadata?.labels;
    const was = (await k0())?.[OWNER_LABEL];
    const other = was === a.identity ? b.identity : a.identity;
    expect((await kubectl(['label', '--overwrite', '-n', ns, 'rollouts.sluice.dev/k0', `${OWNER_LABEL}=${other}`])).stderr).toBe('');
    await sleep(3_000); // a few sharder passes (retry period 1 s)
    await waitFor('the edited Rollout settled on a live shard', async () => {
      const l = await k0();
      return [a.identity, b.identity].includes(l?.[OWNER_LABEL] ?? '') && l?.[DRAIN_LABEL] === undefined;
    }, 20_000, 100);
    process.stderr.write(`k0: ${was} → edited to ${other} → ${(await k0())?.[OWNER_LABEL]}\n`);
    await waitFor('children follow the edited Rollout', async () => (await strays()).length === 0, 15_000, 200);

    // A hand edit of a ReplicaSet's label: its Rollout's owner takes it back.
    const someRs = (await list(R.replicaSet))[0]?.metadata?.name ?? '';
    expect((await kubectl(['label', '--overwrite', '-n', ns, `replicaset/${someRs}`, `${OWNER_LABEL}=nobody`])).stderr).toBe('');
    await waitFor('the edited ReplicaSet label put back', async () => (await strays()).length === 0, 15_000, 200);

    // The first replica stops: its Rollouts move to the second, children too; the next rollout runs there.
    a.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    await waitFor('every Rollout on the second replica', async () => (await labelled(b.identity, R.rollout)) === ROLLOUTS, 20_000, 200);
    await apply(names.map((n) => rollout(n, 'v3')));
    await waitFor('v3 Healthy everywhere', () => healthyAt('v3'), 45_000, 250);
    expect(await strays()).toEqual([]);
    // One ReplicaSet per revision and Rollout: a new owner never created one its cache had not seen yet.
    expect((await list(R.replicaSet)).length).toBe(ROLLOUTS * 3);
    const errors = (await list(R.rollout)).filter((r) => r.status?.conditions?.some((c) => c.type === 'ReconcileError' && c.status === 'True'));
    expect(errors.map((r) => r.metadata?.name)).toEqual([]);
  }, 150_000);
});
