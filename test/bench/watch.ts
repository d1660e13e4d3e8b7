// A minimal informer for the bench's observer: list, then watch from the list's resourceVersion, re-watching when
// the server ends a watch and relisting when the version expired. Every event is stamped with the time it arrived.
import { HttpMethod } from '@kubernetes/client-node';
import { KubeApiError } from '../../src/kube/errors.ts';
import type { KubeClient, KubeList, KubeObject, WatchEvent } from '../../src/kube/client.ts';

export type Handler = (type: WatchEvent<KubeObject>['type'], obj: KubeObject, atMs: number) => void;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function follow(client: KubeClient, path: string, onEvent: Handler, signal: AbortSignal): Promise<void> {
  let rv: string | undefined;
  while (!signal.aborted) {
    try {
      if (rv === undefined) {
        const list = await client.request<KubeList<KubeObject>>(HttpMethod.GET, path, { signal });
        const now = Date.now();
        for (const item of list.items) onEvent('ADDED', item, now);
        rv = list.metadata.resourceVersion;
      }
      await client.watch<KubeObject>(
        path,
        { resourceVersion: rv, timeoutSeconds: 240 },
        (e) => {
          rv = e.object.metadata?.resourceVersion ?? rv;
          if (e.type !== 'BOOKMARK') onEvent(e.type, e.object, Date.now());
        },
        { signal },
      );
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof KubeApiError && err.kind === 'Gone') rv = undefined;
      else await sleep(500);
    }
  }
}
