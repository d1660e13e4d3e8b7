// With sharding, each replica watches only the managed objects of its own Applications: the sync applies them with
// the owner shard's label (plan.ts), and a target's watches select `sluice.dev/instance,shard.sluice.dev/owner=<id>`.
// This is the move's other half: when an Application arrives in a shard (the sharder gave it over after the old
// owner drained it, or after the old owner's Lease died), its managed objects still carry the old owner's label. The
// new owner lists them live by the instance label, relabels them, and waits until its own watches hold them, before
// its first compare there: only then may a cache miss mean "absent" (and a prune always reads live, sync-prune.ts).
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { Discovery } from '../kube/discovery.ts';
import type { ResourceType } from '../kube/resource.ts';
import type { Cache } from '../runtime/manager.ts';
import { adoptChildren } from '../runtime/sharding/adopt.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';
import { INSTANCE_LABEL, instanceLabelValue, TRACKING_ANNOTATION, type AppId, type PlannedObject } from './plan/plan.ts';

/** The label selector of a target's managed-object watches: this shard's only when sharded. */
export const managedSelector = (shard: string | undefined): string => (shard === undefined ? INSTANCE_LABEL : `${INSTANCE_LABEL},${OWNER_LABEL}=${shard}`);

/** How long an adoption waits for a just-opened watch to list before it lists the app's objects itself. */
const WATCH_WAIT_MS = 10_000;

export interface AdoptDeps {
  client: KubeClient;
  discovery: Discovery;
  /** Opens the managed-object watches of these kinds (idempotent) and returns when they listed (or a deadline). */
  watch: (kinds: ResourceType[], timeoutMs: number) => Promise<void>;
  /** The managed-object watch of one kind (opened by `watch`). */
  cacheOf: (rt: ResourceType) => Cache<KubeObject> | undefined;
}

/** Does any informer of the cache watch this namespace? (With --namespace, objects elsewhere are never cached.) */
const scoped = (cache: Cache<KubeObject>, namespace: string | undefined): boolean => namespace === undefined || cache.informers.some((i) => i.namespace === undefined || i.namespace === namespace);

/**
 * Takes over the live objects of the app's planned kinds and namespaces that carry its tracking id: each one not
 * labelled with `shard` is relabelled (a conditional merge patch as `sluice-shard`, adopt.ts), and the call returns
 * once this shard's watches hold every object it relabelled. Returns how many it relabelled, and whether every watch
 * had listed (else the caller adopts again next time). An error (a conflict, a watch that has not delivered in time)
 * fails the reconcile before anything is compared, applied or pruned.
 */
export async function adoptManaged(d: AdoptDeps, shard: string, app: AppId, objects: readonly PlannedObject[], signal?: AbortSignal): Promise<{ moved: number; complete: boolean }> {
  const groups = new Map<string, { rt: ResourceType; namespace: string | undefined }>();
  for (const o of objects) {
    const rt = await d.discovery.resolve(o.manifest.apiVersion, o.manifest.kind);
    if (rt === undefined) continue; // not served yet (its CRD is in this sync): nothing of it exists to take
    const namespace = rt.namespaced ? o.ref.namespace : undefined;
    groups.set(`${rt.group}/${rt.plural}@${namespace ?? ''}`, { rt, namespace });
  }
  const kinds = [...new Map([...groups.values()].map((g) => [`${g.rt.group}/${g.rt.plural}`, g.rt])).values()];
  await d.watch(kinds, WATCH_WAIT_MS);
  const prefix = `${app.namespace}/${app.name}:`;
  let moved = 0;
  let complete = true;
  for (const { rt, namespace } of groups.values()) {
    const cache = d.cacheOf(rt);
    if (cache === undefined || !scoped(cache, namespace)) continue;
    // A watch that has not listed (yet, or ever: no RBAC to list the kind) is not read by the compare either (it GETs
    // instead): nothing to wait for now, and the next reconcile looks again.
    if (!cache.hasSynced()) {
      complete = false;
      continue;
    }
    const listed = await d.client.list<KubeObject>(rt, namespace, { labelSelector: `${INSTANCE_LABEL}=${instanceLabelValue(app)}` });
    // The instance label names the app without its namespace: the tracking id says whose the object really is.
    const ours = listed.items.filter((o) => o.metadata?.annotations?.[TRACKING_ANNOTATION]?.startsWith(prefix) === true && o.metadata.deletionTimestamp === undefined);
    moved += await adoptChildren(d.client, shard, cache, ours, signal);
  }
  return { moved, complete };
}
