// The demo's REAL data plane (the default): a real Traefik, built from its Go module (test/dataplane/traefik), runs its
// Kubernetes Gateway API provider against the plane and routes by the weights Sluice writes on the HTTPRoute; the
// pod runner starts one demo-app process per Ready pod of the Rollout; a load generator sends real HTTP requests to
// Traefik's entry point. The stand-ins left: kwok (no kubelet: the pod runner starts the processes) and the
// kube-proxy emulator (no iptables here: it forwards each Service's ClusterIP, a loopback address, to the pods'
// processes). Everything listens on 127.0.0.0/8. The split is measured from the processes' own counts and from
// Traefik's metrics (split.ts), beside the weights Sluice wrote.
import { mkdirSync } from 'node:fs';
import type { KubeClient } from '../../src/kube/client.ts';
import { R } from '../../src/kube/resource.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../../src/rollout/hash.ts';
import { HTTP_ROUTE } from '../../src/rollout/traffic/gatewayapi.ts';
import { KubeProxyEmulator } from '../../test/dataplane/kubeproxy.ts';
import { PodRunner } from '../../test/dataplane/podrunner.ts';
import { Poller } from '../../test/dataplane/poller.ts';
import { loadedWeights, startTraefik, TRAEFIK_CONTROLLER, type Traefik } from '../../test/dataplane/traefik/traefik.ts';
import { LoadGenerator } from './load.ts';
import type { DemoPlane, VersionTraffic } from './plane.ts';
import { accumulate, isCanary, splitLine, traefikCounts, type PodCount, type Sample, type SplitSegment } from './split.ts';

export const GATEWAY_NAME = 'demo-gateway';
/** The GatewayClass label this demo's Traefik serves (parallel runs never serve each other's Gateways). */
const CLASS_LABEL = 'sluice.dev/demo-namespace';
const WINDOW_MS = 5000;
/** How often the split is sampled: a 5 s step loses about two periods to Traefik's reload and the sample lag. */
const SAMPLE_MS = 250;

export interface TraefikPlaneOptions {
  client: KubeClient;
  kubeconfig: string;
  kubectl(args: string[], input?: string): Promise<string>;
  /** Traefik's bin directory (test/dataplane/traefik/build.sh). */
  binDir: string;
  namespace: string;
  /** The Rollout, its HTTPRoute and its Services (as named in the config repo). */
  app: string;
  route: string;
  canaryService: string;
  stableService: string;
  logDir: string;
  /** Requests a second the load generator sends (default 100). */
  rate?: number;
  /** Lines worth telling a person (the pod runner started or stopped a process). */
  onEvent?: (line: string) => void;
}

type RouteRead = { spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] } };
type RolloutRead = { status?: { currentPodHash?: string; stableRS?: string } };

export class TraefikPlane implements DemoPlane {
  readonly kind = 'traefik' as const;
  private readonly o: TraefikPlaneOptions;
  private readonly runner: PodRunner;
  private readonly proxy: KubeProxyEmulator;
  private readonly traefik: Traefik;
  readonly load: LoadGenerator;
  private readonly sampler = new Poller(() => this.sample());
  private readonly samples: Sample[] = [];
  private readonly segments: SplitSegment[] = [];
  private told = 0;

  private constructor(o: TraefikPlaneOptions, runner: PodRunner, proxy: KubeProxyEmulator, traefik: Traefik) {
    this.o = o;
    this.runner = runner;
    this.proxy = proxy;
    this.traefik = traefik;
    this.load = new LoadGenerator({ port: traefik.webPort, ...(o.rate !== undefined ? { rate: o.rate } : {}) });
  }

  /** Starts the pod runner, the kube-proxy emulator and Traefik, creates the GatewayClass and the Gateway, starts the load. */
  static async start(o: TraefikPlaneOptions): Promise<TraefikPlane> {
    mkdirSync(o.logDir, { recursive: true });
    const runner = new PodRunner(o.client, o.namespace, o.logDir);
    runner.start();
    const proxy = new KubeProxyEmulator(o.client, o.namespace, (ip) => runner.address(ip));
    proxy.start();
    let traefik: Traefik | undefined;
    try {
      traefik = await startTraefik({ binDir: o.binDir, kubeconfig: o.kubeconfig, namespaces: [o.namespace], gatewayClassLabels: { [CLASS_LABEL]: o.namespace }, logFile: `${o.logDir}/traefik.log` });
      // The platform's part, not the app's (so not in the config repo): a GatewayClass for this Traefik and the
      // Gateway the app's HTTPRoute attaches to, its listener on the port of Traefik's `web` entry point.
      const gatewayClass = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: `sluice-demo-${o.namespace}`, labels: { [CLASS_LABEL]: o.namespace } }, spec: { controllerName: TRAEFIK_CONTROLLER } };
      const gateway = {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name: GATEWAY_NAME, namespace: o.namespace },
        spec: { gatewayClassName: gatewayClass.metadata.name, listeners: [{ name: 'web', port: traefik.webPort, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } }] },
      };
      await o.kubectl(['apply', '--server-side', '--field-manager=sluice-demo', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [gatewayClass, gateway] }));
    } catch (e) {
      await traefik?.stop();
      await proxy.stop();
      await runner.stop();
      throw e;
    }
    const plane = new TraefikPlane(o, runner, proxy, traefik);
    plane.load.start();
    plane.sampler.start(SAMPLE_MS);
    return plane;
  }

  get webPort(): number {
    return this.traefik.webPort;
  }

  get metricsTarget(): string {
    return `127.0.0.1:${this.traefik.metricsPort}`;
  }

  /** Problems of the harness's loops (the runner, the kube-proxy emulator): none in a good run. */
  get errors(): string[] {
    return [...this.runner.errors, ...this.proxy.errors];
  }

  private async sample(): Promise<void> {
    const { client, namespace: ns } = this.o;
    const [route, rollout, loaded, metrics, pods] = await Promise.all([
      client.get<RouteRead>(HTTP_ROUTE, ns, this.o.route).catch(() => undefined),
      client.get<RolloutRead>(R.rollout, ns, this.o.app).catch(() => undefined),
      loadedWeights(this.traefik.apiPort).catch(() => []),
      fetch(`http://${this.metricsTarget}/metrics`).then((r) => r.text()),
      Promise.all(
        this.runner.pods().map(async (p): Promise<[string, PodCount] | undefined> => {
          const stats = (await fetch(`http://127.0.0.1:${p.port}/stats`).then((r) => r.json()).catch(() => undefined)) as { served?: number; version?: string } | undefined;
          if (typeof stats?.served !== 'number') return undefined;
          return [p.name, { hash: p.labels[POD_TEMPLATE_HASH_LABEL] ?? '', version: stats.version ?? '', served: stats.served }];
        }),
      ),
    ]);
    const canaryRef = (name: string): boolean => name === this.o.canaryService;
    const written = route?.spec?.rules?.[0]?.backendRefs?.find((b) => canaryRef(b.name))?.weight;
    // Traefik names a weighted child `<namespace>-<service>-http-<port>`.
    const child = loaded.flatMap((s) => Object.entries(s.weights)).find(([k]) => k.startsWith(`${ns}-${this.o.canaryService}-http-`));
    const cur: Sample = {
      at: Date.now(),
      written,
      loaded: child?.[1],
      canaryHash: rollout?.status?.currentPodHash ?? '',
      stableHash: rollout?.status?.stableRS ?? '',
      pods: new Map(pods.filter((p) => p !== undefined)),
      traefik: traefikCounts(metrics, ns, this.o.canaryService, this.o.stableService),
    };
    for (const e of this.runner.log.slice(this.told)) this.o.onEvent?.(`[pod runner] pod ${e.pod} (${e.ip}): ${e.event === 'started' ? `process started on 127.0.0.1:${e.port}` : e.event === 'probe passed' ? 'answers /healthz: made Ready' : 'gone from the apiserver: process stopped'}`);
    this.told = this.runner.log.length;
    accumulate(this.segments, this.samples.at(-1), cur);
    this.samples.push(cur);
    while ((this.samples[0]?.at ?? cur.at) < cur.at - WINDOW_MS - 1000) this.samples.shift();
  }

  /** Requests each revision's processes answered over the last seconds (their own counts). */
  private served(): Map<string, { requests: number; version: string }> {
    const last = this.samples.at(-1);
    const first = this.samples.find((s) => s.at >= (last?.at ?? 0) - WINDOW_MS);
    const out = new Map<string, { requests: number; version: string }>();
    if (last === undefined || first === undefined) return out;
    for (const [name, pod] of last.pods) {
      const rs = `${this.o.app}-${pod.hash}`;
      const t = out.get(rs) ?? { requests: 0, version: pod.version };
      out.set(rs, { requests: t.requests + Math.max(0, pod.served - (first.pods.get(name)?.served ?? 0)), version: pod.version });
    }
    return out;
  }

  trafficLines(versionOf: (replicaSet: string) => string | undefined): string[] {
    const last = this.samples.at(-1);
    const served = this.served();
    const clients = this.load.window();
    const total = [...served.values()].reduce((s, t) => s + t.requests, 0);
    const out = [`Traffic (REAL: ${this.load.rate} req/s → Traefik on 127.0.0.1:${this.traefik.webPort} → app processes; last ${WINDOW_MS / 1000}s):`];
    out.push(`  canary weight written by Sluice ${last?.written ?? '-'}% · loaded by Traefik ${last?.loaded ?? '-'}%`);
    const seg = this.segments.at(-1);
    if (seg !== undefined && last !== undefined && seg.to === last.at && isCanary(seg)) out.push(`  this step: ${splitLine(seg)}`);
    for (const [rs, t] of [...served].sort()) {
      const c = clients.get(t.version);
      const share = total === 0 ? '-' : `${((100 * t.requests) / total).toFixed(1)}%`;
      out.push(`  ${rs.padEnd(18)} ${(versionOf(rs) ?? t.version).padEnd(7)} ${share.padStart(6)} of requests  ${String(t.requests).padStart(4)} answered (own count)  ${String(c?.errors ?? 0).padStart(3)} errors seen by clients`);
    }
    const lost = clients.get('');
    if (lost !== undefined) out.push(`  ${lost.requests} requests answered by no app process (Traefik's 404/503, or no connection)`);
    return out;
  }

  running(): string[] {
    return [...new Set(this.runner.pods().map((p) => `${this.o.app}-${p.labels[POD_TEMPLATE_HASH_LABEL] ?? ''}`))].sort();
  }

  serving(): string[] {
    return [...this.served()].filter(([, t]) => t.requests > 0).map(([rs]) => rs);
  }

  traffic(): VersionTraffic[] {
    return [...this.load.window()].map(([version, t]) => ({ version, ...t }));
  }

  clientTotals(): VersionTraffic[] {
    return [...this.load.total()].map(([version, t]) => ({ version, ...t }));
  }

  splits(): SplitSegment[] {
    return this.segments.map((s) => ({ ...s }));
  }

  async stop(): Promise<void> {
    await this.sampler.stop();
    await this.load.stop();
    await this.traefik.stop();
    await this.proxy.stop();
    await this.runner.stop();
    // Bounded: after a Ctrl-C the terminal's SIGINT has stopped etcd too, and an unbounded request would hang the exit.
    await this.o.kubectl(['delete', 'gatewayclass', `sluice-demo-${this.o.namespace}`, '--ignore-not-found', '--wait=false', '--request-timeout=5s']).catch(() => undefined);
  }
}
