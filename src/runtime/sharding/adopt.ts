// The owner's side of a move for the objects its sharded objects own or use. The sharder moves only Rollouts,
// Applications and AnalysisRuns; their ReplicaSets and referenced Services follow when the new owner takes the
// object over, before its first reconcile there. The old owner let go first (drain acknowledged, or its Lease
// expired and it fenced itself), so relabelling a child never gives it two acting owners.
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { isConflict, isNotFound } from '../../kube/errors.ts';
import type { ResourceType } from '../../kube/resource.ts';
import type { Cache } from '../manager.ts';
import { sleep } from '../sleep.ts';
import { OWNER_LABEL, PARENT_ANNOTATION } from './decide.ts';

/** How long a relabelled child may take to reach this shard's watch before the reconcile fails and retries. */
const CACHE_WAIT_MS = 5_000;
const CACHE_POLL_MS = 20;

/** Thrown when a child was labelled but this shard's watch has not delivered it yet: the reconcile retries. */
export class ChildNotCachedError extends Error {
  override readonly name = 'ChildNotCachedError';
}

const keyOf = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** One conditional label write (on the version read): a concurrent change makes the reconcile retry. */
async function label(client: KubeClient, resource: ResourceType, obj: KubeObject, id: string, parent?: string): Promise<KubeObject | undefined> {
  const m = obj.metadata;
  try {
    return await client.mergePatch<KubeObject>(
      resource,
      m?.namespace,
      m?.name ?? '',
      { metadata: { resourceVersion: m?.resourceVersion, labels: { [OWNER_LABEL]: id }, ...(parent !== undefined ? { annotations: { [PARENT_ANNOTATION]: parent } } : {}) } },
      { fieldManager: 'sluice-shard' },
    );
  } catch (err) {
    if (isNotFound(err)) return undefined; // deleted meanwhile: nothing to take
    throw err;
  }
}

/** Waits until this shard's (label-selected) cache holds every object: only then do its decisions see them. */
export async function waitCached(cache: Cache<KubeObject>, objs: readonly KubeObject[], signal?: AbortSignal): Promise<void> {
  const deadline = performance.now() + CACHE_WAIT_MS;
  for (;;) {
    const missing = objs.filter((o) => cache.get(o.metadata?.namespace, o.metadata?.name ?? '') === undefined);
    if (missing.length === 0) return;
    if (performance.now() > deadline || signal?.aborted === true) throw new ChildNotCachedError(`${cache.resource.plural} ${missing.map(keyOf).join(', ')} not yet in this shard's cache`);
    await sleep(CACHE_POLL_MS, signal);
  }
}

/**
 * Takes the children an object controls (read live, e.g. its ReplicaSets listed by label): each one not yet labelled
 * with this shard is, and the call returns once the shard's cache holds those it relabelled. (Only those: one that
 * already carried our label and is not cached was deleted meanwhile, and would be waited for in vain.)
 */
export async function adoptChildren(client: KubeClient, id: string, cache: Cache<KubeObject>, live: readonly KubeObject[], signal?: AbortSignal): Promise<number> {
  const moved: KubeObject[] = [];
  for (const o of live) {
    if (o.metadata?.labels?.[OWNER_LABEL] === id) continue;
    const labelled = await label(client, cache.resource, o, id);
    if (labelled !== undefined) moved.push(labelled);
  }
  await waitCached(cache, moved, signal);
  return moved.length;
}

/**
 * An object `parent` uses but did not create (a Service a Rollout names, created by its user or by GitOps). Read
 * from the cache when it is there; else read live once: it is labelled with this shard unless another object's
 * owner took it first (its parent annotation names someone else), in which case the live copy serves this reconcile
 * read-only. Undefined when it does not exist.
 */
export async function takeReferenced<T extends KubeObject>(client: KubeClient, id: string, cache: Cache<T>, namespace: string | undefined, name: string, parent: string): Promise<T | undefined> {
  const cached = cache.get(namespace, name);
  if (cached !== undefined) return cached;
  let live: T;
  try {
    live = await client.get<T>(cache.resource, namespace, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const claimedBy = live.metadata?.annotations?.[PARENT_ANNOTATION];
  const owner = live.metadata?.labels?.[OWNER_LABEL];
  if (owner === id || (owner !== undefined && claimedBy !== undefined && claimedBy !== parent)) return live;
  try {
    return ((await label(client, cache.resource, live, id, parent)) as T | undefined) ?? live;
  } catch (err) {
    if (isConflict(err)) return live; // changed since the read: this reconcile uses what it read, the next one takes it
    throw err;
  }
}

/**
 * Which owners (by uid) have had their children taken by this shard since they arrived in its cache. An owner is due
 * again when one of its children left a children cache (deleted, or its label edited away): its next reconcile lists
 * them live and takes back those that still exist. Forgotten when the owner leaves the owners' cache (moved away).
 */
export class TakenOwners {
  private readonly taken = new Set<string>();
  private readonly recheck = new Set<string>();

  constructor(owners: Cache<KubeObject>, children: readonly Cache<KubeObject>[]) {
    owners.on((ev, obj) => {
      if (ev !== 'delete') return;
      this.taken.delete(obj.metadata?.uid ?? '');
      this.recheck.delete(obj.metadata?.uid ?? '');
    });
    for (const c of children) {
      c.on((ev, obj) => {
        if (ev !== 'delete') return;
        for (const r of obj.metadata?.ownerReferences ?? []) if (r.controller === true && this.taken.has(r.uid)) this.recheck.add(r.uid);
      });
    }
  }

  /** Whether the owner's children must be listed live and taken before a decision on it. */
  due(uid: string): boolean {
    return !this.taken.has(uid) || this.recheck.has(uid);
  }

  done(uid: string): void {
    this.taken.add(uid);
    this.recheck.delete(uid);
  }
}
