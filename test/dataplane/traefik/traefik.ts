// A real Traefik (built by build.sh beside this file) running its Kubernetes Gateway API provider against the test
// plane, on 127.0.0.1 only: `web` takes the Gateway's HTTP listener (a listener's port must equal an entry point's),
// `traefik` serves the API (what Traefik has loaded) and /ping, `metrics` serves its Prometheus metrics.
// nativeLBByDefault: Traefik sends to a Service's ClusterIP:port (kube-proxy's job, emulated on loopback by
// ../kubeproxy.ts) instead of the pod IPs in the EndpointSlices, which cannot be loopback (see ../podrunner.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { runBuildScript } from '../../cluster/controlplane.ts';
import { freePorts } from '../../cluster/ports.ts';
import { waitFor } from '../../support/wait.ts';
import { ProcessGuard } from '../guard.ts';

export const TRAEFIK_BIN_ENV = 'SLUICE_TRAEFIK_BIN';
/** The GatewayClass controller name Traefik's provider claims. */
export const TRAEFIK_CONTROLLER = 'traefik.io/gateway-controller';
const BUILD = join(import.meta.dirname, 'build.sh');

/** Builds Traefik if the cache lacks it (minutes, cold) and returns its bin directory. */
export function ensureTraefik(): Promise<string> {
  return runBuildScript(BUILD);
}

export interface TraefikOptions {
  binDir: string;
  kubeconfig: string;
  /** The namespaces its provider watches. */
  namespaces: string[];
  /** Only GatewayClasses with these labels (so parallel tests' Traefiks never serve each other's Gateways). */
  gatewayClassLabels: Record<string, string>;
  logFile: string;
  /**
   * Also run Traefik's Kubernetes Ingress NGINX provider (ingress-nginx's annotations) on the first namespace, for
   * Ingresses of an IngressClass whose controller is ingress-nginx's (`k8s.io/ingress-nginx`).
   */
  ingressNginx?: boolean;
}

export interface Traefik {
  /** The `web` entry point: the port the Gateway's listener must name, and where requests go. */
  webPort: number;
  metricsPort: number;
  apiPort: number;
  stop(): Promise<void>;
}

export function traefikArgs(o: TraefikOptions, ports: { web: number; api: number; metrics: number }): string[] {
  const selector = Object.entries(o.gatewayClassLabels).map(([k, v]) => `${k}=${v}`).join(',');
  return [
    // Never phone home: the only network is loopback.
    '--global.checkNewVersion=false',
    '--global.sendAnonymousUsage=false',
    `--entryPoints.web.address=127.0.0.1:${ports.web}`,
    `--entryPoints.traefik.address=127.0.0.1:${ports.api}`,
    `--entryPoints.metrics.address=127.0.0.1:${ports.metrics}`,
    '--api=true',
    '--api.insecure=true',
    '--api.dashboard=false',
    '--ping=true',
    '--metrics.prometheus=true',
    '--metrics.prometheus.entryPoint=metrics',
    '--metrics.prometheus.addServicesLabels=true',
    // Finer than the default 0.1/0.3/1.2/5 s: a p99 interpolated in the 0.3-1.2 s bucket reads ~900 ms for a 20 ms
    // app, too near the demo's 1 s latency threshold.
    '--metrics.prometheus.buckets=0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5',
    '--providers.kubernetesGateway=true',
    '--providers.kubernetesGateway.nativeLBByDefault=true',
    `--providers.kubernetesGateway.namespaces=${o.namespaces.join(',')}`,
    `--providers.kubernetesGateway.labelSelector=${selector}`,
    // The default (2 s) batches provider events; a weight Sluice writes should take effect about at once.
    '--providers.providersThrottleDuration=100ms',
    ...(o.ingressNginx === true ? ['--providers.kubernetesIngressNGINX=true', `--providers.kubernetesIngressNGINX.watchNamespace=${o.namespaces[0] ?? ''}`, '--providers.kubernetesIngressNGINX.throttleDuration=100ms'] : []),
    // A connection per request to a ClusterIP: a kept-alive one would stay with the pod it first reached (as through
    // a real kube-proxy's conntrack), so a canary Service whose selector moved to a new revision would keep sending
    // to the old one. Per-request choice among the current endpoints is what Traefik does with EndpointSlices.
    '--serversTransport.maxIdleConnsPerHost=-1',
    '--log.level=INFO',
    // Every 5xx Traefik answered, beside its log: which Service, and whether the app answered it (OriginStatus) or
    // the connection to it failed (0), for telling an app's errors from the data plane's.
    '--accesslog=true',
    `--accesslog.filepath=${o.logFile.replace(/\.log$/, '')}-5xx.jsonl`,
    '--accesslog.format=json',
    '--accesslog.filters.statuscodes=500-599',
  ];
}

export async function startTraefik(o: TraefikOptions): Promise<Traefik> {
  const [web, api, metrics] = (await freePorts(3)) as [number, number, number];
  const command = join(o.binDir, 'traefik');
  const log = createWriteStream(o.logFile, { flags: 'a' });
  const env = { PATH: process.env.PATH ?? '', KUBECONFIG: o.kubeconfig, ...(process.env.SLUICE_TEST_RUN !== undefined ? { SLUICE_TEST_RUN: process.env.SLUICE_TEST_RUN } : {}) };
  const child: ChildProcess = spawn(command, traefikArgs(o, { web, api, metrics }), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const guard = new ProcessGuard('sluice-traefik');
  guard.add(child.pid, command);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    guard.close();
  };
  try {
    await waitFor('Traefik /ping', async () => {
      if (child.exitCode !== null) throw new Error(`Traefik exited with ${child.exitCode}; see ${o.logFile}`);
      try {
        return (await fetch(`http://127.0.0.1:${api}/ping`)).ok;
      } catch {
        return false;
      }
    }, 30_000, 100);
  } catch (e) {
    await stop();
    throw e;
  }
  return { webPort: web, metricsPort: metrics, apiPort: api, stop };
}

/** What Traefik has loaded for a weighted service: each child service's weight (the API's view of its config). */
export async function loadedWeights(apiPort: number): Promise<{ name: string; weights: Record<string, number> }[]> {
  const res = await fetch(`http://127.0.0.1:${apiPort}/api/http/services`);
  if (!res.ok) throw new Error(`Traefik API /api/http/services: HTTP ${res.status}`);
  const services = (await res.json()) as { name: string; weighted?: { services?: { name: string; weight?: number }[] } }[];
  return services.flatMap((s) => (s.weighted?.services === undefined ? [] : [{ name: s.name, weights: Object.fromEntries(s.weighted.services.map((c) => [c.name, c.weight ?? 1])) }]));
}
