import type { Logger } from '../log/logger.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { ResourceType } from '../kube/resource.ts';
import { Controller, splitKey, type Reconciler } from './controller.ts';
import { Informer, keyOf, objectKey, type Handler } from './informer.ts';
import { LeaderElector } from './leader.ts';
import type { Metrics } from './metrics.ts';
import { childSelector, drainSelector, ownSelector } from './sharding/decide.ts';
import { drainAcknowledger } from './sharding/drain.ts';
import { ShardMembership } from './sharding/membership.ts';
import { metadataOnly, Sharder } from './sharding/sharder.ts';

/** Read access to one kind across the watched namespaces (one informer per namespace, or one for all). */
export class Cache<T extends KubeObject> {
  readonly resource: ResourceType;
  readonly informers: Informer<T>[];

  constructor(resource: ResourceType, informers: Informer<T>[]) {
    this.resource = resource;
    this.informers = informers;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    for (const i of this.informers) {
      const o = i.get(namespace, name);
      if (o !== undefined) return o;
    }
    return undefined;
  }

  list(namespace?: string): T[] {
    return this.informers.length === 1 ? (this.informers[0]?.list(namespace) ?? []) : this.informers.flatMap((i) => i.list(namespace));
  }

  /** Files every object under the values `fn` returns (e.g. its owner's uid), for `byIndex`. Add before run(). */
  addIndex(name: string, fn: (o: T) => readonly string[]): void {
    for (const i of this.informers) i.addIndex(name, fn);
  }

  /** The cached objects an index files under `value`: a lookup, not a scan of the cache. */
  byIndex(name: string, value: string): T[] {
    return this.informers.length === 1 ? (this.informers[0]?.byIndex(name, value) ?? []) : this.informers.flatMap((i) => i.byIndex(name, value));
  }

  on(handler: Handler<T>): void {
    for (const i of this.informers) i.on(handler);
  }

  hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }
}

export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  metrics: Metrics;
  /** Namespaces to watch; all when undefined or empty. */
  namespaces?: string[];
  leaderElection?: { namespace: string; name: string; identity: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  resyncMs?: number;
  /**
   * Several active replicas (src/runtime/sharding). Needs `leaderElection`: its leader runs the sharder. The caches of
   * `resources` opened without a label selector hold only this shard's objects.
   */
  sharding?: { id: string; namespace: string; ring: string; resources: ResourceType[]; leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
}

/** How often a replica refreshes its sluice_shard_owned_objects gauge. */
const OWNED_GAUGE_MS = 5_000;

export interface ControllerSpec<T extends KubeObject> {
  name: string;
  /** The kind this controller reconciles: its events enqueue the object's own key. */
  for: Cache<T>;
  /** Kinds it creates and owns: an event enqueues the controlling owner of kind `for`. */
  owns?: Cache<KubeObject>[];
  /** Other kinds it reads: `map` names the keys to reconcile when one changes. */
  watches?: { cache: Cache<KubeObject>; map: (obj: KubeObject) => string[] }[];
  reconciler: Reconciler;
  workers?: number;
}

/**
 * Wires informers, queues and reconcilers. Caches start at once (warm while waiting to lead); workers start only
 * when this process leads (or right away without election). Losing the lease stops every reconcile at once.
 */
export class Manager {
  private readonly o: ManagerOptions;
  private readonly caches = new Map<string, Cache<KubeObject>>();
  private readonly controllers: Controller[] = [];
  /** Which cache each controller reconciles (a drain waits for the controllers of the drained object's cache). */
  private readonly controllerCache = new Map<Controller, Cache<KubeObject>>();
  private membership: ShardMembership | undefined;
  private readonly shardedCaches: Cache<KubeObject>[] = [];
  private elector: LeaderElector | undefined;
  private stopping = new AbortController();
  private started = false;
  /** The caches registered before run(): the controllers' own. Only they gate readiness. */
  private startupCaches: Cache<KubeObject>[] = [];
  /** Work that runs only while this replica leads (remote clusters' Rollouts): told when it starts and stops. */
  private readonly leadingHooks: ((signal: AbortSignal) => void)[] = [];
  private leading: AbortController | undefined;
  /** Parts that live with the manager and must stop with it (the cluster registry's remote watches and probes). */
  private readonly stopHooks: (() => Promise<void>)[] = [];

  constructor(opts: ManagerOptions) {
    this.o = opts;
  }

  /**
   * The shared cache of one kind (and label selector). `transform` cuts objects to what its readers use; caches with
   * different transforms (`transform.id`) are separate informers, so a reader never gets a cut it did not ask for.
   * `children`: objects a sharded owner creates or takes (ReplicaSets, AnalysisRuns, a Rollout's Services): with
   * sharding, only those labelled with this shard (see sharding/adopt.ts), so memory falls as replicas are added.
   * `metadataOnly`: listed and watched as PartialObjectMetadata (no spec or status on the wire), for readers of
   * labels, annotations and owners only; a separate informer from the same kind's full cache.
   */
  cache<T extends KubeObject>(resource: ResourceType, opts: { labelSelector?: string; namespace?: string; transform?: { id: string; fn: (o: T) => T }; shard?: false; children?: true; metadataOnly?: true } = {}): Cache<T> {
    const sh = this.o.sharding;
    // With sharding, the cache a controller reconciles from holds this shard's objects only; `shard: false` (the
    // sharder, a webhook looking across all Applications) and caches with a selector of their own see everything.
    const sharded = sh !== undefined && opts.labelSelector === undefined && opts.shard !== false && opts.children !== true && sh.resources.includes(resource);
    const children = sh !== undefined && opts.children === true;
    const labelSelector = sharded ? ownSelector(sh.id) : children ? [opts.labelSelector, childSelector(sh.id)].filter((x) => x !== undefined).join(',') : opts.labelSelector;
    const id = `${resource.group}/${resource.plural}?${labelSelector ?? ''}#${opts.transform?.id ?? ''}${opts.metadataOnly === true ? '+metadata' : ''}@${opts.namespace ?? ''}`;
    let c = this.caches.get(id);
    if (c === undefined) {
      // `namespace`: one namespace whatever the watched ones are (the operator's own, for cluster Secrets).
      const scopes = resource.namespaced && opts.namespace !== undefined ? [opts.namespace] : resource.namespaced && this.o.namespaces !== undefined && this.o.namespaces.length > 0 ? this.o.namespaces : [undefined];
      const informers = scopes.map(
        (namespace) =>
          new Informer<KubeObject>({
            client: this.o.client,
            resource,
            namespace,
            labelSelector,
            transform: opts.transform?.fn as ((o: KubeObject) => KubeObject) | undefined,
            metadataOnly: opts.metadataOnly === true,
            log: this.o.log.child({ informer: resource.plural, namespace: namespace ?? '*' }),
            resyncMs: this.o.resyncMs,
          }),
      );
      c = new Cache<KubeObject>(resource, informers);
      this.caches.set(id, c);
      if (this.started) for (const i of informers) i.start();
      if (sharded && opts.transform === undefined) this.addDrain(resource, c);
    }
    return c as unknown as Cache<T>;
  }

  addController<T extends KubeObject>(spec: ControllerSpec<T>): Controller {
    // With sharding, nothing is reconciled unless our membership Lease was renewed within the renew deadline.
    const gate = this.o.sharding === undefined ? undefined : (): boolean => this.membership?.valid === true;
    const ctrl = new Controller({ name: spec.name, reconciler: spec.reconciler, workers: spec.workers, log: this.o.log, metrics: this.o.metrics, gate });
    spec.for.on((ev, obj) => {
      const key = objectKey(obj);
      if (ev === 'delete') ctrl.expectations.forget(key);
      ctrl.enqueue(key);
    });
    for (const i of spec.for.informers) i.onResourceVersion((key, rv) => ctrl.expectations.observe(key, rv));
    const ownerGroup = spec.for.resource.group;
    for (const owned of spec.owns ?? []) {
      owned.on((_ev, obj) => {
        const ref = obj.metadata?.ownerReferences?.find((r) => r.controller === true && r.kind === spec.for.resource.kind && r.apiVersion.split('/')[0] === ownerGroup);
        if (ref === undefined) return;
        const ns = spec.for.resource.namespaced ? obj.metadata?.namespace : undefined;
        // Only for an owner in our cache: every reconciler ignores a key it does not hold, and with sharding the
        // other shards' ReplicaSets would otherwise wake this replica for nothing.
        if (spec.for.get(ns, ref.name) !== undefined) ctrl.enqueue(keyOf(ns, ref.name));
      });
    }
    const held = (key: string): boolean => {
      const { namespace, name } = splitKey(key);
      return spec.for.get(namespace, name) !== undefined;
    };
    for (const w of spec.watches ?? []) w.cache.on((_ev, obj) => w.map(obj).forEach((k) => held(k) && ctrl.enqueue(k)));
    this.controllers.push(ctrl);
    this.controllerCache.set(ctrl, spec.for as unknown as Cache<KubeObject>);
    return ctrl;
  }

  /** The shard's half of the drain handshake for one sharded kind: a watch on its drained objects, and their ack. */
  private addDrain(resource: ResourceType, own: Cache<KubeObject>): void {
    const sh = this.o.sharding;
    if (sh === undefined) return;
    this.shardedCaches.push(own);
    const draining = this.cache<KubeObject>(resource, { labelSelector: drainSelector(sh.id), metadataOnly: true, transform: { id: 'shard-drain', fn: metadataOnly } });
    const busy = (key: string): boolean => [...this.controllerCache].some(([ctrl, cache]) => cache === own && ctrl.queue.isProcessing(key));
    this.addController({ name: `shard-drain-${resource.plural}`, for: draining, workers: 2, reconciler: drainAcknowledger({ client: this.o.client, id: sh.id, metrics: this.o.metrics, resource, draining, own, busy }) });
  }

  /**
   * The /readyz answer: every cache registered before run() has listed once. Caches opened later (the GitOps
   * sync's per-kind watches) do not count: one the ServiceAccount may not list would never sync, and would take
   * every replica out of service for an Application's sake; that Application reports its own errors.
   */
  ready(): boolean {
    const gating = this.started ? this.startupCaches : [...this.caches.values()];
    return gating.every((c) => c.hasSynced());
  }

  private countCached(): void {
    const byResource = new Map<string, number>();
    for (const c of this.caches.values()) byResource.set(c.resource.plural, (byResource.get(c.resource.plural) ?? 0) + c.list().length);
    for (const [resource, n] of byResource) this.o.metrics.cacheObjects.set({ resource }, n);
  }

  /** This replica's shard id when sharded: what it labels the objects it creates or takes over with. */
  get shard(): string | undefined {
    return this.o.sharding?.id;
  }

  /**
   * Runs `fn` each time this replica starts leading (at once without election; the sharder's leader when sharded),
   * and at once if it leads already. `signal` aborts when it stops leading or the manager stops.
   */
  whileLeading(fn: (signal: AbortSignal) => void): void {
    this.leadingHooks.push(fn);
    if (this.leading !== undefined) fn(this.leading.signal);
  }

  private startLeading(): void {
    if (this.leading !== undefined) return;
    this.leading = new AbortController();
    for (const fn of this.leadingHooks) fn(this.leading.signal);
  }

  private stopLeading(): void {
    this.leading?.abort();
    this.leading = undefined;
  }

  /** Runs `fn` at the end of stop(), after the caches (a test's process, or an operator's, then has nothing left running). */
  onStop(fn: () => Promise<void>): void {
    this.stopHooks.push(fn);
  }

  get isLeader(): boolean {
    return this.o.leaderElection === undefined || (this.elector?.isLeader ?? false);
  }

  /**
   * Runs until `stop()` ('stopped') or until the leader lease is lost ('lost': the caller should exit non-zero so
   * a fresh process campaigns again, as controller-runtime does).
   */
  async run(): Promise<'stopped' | 'lost'> {
    this.started = true;
    this.startupCaches = [...this.caches.values()];
    const signal = this.stopping.signal;
    for (const c of this.caches.values()) for (const i of c.informers) i.start();
    await Promise.race([Promise.all([...this.caches.values()].flatMap((c) => c.informers.map((i) => i.waitForSync()))), aborted(signal)]);
    if (signal.aborted) return 'stopped';
    this.o.log.info({ caches: this.caches.size }, 'caches synced');
    const sizes = setInterval(() => this.countCached(), OWNED_GAUGE_MS);
    sizes.unref();
    signal.addEventListener('abort', () => clearInterval(sizes), { once: true });
    this.countCached();
    const startWorkers = (): void => {
      this.o.metrics.leader.set(1);
      for (const c of this.controllers) c.start();
      this.startLeading();
    };
    const le = this.o.leaderElection;
    if (this.o.sharding !== undefined && le !== undefined) return this.runSharded(signal, le, this.o.sharding);
    if (le === undefined) {
      startWorkers();
      await aborted(signal);
      return 'stopped';
    }
    this.elector = new LeaderElector({ client: this.o.client, log: this.o.log.child({ component: 'leader-election' }), ...le });
    const outcome = await this.elector.run(signal, startWorkers);
    if (outcome === 'lost') {
      this.stopLeading();
      this.o.metrics.leader.set(0);
      // Stop acting at once: in-flight reconciles see their signal abort.
      await Promise.all(this.controllers.map((c) => c.stop(true)));
    }
    return outcome;
  }

  /**
   * Sharded: every replica acts once its membership Lease is held; the leader also runs the sharder. A membership
   * that cannot be renewed in time (fencing) or a lost leader lease stops every reconcile at once ('lost').
   */
  private async runSharded(signal: AbortSignal, le: NonNullable<ManagerOptions['leaderElection']>, sh: NonNullable<ManagerOptions['sharding']>): Promise<'stopped' | 'lost'> {
    const log = this.o.log.child({ component: 'sharding', shard: sh.id });
    this.membership = new ShardMembership({ client: this.o.client, namespace: sh.namespace, id: sh.id, ring: sh.ring, log, leaseDurationMs: sh.leaseDurationMs, renewDeadlineMs: sh.renewDeadlineMs, retryPeriodMs: sh.retryPeriodMs });
    if (!(await this.membership.acquire(signal))) return 'stopped';
    for (const c of this.controllers) c.start();
    const gauge = setInterval(() => {
      for (const c of this.shardedCaches) this.o.metrics.shardOwned.set({ resource: c.resource.plural }, c.list().length);
    }, OWNED_GAUGE_MS);
    gauge.unref();
    signal.addEventListener('abort', () => clearInterval(gauge), { once: true });
    const sharderStop = new AbortController();
    signal.addEventListener('abort', () => sharderStop.abort(), { once: true });
    this.elector = new LeaderElector({ client: this.o.client, log: this.o.log.child({ component: 'leader-election' }), ...le });
    const leading = this.elector.run(signal, () => {
      this.o.metrics.leader.set(1);
      const caches = sh.resources.map((resource) => ({ resource, cache: this.cache<KubeObject>(resource, { shard: false, metadataOnly: true, transform: { id: 'sharder', fn: metadataOnly } }) }));
      const sharder = new Sharder({ client: this.o.client, log: log.child({ component: 'sharder' }), metrics: this.o.metrics, namespace: sh.namespace, ring: sh.ring, caches, periodMs: sh.retryPeriodMs });
      void sharder.run(sharderStop.signal);
      this.startLeading();
    });
    const member = this.membership.run(signal).then((o) => (o === 'fenced' ? 'lost' : 'stopped'));
    const outcome = await Promise.race([member, leading]);
    if (outcome === 'lost') {
      clearInterval(gauge);
      sharderStop.abort();
      this.stopLeading();
      this.o.metrics.leader.set(0);
      await Promise.all(this.controllers.map((c) => c.stop(true)));
    }
    return outcome;
  }

  /** Graceful: let in-flight reconciles finish, give up the lease, stop watching. */
  async stop(): Promise<void> {
    this.stopLeading();
    await Promise.all(this.controllers.map((c) => c.stop(false)));
    this.stopping.abort(); // ends the renew loop first, so the release below is not renewed again
    await this.elector?.release();
    await this.membership?.release();
    this.o.metrics.leader.set(0);
    await Promise.all([...this.caches.values()].flatMap((c) => c.informers.map((i) => i.stop())));
    for (const fn of this.stopHooks) await fn();
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
