// One cluster the sync deploys into: its client and discovery, the label-selected watches of the kinds its apps
// manage (live objects for the comparison, events for drift), and the Syncer bound to them. The operator's own
// cluster is one target; each remote cluster of the registry (src/fleet) is another, built when an app first
// targets it and dropped when the cluster goes. With sharding, a target's watches hold only this shard's apps'
// objects (gitops/shard.ts), in the operator's own cluster and in remote ones alike.
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { Discovery } from '../kube/discovery.ts';
import type { ResourceType } from '../kube/resource.ts';
import type { AppId, PlannedObject } from './plan/plan.ts';
import type { Cache } from '../runtime/manager.ts';
import { adoptManaged, managedSelector, type AdoptDeps } from './shard.ts';
import type { GitSource } from './source/git.ts';
import type { HelmRepository } from './source/helmrepo.ts';
import { Syncer } from './sync.ts';

export interface TargetCluster {
  /** `in-cluster` or the cluster Secret's name. */
  name: string;
  client: KubeClient;
  discovery: Discovery;
  /** Opens (or returns) a label-selected watch of one kind on this cluster. */
  openCache: (rt: ResourceType, labelSelector: string) => Cache<KubeObject>;
}

export interface TargetShared {
  /** The operator's own cluster: Git credentials Secrets are read there, whatever the destination. */
  homeClient: KubeClient;
  source: GitSource;
  charts: HelmRepository;
  /** Every event of a managed object on this cluster (the controller maps it to its app). */
  onEvent: (rt: ResourceType, ev: 'add' | 'update' | 'delete', obj: KubeObject, old: KubeObject | undefined) => void;
  /** With sharding, this replica's shard id: managed objects are applied with its label and watched by it. */
  shard?: string;
}

export class SyncTarget {
  readonly cluster: TargetCluster;
  readonly syncer: Syncer;
  readonly watched = new Map<string, Cache<KubeObject>>();
  /** What the managed-object watches select: the instance label (and, sharded, this shard's owner label). */
  private readonly selector: string;
  private readonly listed = new Map<string, { until: number; done: Promise<void> }>();

  constructor(cluster: TargetCluster, shared: TargetShared) {
    this.cluster = cluster;
    this.selector = managedSelector(shared.shard);
    const shard = shared.shard;
    this.syncer = new Syncer({
      ...(shard === undefined ? {} : { shard, adopt: (app: AppId, objects: readonly PlannedObject[]) => adoptManaged(this.adoptDeps(shared), shard, app, objects) }),
      client: cluster.client,
      homeClient: shared.homeClient,
      discovery: cluster.discovery,
      source: shared.source,
      charts: shared.charts,
      onKinds: (kinds) => this.watchKinds(kinds, shared),
      waitForWatches: (kinds, timeoutMs) => this.waitForWatches(kinds, timeoutMs),
      liveFromCache: (rt, namespace, name) => {
        const cache = this.watched.get(`${rt.group}/${rt.plural}`);
        if (cache === undefined || !cache.hasSynced()) return 'unknown';
        return cache.get(rt.namespaced ? namespace : undefined, name);
      },
    });
  }

  /** Every object the watches know, for the cascade delete of objects applied but not yet in status. */
  watchedObjects(): KubeObject[] {
    return [...this.watched.values()].flatMap((c) => c.list());
  }

  /** What a takeover of an app's objects needs of this target: its client and its managed-object watches. */
  private adoptDeps(shared: TargetShared): AdoptDeps {
    return {
      client: this.cluster.client,
      discovery: this.cluster.discovery,
      watch: async (kinds, timeoutMs) => {
        this.watchKinds(kinds, shared);
        await this.waitForWatches(kinds, timeoutMs);
      },
      cacheOf: (rt) => this.watched.get(`${rt.group}/${rt.plural}`),
    };
  }

  private watchKinds(kinds: ResourceType[], shared: TargetShared): void {
    for (const rt of kinds) {
      const id = `${rt.group}/${rt.plural}`;
      if (this.watched.has(id)) continue;
      const cache = this.cluster.openCache(rt, this.selector);
      cache.on((ev, obj, old) => shared.onEvent(rt, ev, obj, old));
      this.watched.set(id, cache);
    }
  }

  private async waitForWatches(kinds: ResourceType[], timeoutMs: number): Promise<void> {
    const now = Date.now();
    const pending = kinds.flatMap((rt) => {
      const id = `${rt.group}/${rt.plural}`;
      const c = this.watched.get(id);
      if (c === undefined || c.hasSynced()) return [];
      // One waiter per watch however many reconciles ask, and a deadline over its whole life: a watch that never
      // lists (no RBAC to list the kind) is waited for once, then compares fall back to GETs.
      let w = this.listed.get(id);
      if (w === undefined) this.listed.set(id, (w = { until: now + timeoutMs, done: Promise.all(c.informers.map((i) => i.waitForSync())).then(() => undefined) }));
      return w.until > now ? [w] : [];
    });
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, Math.max(...pending.map((w) => w.until)) - now)));
    await Promise.race([Promise.all(pending.map((w) => w.done)), deadline]);
    clearTimeout(timer);
  }
}
