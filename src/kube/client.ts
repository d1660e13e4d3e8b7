// The only place that talks HTTP to the apiserver. Objects travel as plain JSON (never client-node's model classes,
// which drop unknown fields and turn timestamps into Dates); callers validate what they read with zod.
// Credentials come from kubeconfig.ts; @kubernetes/client-node is only a type here (and loaded lazily for the auth
// kinds kubeconfig.ts leaves to it): importing it costs ~90 MB.
import type { KubeConfig } from '@kubernetes/client-node';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { fetch, type Dispatcher } from 'undici';
import { z } from 'zod';
import { errorFromResponse, KubeApiError, networkError } from './errors.ts';
import { delegatedAuth, loadKubeAuth, type KubeAuth } from './kubeconfig.ts';
import { TokenBucket } from './ratelimit.ts';
import { apiVersionOf, collectionPath, objectPath, R, type ResourceType } from './resource.ts';

/** The HTTP verbs the client sends (client-node's HttpMethod enum values are these strings). */
export const HttpMethod = { GET: 'GET', POST: 'POST', PUT: 'PUT', PATCH: 'PATCH', DELETE: 'DELETE' } as const;
export type HttpMethod = (typeof HttpMethod)[keyof typeof HttpMethod];

export type Query = Record<string, string | number | boolean | undefined>;

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeList<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: T;
}

export interface ClientOptions {
  qps?: number;
  burst?: number;
  /** Per-request timeout for everything but watches. */
  timeoutMs?: number;
  /** Told about every request (after rate limiting): metrics and the request-count tests hang here. */
  onRequest?: (method: string, path: string, status: number) => void;
}

interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  /** The Accept header; plain JSON when unset. */
  accept?: string;
  signal?: AbortSignal;
}

/**
 * Accept headers of the apiserver's metadata-only form (PartialObjectMetadata, what client-go's metadata informers
 * ask for): the wire and the parse carry only each object's metadata. The trailing `application/json` is client-go's
 * fallback: a server that cannot convert (an aggregated API) sends whole objects instead, which the caller cuts.
 */
export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const METADATA_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/** What a metadata-only list must hold for an informer to key and resume from it. */
const metadataListSchema = z.looseObject({
  metadata: z.looseObject({ resourceVersion: z.string().optional(), continue: z.string().optional() }),
  // An empty PartialObjectMetadataList comes with `items: null` (Go's nil slice), unlike a typed list's `[]`.
  items: z.array(z.looseObject({ metadata: z.looseObject({ name: z.string(), resourceVersion: z.string() }) })).nullable(),
});

export interface ListOptions {
  /** Each item's metadata only (PartialObjectMetadata, or whole objects from a server that cannot convert). */
  metadataOnly?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class KubeClient {
  private readonly auth: KubeAuth;
  private readonly server: string;
  private readonly limiter: TokenBucket;
  private readonly timeoutMs: number;
  private readonly onRequest: ClientOptions['onRequest'];

  /** `auth`: credentials from kubeconfig.ts, or a client-node KubeConfig the caller loaded (the plugin's --context). */
  constructor(auth: KubeAuth | KubeConfig, opts: ClientOptions = {}) {
    if ('prepare' in auth) this.auth = auth;
    else {
      const cluster = auth.getCurrentCluster();
      if (cluster === null) throw new Error('the kubeconfig has no current cluster');
      this.auth = delegatedAuth(cluster.server, () => Promise.resolve(auth));
    }
    this.server = this.auth.server;
    this.limiter = new TokenBucket(opts.qps ?? 50, opts.burst ?? 100);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.onRequest = opts.onRequest;
  }

  /** The Authorization header this client sends, if any (the dashboard's --remote forwards a bearer token). */
  async authorization(): Promise<string | undefined> {
    const { headers } = await this.auth.prepare(this.server, 'GET');
    return headers['Authorization'] ?? headers['authorization'];
  }

  /** KUBECONFIG, ~/.kube/config, or the in-cluster service account, like kubectl. */
  static fromDefault(opts: ClientOptions = {}, kubeconfigPath?: string): KubeClient {
    return new KubeClient(loadKubeAuth(kubeconfigPath), opts);
  }

  private async prepare(method: string, path: string, query: Query | undefined): Promise<{ url: URL; headers: Record<string, string>; dispatcher: Dispatcher | undefined }> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const { headers, dispatcher } = await this.auth.prepare(url.toString(), method);
    return { url, headers, dispatcher };
  }

  /** One request; the response body parsed as JSON. Non-2xx responses and network failures throw KubeApiError. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const wait = this.limiter.take();
    if (wait > 0) await sleep(wait);
    const { url, headers, dispatcher } = await this.prepare(method, path, opts.query);
    // One controller and one timer per request, both gone when it ends (AbortSignal.timeout keeps its timer for the
    // whole timeout, and AbortSignal.any a WeakRef per source: thousands alive at 100 requests a second).
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new DOMException(`${method} ${path}: no answer after ${this.timeoutMs} ms`, 'TimeoutError')), this.timeoutMs);
    const outer = opts.signal;
    const onOuter = (): void => ac.abort(outer?.reason);
    if (outer !== undefined) {
      if (outer.aborted) onOuter();
      else outer.addEventListener('abort', onOuter, { once: true });
    }
    try {
      let res;
      try {
        res = await fetch(url, {
          method,
          headers: { ...headers, Accept: opts.accept ?? 'application/json', ...(opts.body !== undefined ? { 'Content-Type': opts.contentType ?? 'application/json' } : {}) },
          dispatcher,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: ac.signal,
        });
      } catch (err) {
        this.onRequest?.(method, path, 0);
        // Our own timer fired (and not the caller's signal): a Timeout, whatever shape fetch gave the abort.
        if (ac.signal.aborted && outer?.aborted !== true) throw new KubeApiError({ kind: 'Timeout', status: 0, message: `${method} ${path}: no answer after ${this.timeoutMs} ms`, cause: err });
        throw networkError(err, `${method} ${path}`);
      }
      this.onRequest?.(method, path, res.status);
      const text = await res.text();
      if (!res.ok) throw errorFromResponse(res.status, text, res.headers.get('retry-after'));
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
  }

  get<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>(HttpMethod.GET, objectPath(r, namespace, name));
  }

  /** `metadataOnly`: items carry metadata only (and kind PartialObjectMetadata, apiVersion meta.k8s.io/v1). */
  async list<T extends KubeObject>(r: ResourceType, namespace?: string, query: Query = {}, signal?: AbortSignal, opts: ListOptions = {}): Promise<KubeList<T>> {
    const path = collectionPath(r, namespace);
    if (opts.metadataOnly !== true) return this.request<KubeList<T>>(HttpMethod.GET, path, { query, signal });
    const list = await this.request<unknown>(HttpMethod.GET, path, { query, signal, accept: METADATA_LIST_ACCEPT });
    // Checked, not copied: the parse would clone every item of a list that may hold thousands.
    const checked = metadataListSchema.safeParse(list);
    if (!checked.success) throw new KubeApiError({ kind: 'Other', status: 200, message: `GET ${path} (metadata only): unexpected list: ${z.prettifyError(checked.error)}` });
    const { items } = checked.data;
    return { ...(list as KubeList<T>), items: items === null ? [] : (list as KubeList<T>).items };
  }

  create<T extends KubeObject>(r: ResourceType, obj: T): Promise<T> {
    return this.request<T>(HttpMethod.POST, collectionPath(r, obj.metadata?.namespace), { body: { apiVersion: apiVersionOf(r), kind: r.kind, ...obj } });
  }

  /** Replace with the resourceVersion the caller read: a concurrent writer makes it fail with Conflict. */
  replace<T extends KubeObject>(r: ResourceType, obj: T, subresource?: string): Promise<T> {
    const name = obj.metadata?.name ?? '';
    return this.request<T>(HttpMethod.PUT, objectPath(r, obj.metadata?.namespace, name, subresource), { body: obj });
  }

  /**
   * Server-side apply of the fields `obj` names, owned by `fieldManager`. `force` takes fields over from other
   * managers (controllers owning their fields); without it a conflict throws. `dryRun` returns what would result.
   */
  apply<T extends KubeObject>(r: ResourceType, obj: T, fieldManager: string, opts: { force?: boolean; dryRun?: boolean; subresource?: string } = {}): Promise<T> {
    const name = obj.metadata?.name;
    if (name === undefined) throw new Error(`apply ${r.kind}: metadata.name is required`);
    return this.request<T>(HttpMethod.PATCH, objectPath(r, obj.metadata?.namespace, name, opts.subresource), {
      query: { fieldManager, force: opts.force === true ? 'true' : undefined, dryRun: opts.dryRun === true ? 'All' : undefined },
      body: { ...obj, apiVersion: apiVersionOf(r), kind: r.kind },
      contentType: 'application/apply-patch+yaml',
    });
  }

  /** JSON merge patch; with `subresource: 'status'` it writes status only. */
  mergePatch<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, patch: unknown, opts: { subresource?: string; fieldManager?: string } = {}): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, objectPath(r, namespace, name, opts.subresource), {
      query: { fieldManager: opts.fieldManager },
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  /** JSON patch (RFC 6902): `test` operations make a write conditional on what was read. */
  jsonPatch<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, ops: unknown[], opts: { subresource?: string; fieldManager?: string } = {}): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, objectPath(r, namespace, name, opts.subresource), {
      query: { fieldManager: opts.fieldManager },
      body: ops,
      contentType: 'application/json-patch+json',
    });
  }

  /** Evicts a pod through the Eviction API, so PodDisruptionBudgets are honoured (a refusal is TooManyRequests). */
  async evict(namespace: string, name: string): Promise<void> {
    await this.request<unknown>(HttpMethod.POST, `${objectPath(R.pod, namespace, name)}/eviction`, {
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
    });
  }

  async delete(r: ResourceType, namespace: string | undefined, name: string, opts: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; uid?: string } = {}): Promise<void> {
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: opts.propagationPolicy, ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}) };
    await this.request<unknown>(HttpMethod.DELETE, objectPath(r, namespace, name), { body });
  }

  /**
   * Streams watch events until the server ends the watch (resolves) or something fails (rejects with KubeApiError;
   * an expired resourceVersion is kind 'Gone'). The server closes it after `timeoutSeconds`; if no byte arrives for
   * `idleMs` (bookmarks arrive about once a minute) the connection is presumed dead and the watch fails as Timeout.
   */
  async watch<T>(path: string, query: Query, onEvent: (e: WatchEvent<T>) => void, opts: { signal?: AbortSignal; idleMs?: number } & ListOptions = {}): Promise<void> {
    const wait = this.limiter.take();
    if (wait > 0) await sleep(wait);
    const { url, headers, dispatcher } = await this.prepare(HttpMethod.GET, path, { ...query, watch: 'true', allowWatchBookmarks: 'true' });
    const idle = new AbortController();
    const signal = AbortSignal.any([idle.signal, ...(opts.signal ? [opts.signal] : [])]);
    const idleMs = opts.idleMs ?? 90_000;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(new DOMException(`no data for ${idleMs} ms`, 'TimeoutError')), idleMs);
      timer.unref();
    };
    arm();
    try {
      const res = await fetch(url, { method: 'GET', headers: { ...headers, Accept: opts.metadataOnly === true ? METADATA_WATCH_ACCEPT : 'application/json' }, dispatcher, signal });
      this.onRequest?.('WATCH', path, res.status);
      if (!res.ok) throw errorFromResponse(res.status, await res.text(), res.headers.get('retry-after'));
      if (res.body === null) return;
      const body = Readable.fromWeb(res.body);
      body.on('data', arm);
      for await (const line of createInterface({ input: body, crlfDelay: Infinity })) {
        if (line === '') continue;
        const ev = JSON.parse(line) as { type: string; object: unknown };
        if (ev.type === 'ERROR') {
          const st = ev.object as { code?: number };
          throw errorFromResponse(st.code ?? 500, JSON.stringify(ev.object));
        }
        onEvent(ev as WatchEvent<T>);
      }
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      if (opts.signal?.aborted === true) return;
      this.onRequest?.('WATCH', path, 0);
      throw networkError(idle.signal.aborted ? idle.signal.reason : err, `watch ${path}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
