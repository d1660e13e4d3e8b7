// The status write of a controller that decided from one version of an object: the whole status, conditional on that
// resourceVersion. A person's patch meanwhile makes it fail (Conflict) and the next reconcile decides again with it.
import type { KubeClient, KubeObject } from './client.ts';
import type { ResourceType } from './resource.ts';

/** Replaces `raw`'s status with `status` if `raw` is still the live version; returns the new resourceVersion. */
export async function writeStatusAt(client: KubeClient, r: ResourceType, raw: KubeObject & { status?: unknown }, status: unknown, fieldManager: string): Promise<string | undefined> {
  const written = await client.jsonPatch<KubeObject>(
    r,
    raw.metadata?.namespace,
    raw.metadata?.name ?? '',
    [
      { op: 'test', path: '/metadata/resourceVersion', value: raw.metadata?.resourceVersion },
      { op: raw.status === undefined ? 'add' : 'replace', path: '/status', value: status },
    ],
    { subresource: 'status', fieldManager },
  );
  return written.metadata?.resourceVersion;
}
