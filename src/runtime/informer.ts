import type { Logger } from '../log/logger.ts';
import type { KubeClient, KubeList, KubeObject, Query, WatchEvent } from '../kube/client.ts';
import { isGone, KubeApiError } from '../kube/errors.ts';
import { apiVersionOf, collectionPath, type ResourceType } from '../kube/resource.ts';
import { sleep } from './sleep.ts';

export type InformerEvent = 'add' | 'update' | 'delete';
export type Handler<T> = (event: InformerEvent, obj: T, old?: T) => void;

export interface InformerOptions<T extends KubeObject = KubeObject> {
  client: KubeClient;
  resource: ResourceType;
  /** One namespace, or all when undefined. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  log: Logger;
  /** Re-deliver every cached object as an update this often (a safety net for missed edges); 0 turns it off. */
  resyncMs?: number;
  /** A watch with no byte for this long (bookmarks come about once a minute) is presumed dead and restarted. */
  idleMs?: number;
  /** Backoff after an error, doubling up to the max. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Page size for lists. */
  pageSize?: number;
  /**
   * Cuts each object to what the readers use before it is cached (a ReplicaSet without its pod template, a Service
   * without its ports): the cache's memory, and the cost of freezing every event, scale with what is kept.
   */
  transform?: (o: T) => T;
  /**
   * List and watch in the apiserver's metadata-only form (PartialObjectMetadata): for readers of labels and owners
   * only (the sharder, the drain handshake), the wire, the JSON parse and the cache carry no spec or status.
   */
  metadataOnly?: boolean;
}

export const keyOf = (namespace: string | undefined, name: string): string => (namespace ? `${namespace}/${name}` : name);
export const objectKey = (o: KubeObject): string => keyOf(o.metadata?.namespace, o.metadata?.name ?? '');

/** Cached objects are shared by every reader: frozen so that nobody edits what another reconcile reads. */
function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

// managedFields can be half an object's size, and kubectl's last-applied annotation a whole copy of the object; no
// decision reads either from the cache.
export function trimMetadata<T extends KubeObject>(o: T): T {
  const m = o.metadata;
  if (m === undefined || (m.managedFields === undefined && m.annotations?.[LAST_APPLIED] === undefined)) return o;
  const { managedFields: _drop, ...metadata } = m;
  if (m.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _last, ...annotations } = m.annotations;
    metadata.annotations = annotations;
  }
  return { ...o, metadata };
}

/** A secondary index: the keys of the objects `fn` files under each value. */
interface Index<T> {
  fn: (o: T) => readonly string[];
  map: Map<string, Set<string>>;
}

/**
 * List-then-watch cache of one kind in one scope. Unlike client-node's informer it never stops on its own: any
 * error restarts the watch with backoff, an expired resourceVersion (410) relists, a silent connection is cut
 * after `idleMs`. Handlers only enqueue keys; one that throws is logged, never allowed to kill the loop.
 */
export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  /** Keys by namespace, and any index a reader added: a reconcile reads its few objects, not a scan of all. */
  private readonly indexes = new Map<string, Index<T>>([['namespace', { fn: (o) => [o.metadata?.namespace ?? ''], map: new Map() }]]);
  private readonly handlers: Handler<T>[] = [];
  private readonly rvListeners: ((key: string, rv: string) => void)[] = [];
  private rv: string | undefined;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private abort: AbortController | undefined;
  private running: Promise<void> | undefined;
  private readonly opts: InformerOptions<T>;
  /** Counters for metrics and tests. */
  readonly stats = { lists: 0, watches: 0, relists: 0, errors: 0 };

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
  }

  get resource(): ResourceType {
    return this.opts.resource;
  }

  /** The one namespace it watches; undefined for all. */
  get namespace(): string | undefined {
    return this.opts.namespace;
  }

  on(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  /** Told the resourceVersion of every object event applied to the cache (read-your-writes tracking). */
  onResourceVersion(listener: (key: string, rv: string) => void): void {
    this.rvListeners.push(listener);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(keyOf(this.opts.resource.namespaced ? namespace : undefined, name));
  }

  getByKey(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): T[] {
    return namespace === undefined ? [...this.cache.values()] : this.byIndex('namespace', namespace);
  }

  /** Adds an index (before start: objects already cached are filed too). */
  addIndex(name: string, fn: (o: T) => readonly string[]): void {
    if (this.indexes.has(name)) throw new Error(`informer ${this.opts.resource.plural}: index ${name} exists`);
    const index: Index<T> = { fn, map: new Map() };
    this.indexes.set(name, index);
    for (const [key, o] of this.cache) this.file(index, key, o);
  }

  /** The cached objects an index files under `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (index === undefined) throw new Error(`informer ${this.opts.resource.plural}: no index ${name}`);
    const keys = index.map.get(value);
    if (keys === undefined) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.cache.get(k);
      if (o !== undefined) out.push(o);
    }
    return out;
  }

  private file(index: Index<T>, key: string, o: T): void {
    for (const v of index.fn(o)) {
      let set = index.map.get(v);
      if (set === undefined) index.map.set(v, (set = new Set()));
      set.add(key);
    }
  }

  private unfile(index: Index<T>, key: string, o: T): void {
    for (const v of index.fn(o)) {
      const set = index.map.get(v);
      set?.delete(key);
      if (set?.size === 0) index.map.delete(v);
    }
  }

  private put(key: string, obj: T): T | undefined {
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    for (const index of this.indexes.values()) {
      if (old !== undefined) this.unfile(index, key, old);
      this.file(index, key, obj);
    }
    return old;
  }

  private remove(key: string): void {
    const old = this.cache.get(key);
    if (old === undefined) return;
    this.cache.delete(key);
    for (const index of this.indexes.values()) this.unfile(index, key, old);
  }

  private prepare(raw: T): T {
    // List items carry no apiVersion/kind of their own, metadata-only objects PartialObjectMetadata's: a cache of a
    // kind holds that kind's objects whatever form they travelled in (an Event recorded on one names its real kind).
    const r = this.opts.resource;
    const typed = this.opts.metadataOnly === true || raw.apiVersion === undefined || raw.kind === undefined ? { ...raw, apiVersion: apiVersionOf(r), kind: r.kind } : raw;
    const trimmed = trimMetadata(typed);
    return deepFreeze(this.opts.transform !== undefined ? this.opts.transform(trimmed) : trimmed);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  start(): void {
    if (this.running !== undefined) return;
    this.abort = new AbortController();
    this.running = this.loop(this.abort.signal);
    if (this.opts.resyncMs !== undefined && this.opts.resyncMs > 0) {
      const t = setInterval(() => this.resync(), this.opts.resyncMs);
      t.unref();
      this.abort.signal.addEventListener('abort', () => clearInterval(t), { once: true });
    }
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.running;
    this.running = undefined;
  }

  private emit(ev: InformerEvent, obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        h(ev, obj, old);
      } catch (err) {
        this.opts.log.error({ err, event: ev, key: objectKey(obj) }, 'informer handler threw');
      }
    }
  }

  private resync(): void {
    if (!this.synced) return;
    for (const o of this.cache.values()) this.emit('update', o, o);
  }

  private query(): Query {
    return { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page: KubeList<T> = await this.opts.client.list<T>(this.opts.resource, this.opts.namespace, { ...this.query(), limit: this.opts.pageSize ?? 500, continue: cont }, signal, { metadataOnly: this.opts.metadataOnly === true });
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont !== undefined);
    this.stats.lists++;
    const seen = new Set<string>();
    for (const raw of items) {
      const obj = this.prepare(raw);
      const key = objectKey(obj);
      seen.add(key);
      const old = this.put(key, obj);
      this.notifyRv(key, obj);
      if (old === undefined) this.emit('add', obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj, old);
    }
    for (const [key, old] of [...this.cache]) {
      if (!seen.has(key)) {
        this.remove(key);
        this.emit('delete', old);
      }
    }
    this.rv = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private notifyRv(key: string, obj: T): void {
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined) for (const l of this.rvListeners) l(key, rv);
  }

  private apply(ev: WatchEvent<T>): void {
    if (ev.type === 'BOOKMARK') {
      this.rv = ev.object.metadata?.resourceVersion ?? this.rv;
      return;
    }
    const obj = this.prepare(ev.object);
    const key = objectKey(obj);
    this.rv = obj.metadata?.resourceVersion ?? this.rv;
    if (ev.type === 'DELETED') {
      this.remove(key);
      this.notifyRv(key, obj);
      this.emit('delete', obj);
      return;
    }
    const old = this.put(key, obj);
    this.notifyRv(key, obj);
    this.emit(old === undefined ? 'add' : 'update', obj, old);
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const min = this.opts.minBackoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 30_000;
    let backoff = min;
    const log = this.opts.log;
    while (!signal.aborted) {
      try {
        if (this.rv === undefined) await this.relist(signal);
        if (signal.aborted) break;
        this.stats.watches++;
        await this.opts.client.watch<T>(
          collectionPath(this.opts.resource, this.opts.namespace),
          // The server ends each watch after a few minutes (jittered so informers do not reconnect in step).
          { ...this.query(), resourceVersion: this.rv, timeoutSeconds: 240 + Math.floor(Math.random() * 120) },
          (ev) => {
            backoff = min;
            this.apply(ev);
          },
          { signal, idleMs: this.opts.idleMs ?? 120_000, metadataOnly: this.opts.metadataOnly === true },
        );
      } catch (err) {
        if (signal.aborted) break;
        this.stats.errors++;
        if (isGone(err)) {
          // Our resourceVersion is too old for the watch cache: list again, at once.
          this.stats.relists++;
          log.info({ resource: this.opts.resource.plural }, 'watch expired; relisting');
          this.rv = undefined;
          continue;
        }
        const delay = backoff + Math.random() * backoff;
        backoff = Math.min(backoff * 2, max);
        log.warn({ resource: this.opts.resource.plural, err: describe(err), retryInMs: Math.round(delay) }, 'list/watch failed; retrying');
        await sleep(delay, signal);
      }
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof KubeApiError) return `${err.kind}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
