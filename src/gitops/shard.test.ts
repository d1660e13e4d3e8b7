import { describe, expect, it } from '@jest/globals';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { Discovery } from '../kube/discovery.ts';
import { R, type ResourceType } from '../kube/resource.ts';
import type { Informer } from '../runtime/informer.ts';
import { Cache } from '../runtime/manager.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';
import { INSTANCE_LABEL, TRACKING_ANNOTATION, type PlannedObject } from './plan/plan.ts';
import { adoptManaged, managedSelector } from './shard.ts';

const app = { namespace: 'apps', name: 'web' };

const obj = (ns: string, name: string, opts: { app?: string; owner?: string; deleting?: boolean } = {}): KubeObject => ({
  metadata: {
    namespace: ns,
    name,
    resourceVersion: '1',
    labels: { [INSTANCE_LABEL]: 'web', ...(opts.owner !== undefined ? { [OWNER_LABEL]: opts.owner } : {}) },
    annotations: { [TRACKING_ANNOTATION]: `${opts.app ?? 'apps/web'}:/ConfigMap:${ns}/${name}` },
    ...(opts.deleting === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
});

const planned = (ns: string, name: string): PlannedObject => ({ ref: { group: '', kind: 'ConfigMap', namespace: ns, name }, wave: 0, manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } }, source: 'x.yaml' });

/** A watch of ConfigMaps in the given namespaces (all when empty) holding what this shard labelled. */
function fakeWatch(namespaces: string[], synced = true): { cache: Cache<KubeObject>; held: Map<string, KubeObject> } {
  const held = new Map<string, KubeObject>();
  const informers = (namespaces.length === 0 ? [undefined] : namespaces).map((namespace) => ({
    namespace,
    get: (ns: string | undefined, name: string) => (namespace === undefined || namespace === ns ? held.get(`${ns}/${name}`) : undefined),
    hasSynced: () => synced,
  }));
  return { cache: new Cache<KubeObject>(R.configMap, informers as unknown as Informer<KubeObject>[]), held };
}

function fakeClient(live: KubeObject[], held: Map<string, KubeObject>): { client: KubeClient; patched: string[]; listed: string[] } {
  const patched: string[] = [];
  const listed: string[] = [];
  const client = {
    list: (_rt: ResourceType, ns: string | undefined, q: { labelSelector?: string }) => {
      listed.push(`${ns} ${q.labelSelector}`);
      return Promise.resolve({ items: live.filter((o) => o.metadata?.namespace === ns) });
    },
    // The label write lands in this shard's watch (as the apiserver's watch event would deliver it).
    mergePatch: (_rt: ResourceType, ns: string, name: string, patch: { metadata: { labels: Record<string, string> } }) => {
      patched.push(`${ns}/${name}=${patch.metadata.labels[OWNER_LABEL]}`);
      const o = { metadata: { namespace: ns, name } };
      held.set(`${ns}/${name}`, o);
      return Promise.resolve(o);
    },
  };
  return { client: client as unknown as KubeClient, patched, listed };
}

const discovery = { resolve: (_v: string, kind: string) => Promise.resolve(kind === 'ConfigMap' ? R.configMap : undefined) } as unknown as Discovery;

describe('sharded managed objects', () => {
  it('selects this shard\'s objects only when sharded', () => {
    expect(managedSelector(undefined)).toBe(INSTANCE_LABEL);
    expect(managedSelector('sluice-1')).toBe(`${INSTANCE_LABEL},${OWNER_LABEL}=sluice-1`);
  });

  it('takes only this app\'s live objects (not a same-named app\'s, not one being deleted), and waits until cached', async () => {
    const { cache, held } = fakeWatch([]);
    const live = [obj('web', 'a', { owner: 'old' }), obj('web', 'b'), obj('web', 'mine', { owner: 'me' }), obj('web', 'theirs', { app: 'other/web', owner: 'old' }), obj('web', 'going', { owner: 'old', deleting: true })];
    const { client, patched, listed } = fakeClient(live, held);
    let watched: ResourceType[] = [];
    const out = await adoptManaged({ client, discovery, watch: (kinds) => Promise.resolve(void (watched = kinds)), cacheOf: () => cache }, 'me', app, [planned('web', 'a'), planned('web', 'b'), planned('web', 'new')]);
    expect(out).toEqual({ moved: 2, complete: true });
    expect(patched).toEqual(['web/a=me', 'web/b=me']);
    expect(listed).toEqual([`web ${INSTANCE_LABEL}=web`]); // one list per kind and namespace
    expect(watched).toEqual([R.configMap]);
  });

  it('skips namespaces its watches do not cover, and reports a watch that has not listed as incomplete', async () => {
    const scoped = fakeWatch(['web']);
    const a = fakeClient([obj('web', 'a'), obj('elsewhere', 'b')], scoped.held);
    const out = await adoptManaged({ client: a.client, discovery, watch: () => Promise.resolve(), cacheOf: () => scoped.cache }, 'me', app, [planned('web', 'a'), planned('elsewhere', 'b')]);
    expect(out).toEqual({ moved: 1, complete: true });
    expect(a.listed).toEqual([`web ${INSTANCE_LABEL}=web`]);

    const unsynced = fakeWatch([], false);
    const b = fakeClient([obj('web', 'a')], unsynced.held);
    expect(await adoptManaged({ client: b.client, discovery, watch: () => Promise.resolve(), cacheOf: () => unsynced.cache }, 'me', app, [planned('web', 'a')])).toEqual({ moved: 0, complete: false });
    expect(b.patched).toEqual([]);
  });
});
