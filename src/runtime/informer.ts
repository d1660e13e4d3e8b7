import type { Logger } from '../log/logger.ts';
import type { KubeClient, KubeList, KubeObject, Query, WatchEvent } from '../kube/client.ts';
import { isGone, KubeApiError } from '../kube/errors.ts';
import { apiVersionOf, collectionPath, type ResourceType } from '../kube/resource.ts';
import { sleep } from './sleep.ts';

export type InformerEvent = 'add' | 'update' | 'delete';
export type Handler<T> = (event: InformerEvent, obj: T, old?: T) => void;

export interface InformerOptions {
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

// managedFields can be half an object's size and no decision reads them from the cache.
function trim<T extends KubeObject>(o: T): T {
  if (o.metadata?.managedFields !== undefined) {
    const { managedFields: _drop, ...metadata } = o.metadata;
    return { ...o, metadata };
  }
  return o;
}

/**
 * List-then-watch cache of one kind in one scope. Unlike client-node's informer it never stops on its own: any
 * error restarts the watch with backoff, an expired resourceVersion (410) relists, a silent connection is cut
 * after `idleMs`. Handlers only enqueue keys; one that throws is logged, never allowed to kill the loop.
 */
export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: Handler<T>[] = [];
  private readonly rvListeners: ((key: string, rv: string) => void)[] = [];
  private rv: string | undefined;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private abort: AbortController | undefined;
  private running: Promise<void> | undefined;
  private readonly opts: InformerOptions;
  /** Counters for metrics and tests. */
  readonly stats = { lists: 0, watches: 0, relists: 0, errors: 0 };

  constructor(opts: InformerOptions) {
    this.opts = opts;
  }

  get resource(): ResourceType {
    return this.opts.resource;
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
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
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
      const page: KubeList<T> = await this.opts.client.list<T>(this.opts.resource, this.opts.namespace, { ...this.query(), limit: this.opts.pageSize ?? 500, continue: cont }, signal);
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont !== undefined);
    this.stats.lists++;
    const seen = new Set<string>();
    for (const raw of items) {
      // List items carry no apiVersion/kind of their own; give them what a watch event would have.
      const obj = deepFreeze(trim({ ...raw, apiVersion: raw.apiVersion ?? apiVersionOf(this.opts.resource), kind: raw.kind ?? this.opts.resource.kind }));
      const key = objectKey(obj);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      this.notifyRv(key, obj);
      if (old === undefined) this.emit('add', obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj, old);
    }
    for (const [key, old] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
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
    const obj = deepFreeze(trim(ev.object));
    const key = objectKey(obj);
    this.rv = obj.metadata?.resourceVersion ?? this.rv;
    const old = this.cache.get(key);
    if (ev.type === 'DELETED') {
      this.cache.delete(key);
      this.notifyRv(key, obj);
      this.emit('delete', obj);
      return;
    }
    this.cache.set(key, obj);
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
          { signal, idleMs: this.opts.idleMs ?? 120_000 },
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
