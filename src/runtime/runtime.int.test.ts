import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { createNamespace, deleteNamespace, waitFor } from '../../test/support/cluster.ts';
import { testClient, testLogger, testMetrics } from '../../test/support/operator.ts';
import type { ReconcileRequest } from './controller.ts';
import { Manager } from './manager.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const ANN = 'sluice.dev/seen';

/**
 * A reconciler over ConfigMaps that records what the runtime guarantees: it stamps `data.value` into an
 * annotation (one write per change, conditional on what it read), fails on demand, and asks for timers.
 */
describe('controller runtime on the real apiserver', () => {
  let ns: string;
  const { client, requests } = testClient();
  const metrics = testMetrics();
  const active = new Set<string>();
  const calls = new Map<string, number>();
  let overlaps = 0;
  let staleReads = 0;
  const lastWritten = new Map<string, string>();
  const writtenAtCall = new Map<string, number>();
  let manager: Manager;
  let running: Promise<unknown>;

  beforeAll(async () => {
    ns = await createNamespace('runtime');
    manager = new Manager({ client, log: testLogger(), metrics, namespaces: [ns] });
    const cms = manager.cache<ConfigMap>(R.configMap);
    const ctrl = manager.addController({
      name: 'cm-test',
      for: cms,
      workers: 4,
      reconciler: {
        reconcile: async (req: ReconcileRequest) => {
          if (active.has(req.key)) overlaps++;
          active.add(req.key);
          calls.set(req.name, (calls.get(req.name) ?? 0) + 1);
          try {
            await new Promise((r) => setTimeout(r, 20)); // long enough for events to pile up meanwhile
            const cm = cms.get(req.namespace, req.name);
            if (cm === undefined) return;
            const seen = cm.metadata?.annotations?.[ANN];
            // Read-your-writes: only we write the annotation, so the cache must show our last write, never an older one.
            const ours = lastWritten.get(req.key);
            if (ours !== undefined && seen !== ours) staleReads++;
            if (req.name.startsWith('fail') && (calls.get(req.name) ?? 0) < 3) throw new Error('planned failure');
            if (req.name === 'timer' && (calls.get(req.name) ?? 0) < 4) return { requeueAfterMs: 200 };
            const want = cm.data?.value ?? '';
            if (seen === want) return;
            const updated = await client.jsonPatch<ConfigMap>(R.configMap, req.namespace, req.name, [
              { op: 'test', path: '/metadata/resourceVersion', value: cm.metadata?.resourceVersion },
              { op: 'add', path: `/metadata/annotations`, value: { ...(cm.metadata?.annotations ?? {}), [ANN]: want } },
            ]);
            lastWritten.set(req.key, want);
            writtenAtCall.set(req.name, calls.get(req.name) ?? 0);
            ctrl.expectations.expect(req.key, updated.metadata?.resourceVersion);
          } finally {
            active.delete(req.key);
          }
        },
      },
    });
    running = manager.run();
    await waitFor('caches to sync', () => manager.ready());
  });

  afterAll(async () => {
    await manager.stop();
    await running;
    await deleteNamespace(ns);
  });

  const cm = (name: string, value: string): ConfigMap => ({ metadata: { name, namespace: ns }, data: { value } });
  const seen = async (name: string): Promise<string | undefined> => (await client.get<ConfigMap>(R.configMap, ns, name)).metadata?.annotations?.[ANN];

  it('reconciles a new object and every change to it, never one key twice at once', async () => {
    await client.create(R.configMap, cm('a', 'v0'));
    await waitFor('a reconciled', async () => (await seen('a')) === 'v0');
    for (let i = 1; i <= 15; i++) await client.mergePatch(R.configMap, ns, 'a', { data: { value: `v${i}` } });
    await waitFor('the last change reconciled', async () => (await seen('a')) === 'v15');
    expect(overlaps).toBe(0);
    expect(staleReads).toBe(0);
    // Changes that arrived while a reconcile ran were folded together: fewer reconciles than events.
    expect(calls.get('a')).toBeLessThan(2 * 16 + 1);
  });

  it('retries a failing reconcile with backoff until it succeeds', async () => {
    await client.create(R.configMap, cm('fail-1', 'x'));
    await waitFor('fail-1 reconciled after two failures', async () => (await seen('fail-1')) === 'x');
    expect(writtenAtCall.get('fail-1')).toBe(3); // two failures, then the success
    const errors = (await metrics.reconciles.get()).values.find((v) => v.labels.result === 'error');
    expect(errors?.value).toBeGreaterThanOrEqual(2); // counted (conditional writes that lost a race count too)
  });

  it('honours requeueAfter as a timer', async () => {
    const t0 = Date.now();
    await client.create(R.configMap, cm('timer', 't'));
    await waitFor('timer reconciled after three requeues', async () => (await seen('timer')) === 't');
    expect(writtenAtCall.get('timer')).toBe(4);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3 * 200);
  });

  it('sends only the writes a change needs (one patch per change, no reads of live objects)', async () => {
    const before = new Map(requests);
    await client.create(R.configMap, cm('cheap', '1'));
    await waitFor('cheap reconciled', async () => (await seen('cheap')) === '1');
    const delta = (verb: string): number => (requests.get(verb) ?? 0) - (before.get(verb) ?? 0);
    expect(delta('PATCH')).toBe(1); // the reconciler's one write
    expect(delta('POST')).toBe(1); // the test's create
  });
});

describe('readiness', () => {
  it('is gated by the caches registered before run(), not by a watch opened later that can never list', async () => {
    const ns = await createNamespace('ready');
    const manager = new Manager({ client: testClient().client, log: testLogger(), metrics: testMetrics(), namespaces: [ns] });
    manager.cache<KubeObject>(R.configMap);
    const running = manager.run();
    try {
      await waitFor('ready after the startup caches listed', () => Promise.resolve(manager.ready()));
      // A kind the apiserver does not serve: its list fails forever, as a forbidden one would.
      const missing = manager.cache<KubeObject>({ group: 'nowhere.sluice.dev', version: 'v1', kind: 'Missing', plural: 'missings', namespaced: true });
      await new Promise((r) => setTimeout(r, 1500));
      expect(missing.hasSynced()).toBe(false);
      expect(manager.ready()).toBe(true);
    } finally {
      await manager.stop();
      await running;
      await deleteNamespace(ns);
    }
  });
});
