// Rollouts in remote clusters: while this replica leads, every reachable cluster whose apiserver serves Sluice's
// Rollout kind gets its own Manager (the cluster's client, its `namespaces`) running the Rollout, AnalysisRun and
// Experiment controllers, as one Argo Rollouts per cluster would, but from this one operator. Canaries there are
// driven, routed and analysed from here; their Events are written there. A cluster Secret annotated
// `sluice.dev/rollouts: "false"` is left alone (a cluster that runs its own Sluice: two controllers would fight), and
// so is a Secret that names the operator's own cluster under another URL (same kube-system uid): the in-cluster
// controllers run its Rollouts already.
import type { Logger } from '../log/logger.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { registerAnalysisController } from '../analysis/controller.ts';
import { registerExperimentController } from '../experiment/controller.ts';
import { registerRolloutController } from '../rollout/controller.ts';
import { EventRecorder } from '../runtime/events.ts';
import { Manager } from '../runtime/manager.ts';
import { Metrics } from '../runtime/metrics.ts';
import type { ClusterRegistry, RemoteCluster } from './registry.ts';

/** The cluster Secret annotation that keeps Sluice's Rollout controller out of a cluster. */
export const ROLLOUTS_ANNOTATION = 'sluice.dev/rollouts';
/** How often a cluster without the Rollout CRD is asked again (a CRD installed later is picked up). */
export const RECHECK_MS = 30_000;

export interface RemoteRolloutsOptions {
  registry: ClusterRegistry;
  /** The operator's own cluster: a cluster Secret pointing back at it is not run twice. */
  home: KubeClient;
  log: Logger;
  /** Events' reporting instance (the operator's identity). */
  instance: string;
  workers: number;
  rolloutWorkers?: number;
  prometheusAddress?: string;
  recheckMs?: number;
}

interface Running {
  /** The cluster object it was built on: a changed Secret makes a new one (new client), and a new Manager. */
  cluster: RemoteCluster;
  manager: Manager;
  done: Promise<unknown>;
  /** The cluster's kube-system uid when readable: two Secrets naming one cluster run its Rollouts once. */
  uid: string | undefined;
}

export type RemoteRolloutState = { cluster: string; state: 'running' } | { cluster: string; state: 'skipped'; reason: string };

export class RemoteRollouts {
  private readonly o: RemoteRolloutsOptions;
  private readonly running = new Map<string, Running>();
  private readonly skipped = new Map<string, string>();
  private signal: AbortSignal | undefined;
  private homeUid: string | undefined;
  /** One pass at a time: a pass awaits discovery and stops managers while events keep arriving. */
  private chain: Promise<void> = Promise.resolve();

  constructor(o: RemoteRolloutsOptions) {
    this.o = o;
    o.registry.onChange(() => this.schedule());
  }

  /** Hooked to Manager.whileLeading: runs the per-cluster managers until `signal` aborts. */
  lead(signal: AbortSignal): void {
    this.signal = signal;
    const timer = setInterval(() => this.schedule(), this.o.recheckMs ?? RECHECK_MS);
    timer.unref();
    signal.addEventListener('abort', () => {
      clearInterval(timer);
      this.chain = this.chain.then(() => this.stopAll()).catch((err: unknown) => this.o.log.error({ err }, 'remote Rollouts: stopping failed'));
    }, { once: true });
    this.schedule();
  }

  /** What each known cluster's Rollouts are doing here (the logs say it as it changes; tests read it). */
  states(): RemoteRolloutState[] {
    return [...[...this.running.keys()].map((cluster) => ({ cluster, state: 'running' as const })), ...[...this.skipped].map(([cluster, reason]) => ({ cluster, state: 'skipped' as const, reason }))];
  }

  /** Resolves once every queued pass has run (tests; and stop). */
  settled(): Promise<void> {
    return this.chain;
  }

  private schedule(): void {
    this.chain = this.chain.then(() => this.pass()).catch((err: unknown) => this.o.log.error({ err }, 'remote Rollouts: pass failed'));
  }

  private async pass(): Promise<void> {
    if (this.signal === undefined || this.signal.aborted) return;
    const clusters = new Map(this.o.registry.remotes().map((c) => [c.spec.name, c]));
    for (const [name, r] of this.running) {
      const c = clusters.get(name);
      if (c === r.cluster && c.spec.annotations[ROLLOUTS_ANNOTATION] !== 'false') continue;
      await this.stopOne(name, r, c === undefined ? 'cluster removed' : c !== r.cluster ? 'cluster Secret changed' : `annotation ${ROLLOUTS_ANNOTATION}: "false"`);
    }
    // By name, so which of two Secrets for one cluster runs it does not depend on the order they arrived in.
    for (const [name, c] of [...clusters].sort(([a], [b]) => a.localeCompare(b))) {
      if (this.running.has(name)) continue;
      const { why, uid } = await this.eligible(c);
      if (why !== undefined) {
        if (this.skipped.get(name) !== why) this.o.log.info({ cluster: name, reason: why }, 'remote Rollouts: not running in this cluster');
        this.skipped.set(name, why);
        continue;
      }
      this.skipped.delete(name);
      this.startOne(c, uid);
    }
    for (const name of this.skipped.keys()) if (!clusters.has(name)) this.skipped.delete(name);
  }

  /** Why Rollouts in this cluster are not ours to run (undefined when they are), and its identity. */
  private async eligible(c: RemoteCluster): Promise<{ why?: string; uid?: string }> {
    if (c.spec.annotations[ROLLOUTS_ANNOTATION] === 'false') return { why: `the cluster Secret ${c.spec.secret} sets ${ROLLOUTS_ANNOTATION}: "false"` };
    if (!c.health.reachable) return { why: `unreachable: ${c.health.message ?? 'no answer'}` };
    try {
      const served = await c.discovery.resolve(`${R.rollout.group}/${R.rollout.version}`, R.rollout.kind);
      if (served === undefined) return { why: `the apiserver does not serve ${R.rollout.kind}.${R.rollout.group}/${R.rollout.version} (install Sluice's CRDs there)` };
    } catch (err) {
      return { why: `discovery failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    this.homeUid ??= await kubeSystemUid(this.o.home);
    const uid = await kubeSystemUid(c.client);
    if (uid === undefined) return {};
    if (uid === this.homeUid) return { why: `it is the operator's own cluster (same kube-system namespace uid ${uid}): the in-cluster controllers run its Rollouts`, uid };
    const twin = [...this.running].find(([, r]) => r.uid === uid);
    if (twin !== undefined) return { why: `it is the same cluster as "${twin[0]}" (kube-system namespace uid ${uid}): its Rollouts run once, under that name`, uid };
    return { uid };
  }

  private startOne(c: RemoteCluster, uid: string | undefined): void {
    const name = c.spec.name;
    const log = this.o.log.child({ cluster: name });
    // Its own Metrics: the operator's gauges (cached objects, leader) describe the operator's own cluster.
    const manager = new Manager({ client: c.client, log, metrics: new Metrics(), namespaces: c.spec.namespaces, resyncMs: 10 * 60_000 });
    const events = new EventRecorder({ client: c.client, log, instance: this.o.instance });
    const deps = { client: c.client, events, workers: this.o.workers, ...(this.o.rolloutWorkers !== undefined ? { rolloutWorkers: this.o.rolloutWorkers } : {}) };
    registerRolloutController(manager, { ...deps, ...(this.o.prometheusAddress !== undefined ? { prometheusAddress: this.o.prometheusAddress } : {}) });
    registerAnalysisController(manager, deps);
    registerExperimentController(manager, deps);
    const done = manager.run().catch((err: unknown) => log.error({ err }, 'remote Rollouts: manager failed'));
    this.running.set(name, { cluster: c, manager, done, uid });
    log.info({ server: c.spec.server, namespaces: c.spec.namespaces }, 'remote Rollouts: running in this cluster');
  }

  private async stopOne(name: string, r: Running, why: string): Promise<void> {
    this.running.delete(name);
    await r.manager.stop();
    await r.done;
    this.o.log.info({ cluster: name, reason: why }, 'remote Rollouts: stopped in this cluster');
  }

  private async stopAll(): Promise<void> {
    for (const [name, r] of [...this.running]) await this.stopOne(name, r, 'no longer leading');
    this.skipped.clear();
  }
}

/** A cluster's identity: the uid of its kube-system namespace (what Argo CD and others use as a cluster id). */
async function kubeSystemUid(client: KubeClient): Promise<string | undefined> {
  try {
    return (await client.get<KubeObject>(R.namespace, undefined, 'kube-system')).metadata?.uid;
  } catch {
    // A token limited to some namespaces may not read it: then the two cannot be told apart, and the Secret is taken
    // at its word (its `namespaces` limit what the controllers watch there).
    return undefined;
  }
}
