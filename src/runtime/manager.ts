import type { Logger } from '../log/logger.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { ResourceType } from '../kube/resource.ts';
import { Controller, type Reconciler } from './controller.ts';
import { Informer, keyOf, objectKey, type Handler } from './informer.ts';
import { LeaderElector } from './leader.ts';
import type { Metrics } from './metrics.ts';

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
}

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
  private elector: LeaderElector | undefined;
  private stopping = new AbortController();
  private started = false;
  /** The caches registered before run(): the controllers' own. Only they gate readiness. */
  private startupCaches: Cache<KubeObject>[] = [];

  constructor(opts: ManagerOptions) {
    this.o = opts;
  }

  /**
   * The shared cache of one kind (and label selector). `transform` cuts objects to what its readers use; caches with
   * different transforms (`transform.id`) are separate informers, so a reader never gets a cut it did not ask for.
   */
  cache<T extends KubeObject>(resource: ResourceType, opts: { labelSelector?: string; namespace?: string; transform?: { id: string; fn: (o: T) => T } } = {}): Cache<T> {
    const id = `${resource.group}/${resource.plural}?${opts.labelSelector ?? ''}#${opts.transform?.id ?? ''}@${opts.namespace ?? ''}`;
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
            labelSelector: opts.labelSelector,
            transform: opts.transform?.fn as ((o: KubeObject) => KubeObject) | undefined,
            log: this.o.log.child({ informer: resource.plural, namespace: namespace ?? '*' }),
            resyncMs: this.o.resyncMs,
          }),
      );
      c = new Cache<KubeObject>(resource, informers);
      this.caches.set(id, c);
      if (this.started) for (const i of informers) i.start();
    }
    return c as unknown as Cache<T>;
  }

  addController<T extends KubeObject>(spec: ControllerSpec<T>): Controller {
    const ctrl = new Controller({ name: spec.name, reconciler: spec.reconciler, workers: spec.workers, log: this.o.log, metrics: this.o.metrics });
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
        if (ref !== undefined) ctrl.enqueue(keyOf(spec.for.resource.namespaced ? obj.metadata?.namespace : undefined, ref.name));
      });
    }
    for (const w of spec.watches ?? []) w.cache.on((_ev, obj) => w.map(obj).forEach((k) => ctrl.enqueue(k)));
    this.controllers.push(ctrl);
    return ctrl;
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
    const startWorkers = (): void => {
      this.o.metrics.leader.set(1);
      for (const c of this.controllers) c.start();
    };
    const le = this.o.leaderElection;
    if (le === undefined) {
      startWorkers();
      await aborted(signal);
      return 'stopped';
    }
    this.elector = new LeaderElector({ client: this.o.client, log: this.o.log.child({ component: 'leader-election' }), ...le });
    const outcome = await this.elector.run(signal, startWorkers);
    if (outcome === 'lost') {
      this.o.metrics.leader.set(0);
      // Stop acting at once: in-flight reconciles see their signal abort.
      await Promise.all(this.controllers.map((c) => c.stop(true)));
    }
    return outcome;
  }

  /** Graceful: let in-flight reconciles finish, give up the lease, stop watching. */
  async stop(): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.stop(false)));
    this.stopping.abort(); // ends the renew loop first, so the release below is not renewed again
    await this.elector?.release();
    this.o.metrics.leader.set(0);
    await Promise.all([...this.caches.values()].flatMap((c) => c.informers.map((i) => i.stop())));
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
