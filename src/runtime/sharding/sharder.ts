import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { isConflict, isNotFound } from '../../kube/errors.ts';
import { R, type ResourceType } from '../../kube/resource.ts';
import type { Logger } from '../../log/logger.ts';
import { microTime, type LeaseObject } from '../leader.ts';
import type { Cache } from '../manager.ts';
import type { Metrics } from '../metrics.ts';
import { ASSIGNED_ANNOTATION, decideObject, desiredOwners, DRAIN_LABEL, hashKey, memberState, OWNER_LABEL, RING_LABEL, SHARDER_HOLDER, type ParentLookup } from './decide.ts';
import { Ring } from './ring.ts';

/** The sharder reads only what it decides on: a metadata-only cut of each sharded object. */
export function metadataOnly<T extends KubeObject>(o: T): T {
  const m = o.metadata;
  const assigned = m?.annotations?.[ASSIGNED_ANNOTATION];
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: m?.name, namespace: m?.namespace, labels: m?.labels, annotations: assigned === undefined ? undefined : { [ASSIGNED_ANNOTATION]: assigned }, ownerReferences: m?.ownerReferences, resourceVersion: m?.resourceVersion },
  } as T;
}

interface LabelPatch {
  labels: Record<string, string | null>;
  annotations?: Record<string, string>;
}

/** A dead Lease is deleted after this long, as kubernetes-controller-sharding cleans up orphaned shards. */
const ORPHAN_AFTER_MS = 60_000;
const WRITE_CONCURRENCY = 8;

export interface SharderOptions {
  client: KubeClient;
  log: Logger;
  metrics: Metrics;
  /** Where the membership Leases live, and the ring they carry in their label. */
  namespace: string;
  ring: string;
  caches: { resource: ResourceType; cache: Cache<KubeObject> }[];
  periodMs: number;
}

/**
 * Runs in the leader only. Each pass reads the membership Leases, builds the ring over the ready shards, and moves
 * every object toward its ring owner: unowned objects (new, or whose owner died) are labelled at once; an object a
 * live shard holds is drained first, and relabelled only after that shard acknowledged. A pass runs every period
 * (Leases expire on the clock, not on an event) and soon after any sharded object changes.
 */
export class Sharder {
  private readonly o: SharderOptions;
  private poke: (() => void) | undefined;

  constructor(opts: SharderOptions) {
    this.o = opts;
    // A pass is due when an object appears or goes, or its shard labels change; not on every status write.
    const moved = (a: KubeObject, b: KubeObject | undefined): boolean =>
      b === undefined || [OWNER_LABEL, DRAIN_LABEL].some((l) => a.metadata?.labels?.[l] !== b.metadata?.labels?.[l]) || a.metadata?.annotations?.[ASSIGNED_ANNOTATION] !== b.metadata?.annotations?.[ASSIGNED_ANNOTATION];
    for (const { cache } of opts.caches) cache.on((ev, obj, old) => (ev !== 'update' || moved(obj, old)) && this.poke?.());
  }

  async run(signal: AbortSignal): Promise<void> {
    const stopped = new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    await Promise.race([Promise.all(this.o.caches.flatMap((c) => c.cache.informers.map((i) => i.waitForSync()))), stopped]);
    this.o.log.info('sharder started');
    while (!signal.aborted) {
      try {
        await this.pass();
      } catch (err) {
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'sharder pass failed');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, this.o.periodMs);
        function done(): void {
          clearTimeout(t);
          resolve();
        }
        // Object events come in bursts (a namespace of Rollouts applied at once): gather them for a moment.
        this.poke = () => setTimeout(done, 50);
        signal.addEventListener('abort', done, { once: true });
      });
      this.poke = undefined;
    }
  }

  /** Reads the Leases; takes over the expired ones (fencing their shards for good) and deletes long-dead ones. */
  private async members(): Promise<{ live: Set<string> }> {
    const { client, namespace, ring, log } = this.o;
    const leases = await client.list<LeaseObject>(R.lease, namespace, { labelSelector: `${RING_LABEL}=${ring}` });
    const live = new Set<string>();
    const now = Date.now();
    for (const lease of leases.items) {
      const { id, state } = memberState(lease, now);
      if (state === 'ready') live.add(id);
      else if (state === 'expired') {
        try {
          // A conditional write: if the shard renewed in between, the Conflict keeps it alive.
          await client.replace<LeaseObject>(R.lease, { ...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec: { ...lease.spec, holderIdentity: SHARDER_HOLDER, renewTime: microTime(now) } });
          log.info({ shard: id }, 'shard lease expired; taking it over and moving its objects');
        } catch (err) {
          if (isConflict(err)) live.add(id);
          else throw err;
        }
      } else {
        const since = Date.parse(lease.spec?.renewTime ?? '') || 0;
        if (now - since > ORPHAN_AFTER_MS) {
          try {
            await client.delete(R.lease, namespace, lease.metadata?.name ?? '');
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
      }
    }
    return { live };
  }

  async pass(): Promise<void> {
    const { live } = await this.members();
    const ring = new Ring(live);
    const byKind = new Map(this.o.caches.map(({ resource, cache }) => [resource.kind, cache]));
    const parent: ParentLookup = (kind, namespace, name) => byKind.get(kind)?.get(namespace, name);
    // An object whose key is not known yet (its Experiment not seen) is left as it is this pass.
    const objects = this.o.caches.flatMap(({ resource, cache }) => cache.list().flatMap((obj) => {
      const key = hashKey(obj, parent);
      return key === undefined ? [] : [{ resource, obj, key }];
    }));
    const desired = desiredOwners(objects, ring);
    const owned = new Map<string, number>();
    const writes: (() => Promise<void>)[] = [];
    for (const { resource, obj, key } of objects) {
      const want = desired.get(key);
      if (want !== undefined) owned.set(`${want}\u0000${resource.plural}`, (owned.get(`${want}\u0000${resource.plural}`) ?? 0) + 1);
      const action = decideObject(obj.metadata?.labels, want, live);
      if (action.kind === 'none') continue;
      const patch: LabelPatch = action.kind === 'assign' ? { labels: { [OWNER_LABEL]: action.to, [DRAIN_LABEL]: null }, annotations: { [ASSIGNED_ANNOTATION]: action.to } } : { labels: { [DRAIN_LABEL]: 'true' } };
      writes.push(() => this.write(resource, obj, patch, action));
    }
    this.o.metrics.shardAssigned.reset();
    for (const [k, n] of owned) {
      const [shard = '', resource = ''] = k.split('\u0000');
      this.o.metrics.shardAssigned.set({ shard, resource }, n);
    }
    this.o.metrics.shardMembers.set(live.size);
    for (let i = 0; i < writes.length; i += WRITE_CONCURRENCY) await Promise.all(writes.slice(i, i + WRITE_CONCURRENCY).map((w) => w()));
  }

  private async write(resource: ResourceType, obj: KubeObject, patch: LabelPatch, action: ReturnType<typeof decideObject>): Promise<void> {
    const m = obj.metadata;
    try {
      // The resourceVersion makes the write conditional on what this decision saw.
      await this.o.client.mergePatch(resource, m?.namespace, m?.name ?? '', { metadata: { resourceVersion: m?.resourceVersion, ...patch } }, { fieldManager: 'sluice-sharder' });
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return; // changed or gone since we read it: the next pass sees the new state
      throw err;
    }
    const key = `${m?.namespace ?? ''}/${m?.name ?? ''}`;
    if (action.kind === 'drain') {
      this.o.metrics.shardMoves.inc({ resource: resource.plural, step: 'drain' });
      this.o.log.info({ resource: resource.plural, key, from: action.from }, 'draining object from its shard');
    } else if (action.kind === 'assign') {
      this.o.metrics.shardMoves.inc({ resource: resource.plural, step: action.from === undefined ? 'assign' : 'reassign' });
      this.o.log.info({ resource: resource.plural, key, from: action.from, to: action.to }, 'assigned object to shard');
    }
  }
}
