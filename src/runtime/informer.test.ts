// The informer's list/watch state machine against a scripted stand-in for the apiserver (pure logic: the real
// apiserver cases, outage and restart, are in outage.int.test.ts).
import { describe, expect, it } from '@jest/globals';
import type { KubeClient, KubeList, KubeObject, WatchEvent } from '../kube/client.ts';
import { errorFromResponse } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import { createLogger } from '../log/logger.ts';
import { Informer, type InformerEvent } from './informer.ts';

const cm = (name: string, rv: string): KubeObject => ({ metadata: { name, namespace: 'ns', resourceVersion: rv, managedFields: [{ manager: 'x' }] } });

type Step = { list: KubeObject[]; rv: string } | { watch: WatchEvent<KubeObject>[]; then: 'gone' | 'close' | 'fail' | 'hang' };

/** Serves lists and watches from a script, in order, and records what was asked. */
function scripted(steps: Step[]) {
  const asked: string[] = [];
  let i = 0;
  const next = (): Step | undefined => steps[i++];
  const client = {
    list: (_r: unknown, _ns: unknown, query: Record<string, unknown>): Promise<KubeList<KubeObject>> => {
      asked.push(`list limit=${String(query.limit)}`);
      const s = next();
      if (s === undefined || !('list' in s)) return Promise.reject(new Error(`unexpected list at step ${i}`));
      return Promise.resolve({ metadata: { resourceVersion: s.rv }, items: s.list });
    },
    watch: async (_p: string, query: Record<string, unknown>, onEvent: (e: WatchEvent<KubeObject>) => void, opts: { signal?: AbortSignal }): Promise<void> => {
      asked.push(`watch rv=${String(query.resourceVersion)}`);
      const s = next();
      if (s === undefined || !('watch' in s)) {
        // End of script: block until stopped.
        await new Promise<void>((r) => (opts.signal?.aborted === true ? r() : opts.signal?.addEventListener('abort', () => r(), { once: true })));
        return;
      }
      for (const e of s.watch) onEvent(e);
      if (s.then === 'gone') throw errorFromResponse(410, JSON.stringify({ reason: 'Expired', message: 'too old resource version' }));
      if (s.then === 'fail') throw errorFromResponse(500, 'boom');
    },
  };
  return { client: client as unknown as KubeClient, asked };
}

describe('informer', () => {
  it('lists, watches from the list version, relists at once on 410 and reports what the relist changed', async () => {
    const { client, asked } = scripted([
      { list: [cm('a', '1'), cm('b', '2')], rv: '2' },
      { watch: [{ type: 'MODIFIED', object: cm('a', '3') }], then: 'gone' },
      { list: [cm('a', '3'), cm('c', '5')], rv: '5' }, // b was deleted while we were not watching
    ]);
    const inf = new Informer<KubeObject>({ client, resource: R.configMap, log: createLogger({ level: 'silent' }), minBackoffMs: 1 });
    const seen: [InformerEvent, string, string | undefined][] = [];
    inf.on((ev, o) => seen.push([ev, o.metadata?.name ?? '', o.metadata?.resourceVersion]));
    inf.on(() => {
      throw new Error('a broken handler must not stop the informer');
    });
    inf.start();
    await inf.waitForSync();
    for (let t = 0; t < 100 && !asked.includes('watch rv=5'); t++) await new Promise((r) => setTimeout(r, 5));
    await inf.stop();
    expect(asked).toEqual(['list limit=500', 'watch rv=2', 'list limit=500', 'watch rv=5']);
    expect(seen).toEqual([
      ['add', 'a', '1'],
      ['add', 'b', '2'],
      ['update', 'a', '3'],
      ['add', 'c', '5'],
      ['delete', 'b', '2'],
    ]);
    expect(inf.stats.relists).toBe(1);
    expect(inf.list().map((o) => o.metadata?.name).sort()).toEqual(['a', 'c']);
  });

  it('keeps cached objects frozen and without managedFields', async () => {
    const { client } = scripted([{ list: [cm('a', '1')], rv: '1' }]);
    const inf = new Informer<KubeObject>({ client, resource: R.configMap, log: createLogger({ level: 'silent' }) });
    inf.start();
    await inf.waitForSync();
    const a = inf.get('ns', 'a');
    await inf.stop();
    expect(a?.metadata?.managedFields).toBeUndefined();
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a?.metadata)).toBe(true);
    expect(a?.kind).toBe('ConfigMap'); // list items get the kind a watch event would carry
  });

  it('re-watches from its last version after a failure, with backoff, without relisting', async () => {
    const { client, asked } = scripted([
      { list: [], rv: '10' },
      { watch: [{ type: 'ADDED', object: cm('x', '11' ) }, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } }], then: 'fail' },
    ]);
    const inf = new Informer<KubeObject>({ client, resource: R.configMap, log: createLogger({ level: 'silent' }), minBackoffMs: 1 });
    inf.start();
    for (let t = 0; t < 100 && !asked.includes('watch rv=15'); t++) await new Promise((r) => setTimeout(r, 5));
    await inf.stop();
    expect(asked).toEqual(['list limit=500', 'watch rv=10', 'watch rv=15']);
    expect(inf.stats.errors).toBe(1);
    expect(inf.stats.relists).toBe(0);
  });

  it('caches the transform of each object, frozen, and keeps its indexes true through updates and deletes', async () => {
    const owned = (name: string, rv: string, owner: string): KubeObject => ({ metadata: { name, namespace: name === 'c' ? 'other' : 'ns', resourceVersion: rv, ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: owner, uid: owner, controller: true }], annotations: { keep: 'yes', 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}' } }, spec: { template: { big: true }, replicas: 1 } });
    const { client, asked } = scripted([
      { list: [owned('a', '1', 'u1'), owned('b', '2', 'u1'), owned('c', '3', 'u2')], rv: '3' },
      { watch: [{ type: 'MODIFIED', object: owned('b', '4', 'u2') }, { type: 'DELETED', object: owned('a', '5', 'u1') }], then: 'close' },
    ]);
    const inf = new Informer<KubeObject>({ client, resource: R.replicaSet, log: createLogger({ level: 'silent' }), transform: (o) => ({ metadata: o.metadata, spec: { replicas: (o.spec as { replicas: number }).replicas } }) });
    inf.addIndex('owner', (o) => (o.metadata?.ownerReferences ?? []).map((r) => r.uid));
    inf.start();
    await inf.waitForSync();
    const names = (os: KubeObject[]): string[] => os.map((o) => o.metadata?.name ?? '').sort();
    expect(names(inf.byIndex('owner', 'u1'))).toEqual(['a', 'b']);
    expect(names(inf.list('ns'))).toEqual(['a', 'b']);
    const a = inf.get('ns', 'a');
    expect(a?.spec).toEqual({ replicas: 1 });
    expect(a?.metadata?.annotations).toEqual({ keep: 'yes' });
    expect(Object.isFrozen(a?.spec)).toBe(true);
    for (let t = 0; t < 100 && !asked.includes('watch rv=5'); t++) await new Promise((r) => setTimeout(r, 5));
    await inf.stop();
    expect(names(inf.byIndex('owner', 'u1'))).toEqual([]);
    expect(names(inf.byIndex('owner', 'u2'))).toEqual(['b', 'c']);
    expect(names(inf.list('ns'))).toEqual(['b']);
    expect(names(inf.list('other'))).toEqual(['c']);
    expect(names(inf.list())).toEqual(['b', 'c']);
  });
});
