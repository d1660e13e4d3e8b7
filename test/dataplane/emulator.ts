// Data-plane EMULATOR for the demo and its e2e test. No mesh runs here, so this stands in for one: it reads the
// Istio VirtualService weights, the Services and the ReplicaSets from the apiserver, runs the demo app once per
// ready revision (apps.ts), sends generated load split by those weights, and exports what Istio's sidecars would
// report (istio_requests_total and istio_request_duration_milliseconds, reporter="destination", the revision's
// ReplicaSet as destination_workload) on /metrics for a real Prometheus to scrape. Every series carries
// emulated_by="sluice-dataplane-emulator" so nobody mistakes it for a mesh.
import { mkdirSync } from 'node:fs';
import type { KubeClient } from '../../src/kube/client.ts';
import { isNotFound } from '../../src/kube/errors.ts';
import { R } from '../../src/kube/resource.ts';
import { VIRTUAL_SERVICE } from '../../src/rollout/traffic/istio.ts';
import { Exporter } from '../prometheus/harness.ts';
import { Counters, MS_BUCKETS } from '../prometheus/traffic.ts';
import { AppProcess, send } from './apps.ts';
import { ProcessGuard } from './guard.ts';
import { backends, readyRevisions, replicaSetShape, serviceShape, virtualServiceShape, WeightedPicker, type Backend, type Revision, type VirtualServiceShape } from './routes.ts';

export const EMULATOR_LABEL = { emulated_by: 'sluice-dataplane-emulator' } as const;

export interface EmulatorOptions {
  client: KubeClient;
  namespace: string;
  virtualService: string;
  /** The HTTP route of the VirtualService to follow (its first one by default). */
  route?: string;
  /** Generated load, spread over 10 ticks a second (default 40). */
  requestsPerSecond?: number;
  /** The demo app processes' logs. */
  logDir: string;
  /** Lines worth telling a person (a revision's process started or stopped). */
  onEvent?: (line: string) => void;
}

/** The last few seconds of traffic, per revision, as the emulator saw it. */
export interface RevisionTraffic {
  replicaSet: string;
  version: string;
  requests: number;
  errors: number;
  p99Ms: number | undefined;
}

export interface EmulatorSnapshot {
  backends: Backend[];
  traffic: RevisionTraffic[];
  /** Requests that found no running revision behind their Service (not reported: no destination sidecar saw them). */
  noUpstream: number;
  windowSeconds: number;
}

const WINDOW_MS = 5000;

interface Hit {
  at: number;
  code: number;
  ms: number;
}

export class DataPlaneEmulator {
  private readonly o: EmulatorOptions;
  private readonly exporter: Exporter;
  private readonly counters = new Counters();
  private readonly picker = new WeightedPicker();
  private readonly apps = new Map<string, AppProcess>();
  private readonly starting = new Set<string>();
  private readonly hits = new Map<string, Hit[]>();
  private misses: number[] = [];
  private current: Backend[] = [];
  private readonly rr = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private polling = false;
  private inFlight = 0;
  private stopped = false;
  /** A poll that failed (apiserver hiccup): kept for the snapshot, retried on the next tick. */
  lastError: string | undefined;

  /** Stops the app processes should this process die without stop(). */
  private readonly guard = new ProcessGuard('sluice-emulator');

  private constructor(o: EmulatorOptions, exporter: Exporter) {
    this.o = o;
    this.exporter = exporter;
  }

  static async start(o: EmulatorOptions): Promise<DataPlaneEmulator> {
    mkdirSync(o.logDir, { recursive: true });
    const e = new DataPlaneEmulator(o, await Exporter.start());
    const perTick = Math.max(1, Math.round((o.requestsPerSecond ?? 40) / 10));
    e.timers = [
      setInterval(() => void e.poll(), 300),
      setInterval(() => e.tick(perTick), 100),
      setInterval(() => e.exporter.set(e.counters.samples()), 250),
    ];
    await e.poll();
    return e;
  }

  /** host:port of the emulator's /metrics, for Prometheus to scrape. */
  get target(): string {
    return this.exporter.target;
  }

  /** The revisions with a running app process. */
  running(): Revision[] {
    return [...this.apps.values()].map((a) => a.revision);
  }

  snapshot(now = Date.now()): EmulatorSnapshot {
    const since = now - WINDOW_MS;
    const traffic = [...this.apps.values()].map((a) => {
      const hits = (this.hits.get(a.revision.replicaSet) ?? []).filter((h) => h.at >= since && h.code !== 0);
      const sorted = hits.map((h) => h.ms).sort((x, y) => x - y);
      return {
        replicaSet: a.revision.replicaSet,
        version: a.revision.version,
        requests: hits.length,
        errors: hits.filter((h) => h.code >= 500).length,
        p99Ms: sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)],
      };
    });
    return { backends: this.current, traffic, noUpstream: this.misses.filter((t) => t >= since).length, windowSeconds: WINDOW_MS / 1000 };
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const { client, namespace } = this.o;
      const [rsList, svcList, vs] = await Promise.all([
        client.list(R.replicaSet, namespace),
        client.list(R.service, namespace),
        client.get(VIRTUAL_SERVICE, namespace, this.o.virtualService).then(
          (v) => virtualServiceShape.parse(v),
          (err: unknown): VirtualServiceShape | undefined => {
            if (isNotFound(err)) return undefined;
            throw err;
          },
        ),
      ]);
      const wanted = readyRevisions(rsList.items.map((i) => replicaSetShape.parse(i)));
      await this.reconcile(wanted);
      this.current = backends(vs, this.o.route, svcList.items.map((i) => serviceShape.parse(i)), this.running());
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
    } finally {
      this.polling = false;
    }
  }

  /** One app process per ready revision: start the new ones (in the background), stop the ones scaled away. */
  private async reconcile(wanted: Revision[]): Promise<void> {
    const names = new Set(wanted.map((r) => r.replicaSet));
    for (const [name, app] of this.apps) {
      if (names.has(name)) continue;
      this.apps.delete(name);
      await app.stop();
      this.o.onEvent?.(`[emulator] ReplicaSet ${name} has no ready pods: stopped its demo-app process (${app.revision.version})`);
    }
    for (const rev of wanted) {
      if (this.apps.has(rev.replicaSet) || this.starting.has(rev.replicaSet)) continue;
      this.starting.add(rev.replicaSet);
      AppProcess.start(rev, this.o.logDir).then(
        async (app) => {
          this.starting.delete(rev.replicaSet);
          if (this.stopped) return app.stop();
          this.apps.set(rev.replicaSet, app);
          this.guard.add(app.pid, process.execPath);
          const env = Object.entries(rev.env).map(([k, v]) => `${k}=${v}`).join(' ');
          this.o.onEvent?.(`[emulator] ReplicaSet ${rev.replicaSet} is ready: started demo-app ${rev.version} on 127.0.0.1:${app.port} (pid ${app.pid}${env === '' ? '' : `, ${env}`})`);
        },
        (err: unknown) => {
          this.starting.delete(rev.replicaSet);
          this.o.onEvent?.(`[emulator] could not start demo-app for ${rev.replicaSet}: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    }
  }

  /** Sends `n` requests, each to a Service picked by the route weights, then to one running revision behind it. */
  private tick(n: number): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const list of this.hits.values()) while (list.length > 0 && (list[0]?.at ?? now) < now - WINDOW_MS) list.shift();
    this.misses = this.misses.filter((t) => t >= now - WINDOW_MS);
    for (let i = 0; i < n; i++) {
      if (this.inFlight > 200) return; // the apps are stuck: do not pile up sockets
      const service = this.picker.pick(this.current.map((b) => ({ key: b.service, weight: b.weight })));
      const backend = this.current.find((b) => b.service === service);
      const candidates = (backend?.replicaSets ?? []).filter((rs) => this.apps.has(rs));
      if (service === undefined) return; // no route yet: nothing to send to
      if (candidates.length === 0) {
        this.misses.push(now);
        continue;
      }
      const turn = this.rr.get(service) ?? 0;
      this.rr.set(service, turn + 1);
      const app = this.apps.get(candidates[turn % candidates.length] ?? '');
      if (app === undefined) continue;
      this.inFlight++;
      void send(app.port).then(({ code, ms }) => {
        this.inFlight--;
        this.record(app.revision, service, code, ms);
      });
    }
  }

  private record(rev: Revision, service: string, code: number, ms: number): void {
    const list = this.hits.get(rev.replicaSet) ?? [];
    list.push({ at: Date.now(), code, ms });
    this.hits.set(rev.replicaSet, list);
    if (code === 0) return; // the connection failed: no destination sidecar would have reported it
    const labels = {
      reporter: 'destination',
      destination_workload_namespace: this.o.namespace,
      destination_workload: rev.replicaSet,
      destination_service_name: service,
      destination_version: rev.version,
      source_workload: 'emulated-load',
      ...EMULATOR_LABEL,
    };
    this.counters.add('istio_requests_total', { ...labels, response_code: String(code) }, 1);
    this.counters.observe('istio_request_duration_milliseconds', labels, MS_BUCKETS, ms, 1);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all([...this.apps.values()].map((a) => a.stop()));
    this.apps.clear();
    await this.exporter.stop();
    this.guard.close();
  }
}
