// Metadata-only informers (the sharder's and the drain handshake's caches) against the real apiserver: it answers the
// PartialObjectMetadata Accept headers for a custom resource and a core kind, and the informer lists and watches
// (add, update, delete) objects that carry no spec, status or data, typed as their real kind.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeObject, WatchEvent } from '../kube/client.ts';
import { collectionPath, R, type ResourceType } from '../kube/resource.ts';
import { createNamespace, deleteNamespace, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { testClient, testLogger } from '../../test/support/operator.ts';
import { rolloutManifest } from '../../test/support/rollouts.ts';
import { Informer, type InformerEvent } from './informer.ts';

const LABEL = 'metadata-test';

/** An object of each kind, labelled for the informer's selector, with a body the metadata form must leave out. */
const objects: { resource: ResourceType; make: (name: string) => KubeObject; body: string }[] = [
  { resource: R.rollout, make: (name) => ({ ...(rolloutManifest(name, 'v1', {}) as KubeObject), metadata: { name, labels: { [LABEL]: 'yes' } } }), body: 'spec' },
  { resource: R.configMap, make: (name) => ({ metadata: { name, labels: { [LABEL]: 'yes' } }, data: { big: 'x'.repeat(1000) } }), body: 'data' },
];

describe('metadata-only list and watch', () => {
  let ns: string;
  const { client } = testClient();

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('metaonly');
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it.each(objects)('the apiserver sends $resource.kind objects as PartialObjectMetadata, list and watch', async ({ resource, make, body }) => {
    // Nothing yet: the apiserver's empty PartialObjectMetadataList has `items: null`, read as none. (A CRD just
    // installed answers 429 until its storage is initialised.)
    let empty: KubeObject[] | undefined;
    await waitFor('a first list', async () => (empty = (await client.list<KubeObject>(resource, ns, { labelSelector: LABEL }, undefined, { metadataOnly: true }).catch(() => undefined))?.items) !== undefined, 10_000, 100);
    expect(empty).toEqual([]);
    await client.create(resource, { ...make('wire-a'), metadata: { ...make('wire-a').metadata, namespace: ns } });
    const list = await client.list<KubeObject>(resource, ns, { labelSelector: LABEL }, undefined, { metadataOnly: true });
    expect(list.items.map((o) => [o.kind, o.apiVersion, o.metadata?.name, body in o])).toEqual([['PartialObjectMetadata', 'meta.k8s.io/v1', 'wire-a', false]]);
    expect(list.metadata.resourceVersion).toBeDefined();
    const seen: WatchEvent<KubeObject>[] = [];
    const stop = new AbortController();
    const watching = client.watch<KubeObject>(collectionPath(resource, ns), { labelSelector: LABEL, resourceVersion: list.metadata.resourceVersion }, (e) => seen.push(e), { signal: stop.signal, metadataOnly: true });
    await client.create(resource, { ...make('wire-b'), metadata: { ...make('wire-b').metadata, namespace: ns } });
    await waitFor('the watch event', () => seen.some((e) => e.type === 'ADDED'), 10_000, 20);
    stop.abort();
    await watching;
    const added = seen.find((e) => e.type === 'ADDED');
    expect([added?.object.kind, added?.object.metadata?.name, body in (added?.object ?? {})]).toEqual(['PartialObjectMetadata', 'wire-b', false]);
  });

  it.each(objects)('an informer of $resource.kind lists, adds, updates and deletes metadata only, typed as its kind', async ({ resource, make, body }) => {
    await client.create(resource, { ...make('listed'), metadata: { ...make('listed').metadata, namespace: ns } });
    const inf = new Informer<KubeObject>({ client, resource, namespace: ns, labelSelector: `${LABEL}=yes`, log: testLogger(), metadataOnly: true });
    const events: [InformerEvent, string, string | undefined][] = [];
    inf.on((ev, o) => events.push([ev, o.metadata?.name ?? '', o.metadata?.labels?.['step']]));
    inf.start();
    try {
      await inf.waitForSync();
      await client.create(resource, { ...make('watched'), metadata: { ...make('watched').metadata, namespace: ns } });
      await waitFor('the add', () => inf.get(ns, 'watched') !== undefined, 10_000, 20);
      await client.mergePatch(resource, ns, 'watched', { metadata: { labels: { step: 'two' } } });
      await waitFor('the update', () => inf.get(ns, 'watched')?.metadata?.labels?.['step'] === 'two', 10_000, 20);
      await client.delete(resource, ns, 'watched');
      await waitFor('the delete', () => inf.get(ns, 'watched') === undefined, 10_000, 20);
      expect(events.filter(([, name]) => name !== 'wire-a' && name !== 'wire-b')).toEqual([
        ['add', 'listed', undefined],
        ['add', 'watched', undefined],
        ['update', 'watched', 'two'],
        ['delete', 'watched', 'two'],
      ]);
      const listed = inf.get(ns, 'listed');
      // The real kind, not PartialObjectMetadata: a reader (an Event recorder, a patch) names what it addresses.
      expect([listed?.kind, listed?.apiVersion, listed?.metadata?.name, listed?.metadata?.labels?.[LABEL]]).toEqual([resource.kind, resource.group === '' ? resource.version : `${resource.group}/${resource.version}`, 'listed', 'yes']);
      for (const o of inf.list()) expect(Object.keys(o).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
      expect(body in (listed ?? {})).toBe(false);
    } finally {
      await inf.stop();
    }
  });
});
