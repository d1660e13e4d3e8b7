// The client's request headers for the metadata-only form, against an in-process HTTP server standing in for the
// apiserver (the real apiserver's answer to them is in src/runtime/metadata.int.test.ts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeApiError } from './errors.ts';
import { KubeClient, METADATA_LIST_ACCEPT, METADATA_WATCH_ACCEPT, type KubeObject, type WatchEvent } from './client.ts';
import { R } from './resource.ts';

const partial = (name: string, rv: string): object => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name, namespace: 'ns', resourceVersion: rv } });

describe('KubeClient metadata-only requests', () => {
  let server: Server;
  let client: KubeClient;
  const seen: { url: string; accept: string | undefined }[] = [];
  /** What the next list answers with. */
  let listBody: object = {};

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      seen.push({ url: req.url ?? '', accept: req.headers.accept });
      res.setHeader('Content-Type', 'application/json');
      if ((req.url ?? '').includes('watch=true')) {
        res.end(`${JSON.stringify({ type: 'ADDED', object: partial('a', '7') })}\n`);
        return;
      }
      res.end(JSON.stringify(listBody));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    client = new KubeClient({ server: `http://127.0.0.1:${port}`, prepare: () => Promise.resolve({ headers: {}, dispatcher: undefined }) });
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('asks for PartialObjectMetadataList on a list, with the plain JSON fallback client-go sends', async () => {
    listBody = { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: '5' }, items: [partial('a', '4')] };
    seen.length = 0;
    const list = await client.list<KubeObject>(R.configMap, 'ns', { labelSelector: 'x' }, undefined, { metadataOnly: true });
    expect(list.items.map((o) => o.metadata?.name)).toEqual(['a']);
    expect(seen).toEqual([{ url: '/api/v1/namespaces/ns/configmaps?labelSelector=x', accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' }]);
    expect(METADATA_LIST_ACCEPT).toBe(seen[0]?.accept);
  });

  it('reads an empty metadata-only list, whose items the apiserver sends as null, as no items', async () => {
    listBody = { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: '9' }, items: null };
    const list = await client.list<KubeObject>(R.configMap, 'ns', {}, undefined, { metadataOnly: true });
    expect(list).toMatchObject({ metadata: { resourceVersion: '9' }, items: [] });
  });

  it('asks for PartialObjectMetadata on a watch', async () => {
    seen.length = 0;
    const events: WatchEvent<KubeObject>[] = [];
    await client.watch<KubeObject>('/api/v1/namespaces/ns/configmaps', { resourceVersion: '5' }, (e) => events.push(e), { metadataOnly: true });
    expect(events.map((e) => [e.type, e.object.kind, e.object.metadata?.name])).toEqual([['ADDED', 'PartialObjectMetadata', 'a']]);
    expect(seen.map((s) => s.accept)).toEqual(['application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json']);
    expect(METADATA_WATCH_ACCEPT).toBe(seen[0]?.accept);
  });

  it('asks for plain JSON otherwise', async () => {
    listBody = { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '5' }, items: [] };
    seen.length = 0;
    await client.list<KubeObject>(R.configMap, 'ns');
    await client.watch<KubeObject>('/api/v1/namespaces/ns/configmaps', {}, () => undefined);
    expect(seen.map((s) => s.accept)).toEqual(['application/json', 'application/json']);
  });

  it('rejects a metadata-only list it could not key or resume from, as a KubeApiError', async () => {
    listBody = { kind: 'PartialObjectMetadataList', metadata: {}, items: [{ metadata: { namespace: 'ns' } }] };
    const err = await client.list<KubeObject>(R.configMap, 'ns', {}, undefined, { metadataOnly: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).message).toMatch(/items\[0\]\.metadata\.name|name/);
  });
});
