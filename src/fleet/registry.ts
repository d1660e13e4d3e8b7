// The cluster registry: the cluster Secrets of the operator's namespace, each turned into a RemoteCluster (a client,
// discovery, the watches the sync opens there, and a health probe). A cluster starts when its Secret appears, is
// rebuilt when the connection settings change, and stops when the Secret goes. Readers ask `resolve(destination)`.
import type { Logger } from '../log/logger.ts';
import { KubeClient, type ClientOptions, type KubeObject } from '../kube/client.ts';
import { Discovery } from '../kube/discovery.ts';
import { KubeApiError } from '../kube/errors.ts';
import { staticAuth, type KubeAuth } from '../kube/kubeconfig.ts';
import { R, type ResourceType } from '../kube/resource.ts';
import { Informer } from '../runtime/informer.ts';
import { Cache, type Manager } from '../runtime/manager.ts';
import { IN_CLUSTER_NAME, IN_CLUSTER_SERVER } from '../api/application/schema.ts';
import { ARGO_SECRET_TYPE_LABEL, CLUSTER_SECRET_TYPE, formatClusterSecretErrors, parseClusterSecret, SLUICE_SECRET_TYPE_LABEL, type ClusterSpec } from './secret.ts';

/** How often a cluster's apiserver is asked for /version: what tells an idle cluster's Applications it went away. */
export const PROBE_MS = 15_000;

export interface ClusterHealth {
  reachable: boolean;
  /** Why not (no credential in it: transport errors and the apiserver's own status text only). */
  message?: string;
}

/** How to reach a cluster Secret's apiserver: its CA, client certificate or bearer token (the plugin's --cluster too). */
export function clusterAuth(spec: ClusterSpec): KubeAuth {
  const c = spec.credentials;
  const tls = { ...(c.ca !== undefined ? { ca: c.ca } : {}), ...(c.cert !== undefined ? { cert: c.cert } : {}), ...(c.key !== undefined ? { key: c.key } : {}), ...(c.insecure === true ? { insecure: true } : {}), ...(c.serverName !== undefined ? { servername: c.serverName } : {}) };
  const bearer = c.bearerToken !== undefined ? `Bearer ${c.bearerToken}` : undefined;
  return staticAuth(spec.server, tls, bearer === undefined ? undefined : () => bearer);
}

/** One remote cluster: its client and discovery, and every watch opened on it (stopped with it). */
export class RemoteCluster {
  /** Replaced in place when only labels or annotations change (the generators read them; the connection stays). */
  spec: ClusterSpec;
  readonly client: KubeClient;
  readonly discovery: Discovery;
  private readonly caches = new Map<string, Cache<KubeObject>>();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  health: ClusterHealth = { reachable: true };
  private readonly onHealth: (c: RemoteCluster) => void;

  constructor(spec: ClusterSpec, log: Logger, opts: ClientOptions, onHealth: (c: RemoteCluster) => void) {
    this.spec = spec;
    this.onHealth = onHealth;
    this.log = log;
    this.client = new KubeClient(clusterAuth(spec), { timeoutMs: 10_000, ...opts });
    this.discovery = new Discovery(this.client);
  }

  start(probeMs: number): void {
    void this.probe();
    this.timer = setInterval(() => void this.probe(), probeMs);
    this.timer.unref();
  }

  /** One GET /version; a change of reachability is told to the registry's listeners. */
  async probe(): Promise<void> {
    let next: ClusterHealth;
    try {
      await this.client.request('GET', '/version');
      next = { reachable: true };
    } catch (err) {
      // An expired or revoked token answers 401: the cluster is there, but as unusable as an unreachable one.
      const refused = err instanceof KubeApiError && (err.kind === 'Unauthorized' || err.kind === 'Forbidden');
      const what = err instanceof KubeApiError ? `${err.kind}: ${err.message}` : err instanceof Error ? err.message : String(err);
      next = { reachable: false, message: refused ? `the apiserver refuses the Secret's credentials (${what})` : `unreachable: ${what}` };
    }
    this.report(next);
  }

  /** A sync that failed on the network says so at once rather than at the next probe. */
  report(next: ClusterHealth): void {
    if (next.reachable === this.health.reachable && next.message === this.health.message) return;
    const was = this.health.reachable;
    this.health = next;
    if (was !== next.reachable) this.log.warn({ cluster: this.spec.name, reachable: next.reachable, reason: next.message }, next.reachable ? 'cluster reachable again' : 'cluster unreachable');
    this.onHealth(this);
  }

  /** A watch of one kind on this cluster (label-selected), started at once and stopped with the cluster. */
  cache<T extends KubeObject>(rt: ResourceType, labelSelector: string): Cache<T> {
    const id = `${rt.group}/${rt.plural}?${labelSelector}`;
    let c = this.caches.get(id);
    if (c === undefined) {
      const namespaces = rt.namespaced && this.spec.namespaces.length > 0 ? this.spec.namespaces : [undefined];
      const informers = namespaces.map((namespace) => new Informer<KubeObject>({ client: this.client, resource: rt, namespace, labelSelector, log: this.log.child({ cluster: this.spec.name, informer: rt.plural }) }));
      c = new Cache<KubeObject>(rt, informers);
      this.caches.set(id, c);
      for (const i of informers) i.start();
    }
    return c as unknown as Cache<T>;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.caches.values()].flatMap((c) => c.informers.map((i) => i.stop())));
    this.caches.clear();
  }
}

export type Resolution = { kind: 'local' } | { kind: 'remote'; cluster: RemoteCluster } | { kind: 'error'; field: string; message: string };

export interface RegistryOptions {
  manager: Manager;
  /** Where the cluster Secrets live: the operator's namespace. */
  namespace: string;
  log: Logger;
  probeMs?: number;
  clientOptions?: ClientOptions;
}

export class ClusterRegistry {
  private readonly caches: Cache<KubeObject>[];
  private readonly clusters = new Map<string, RemoteCluster>();
  /** Secret name → why it is not a cluster (for resolve's errors and the generators' conditions). */
  private readonly invalid = new Map<string, { name?: string; server?: string; message: string }>();
  private readonly listeners: ((cluster: string | undefined) => void)[] = [];
  private readonly o: RegistryOptions;
  private pending = false;
  /** Refreshes run one after another: one stops a cluster (await) while the next event arrives. */
  private chain: Promise<void> = Promise.resolve();

  constructor(o: RegistryOptions) {
    this.o = o;
    // A label selector cannot say "this label or that one": one watch per label, both narrow.
    this.caches = [ARGO_SECRET_TYPE_LABEL, SLUICE_SECRET_TYPE_LABEL].map((l) => o.manager.cache<KubeObject>(R.secret, { namespace: o.namespace, labelSelector: `${l}=${CLUSTER_SECRET_TYPE}` }));
    for (const c of this.caches) c.on(() => this.schedule());
    // Its clusters' watches and probes stop with the manager (after a refresh in flight).
    o.manager.onStop(async () => {
      await this.chain;
      await this.stop();
    });
  }

  /** Told of every change: a cluster's name (its Secret changed, appeared, went, or its health moved) or undefined. */
  onChange(fn: (cluster: string | undefined) => void): void {
    this.listeners.push(fn);
  }

  /** Several Secret events in one tick (the first list) rebuild once. */
  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      this.chain = this.chain.then(() => this.refresh()).catch((err: unknown) => this.o.log.error({ err }, 'cluster registry refresh failed'));
    });
  }

  private async refresh(): Promise<void> {
    const secrets = new Map<string, KubeObject>();
    for (const c of this.caches) for (const s of c.list()) secrets.set(s.metadata?.name ?? '', s);
    const next = new Map<string, ClusterSpec>();
    this.invalid.clear();
    for (const [name, s] of secrets) {
      const r = parseClusterSecret(s);
      if (r.ok) {
        if (next.has(r.value.name)) this.invalid.set(name, { name: r.value.name, server: r.value.server, message: `cluster Secret ${name}: data.name: "${r.value.name}" is the name of another cluster Secret too` });
        else next.set(r.value.name, r.value);
      } else {
        const message = formatClusterSecretErrors(name, r.errors);
        const data = (s['data'] ?? {}) as Record<string, string>;
        const dec = (k: string): string | undefined => (typeof data[k] === 'string' ? Buffer.from(data[k], 'base64').toString('utf8').replace(/\/+$/, '') : undefined);
        this.invalid.set(name, { name: dec('name'), server: dec('server'), message });
        this.o.log.warn({ secret: name, fields: r.errors.map((e) => e.field) }, 'invalid cluster Secret');
      }
    }
    const changed = new Set<string>();
    for (const [name, rc] of this.clusters) {
      const spec = next.get(name);
      if (spec !== undefined && spec.fingerprint === rc.spec.fingerprint) {
        if (!sameMeta(spec, rc.spec)) {
          rc.spec = spec;
          changed.add(name);
        }
        continue;
      }
      this.clusters.delete(name);
      changed.add(name);
      await rc.stop();
      this.o.log.info({ cluster: name }, spec === undefined ? 'cluster removed' : 'cluster Secret changed: reconnecting');
    }
    for (const [name, spec] of next) {
      if (this.clusters.has(name)) continue;
      const rc = new RemoteCluster(spec, this.o.log, this.o.clientOptions ?? {}, (c) => this.tell(c.spec.name));
      this.clusters.set(name, rc);
      rc.start(this.o.probeMs ?? PROBE_MS);
      changed.add(name);
      this.o.log.info({ cluster: name, server: spec.server }, 'cluster added');
    }
    for (const name of changed) this.tell(name);
    this.tell(undefined);
  }

  private tell(cluster: string | undefined): void {
    for (const l of this.listeners) l(cluster);
  }

  /** Every valid cluster, for the clusters generator. */
  list(): ClusterSpec[] {
    return [...this.clusters.values()].map((c) => c.spec);
  }

  /** Every running cluster (its client and health), for the remote Rollout controllers. */
  remotes(): RemoteCluster[] {
    return [...this.clusters.values()];
  }

  /** Have the Secret watches listed once? (Before, an unknown destination may just not be seen yet.) */
  hasSynced(): boolean {
    return this.caches.every((c) => c.hasSynced()) && !this.pending;
  }

  /** The cluster an Application's destination names. Neither field, `in-cluster` or the in-cluster URL: local. */
  resolve(dest: { server?: string; name?: string }): Resolution {
    const server = dest.server?.replace(/\/+$/, '');
    if (server !== undefined && dest.name !== undefined) return { kind: 'error', field: 'spec.destination', message: 'set either server or name, not both' };
    if ((server === undefined || server === IN_CLUSTER_SERVER) && (dest.name === undefined || dest.name === IN_CLUSTER_NAME)) return { kind: 'local' };
    const found = [...this.clusters.values()].find((c) => (server !== undefined ? c.spec.server === server : c.spec.name === dest.name));
    if (found !== undefined) return { kind: 'remote', cluster: found };
    const field = server !== undefined ? 'spec.destination.server' : 'spec.destination.name';
    const bad = [...this.invalid.values()].find((i) => (server !== undefined ? i.server === server : i.name === dest.name));
    if (bad !== undefined) return { kind: 'error', field, message: bad.message };
    return { kind: 'error', field, message: `no cluster Secret (label ${ARGO_SECRET_TYPE_LABEL}=${CLUSTER_SECRET_TYPE} in namespace ${this.o.namespace}) has ${server !== undefined ? `server "${server}"` : `name "${dest.name ?? ''}"`}` };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.clusters.values()].map((c) => c.stop()));
    this.clusters.clear();
  }
}

const sameMeta = (a: ClusterSpec, b: ClusterSpec): boolean => JSON.stringify([a.labels, a.annotations]) === JSON.stringify([b.labels, b.annotations]);
