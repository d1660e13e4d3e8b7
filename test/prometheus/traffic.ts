// Simulated traffic for the exporter: counters and histograms that grow on a timer, shaped like the metric
// families of Istio, NGINX Ingress, Envoy, Traefik and Linkerd, so real PromQL (rate, histogram_quantile) has data.
import type { Exporter, Sample } from './harness.ts';

export interface Workload {
  /** Requests per tick, and how many of them answer 5xx. */
  requests: number;
  errors: number;
  /** Every request's latency in milliseconds (one value keeps the quantile predictable). */
  latencyMs: number;
}

type Labels = Record<string, string>;
const key = (name: string, labels: Labels): string => `${name}${JSON.stringify(Object.entries(labels).sort())}`;

export const MS_BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

export class Counters {
  private readonly series = new Map<string, Sample>();

  add(name: string, labels: Labels, delta: number): void {
    const k = key(name, labels);
    const s = this.series.get(k) ?? { name, labels, value: 0 };
    s.value += delta;
    this.series.set(k, s);
  }

  /** `count` observations of `value` in a cumulative histogram with the given upper bounds (+Inf added). */
  observe(base: string, labels: Labels, bounds: readonly number[], value: number, count: number): void {
    for (const le of bounds) this.add(`${base}_bucket`, { ...labels, le: String(le) }, value <= le ? count : 0);
    this.add(`${base}_bucket`, { ...labels, le: '+Inf' }, count);
    this.add(`${base}_sum`, labels, value * count);
    this.add(`${base}_count`, labels, count);
  }

  /** A process restart: every series whose labels match starts again from 0 (a counter reset Prometheus sees). */
  reset(match: (labels: Labels) => boolean): void {
    for (const s of this.series.values()) if (match(s.labels ?? {})) s.value = 0;
  }

  samples(): Sample[] {
    return [...this.series.values()].map((s) => ({ ...s }));
  }
}

/** One tick of traffic for a workload in each family's vocabulary. */
export const families = {
  istio(c: Counters, ns: string, workload: string, w: Workload): void {
    const base = { reporter: 'destination', destination_workload_namespace: ns, destination_workload: workload };
    c.add('istio_requests_total', { ...base, response_code: '200' }, w.requests - w.errors);
    c.add('istio_requests_total', { ...base, response_code: '503' }, w.errors);
    c.observe('istio_request_duration_milliseconds', base, MS_BUCKETS, w.latencyMs, w.requests);
  },
  nginx(c: Counters, ns: string, ingress: string, w: Workload): void {
    const base = { namespace: ns, ingress };
    c.add('nginx_ingress_controller_requests', { ...base, status: '200' }, w.requests - w.errors);
    c.add('nginx_ingress_controller_requests', { ...base, status: '500' }, w.errors);
    c.observe('nginx_ingress_controller_request_duration_seconds', base, MS_BUCKETS.map((b) => b / 1000), w.latencyMs / 1000, w.requests);
  },
  envoy(c: Counters, cluster: string, w: Workload): void {
    c.add('envoy_cluster_upstream_rq_xx', { envoy_cluster_name: cluster, envoy_response_code_class: '2' }, w.requests - w.errors);
    c.add('envoy_cluster_upstream_rq_xx', { envoy_cluster_name: cluster, envoy_response_code_class: '5' }, w.errors);
    c.observe('envoy_cluster_upstream_rq_time', { envoy_cluster_name: cluster }, MS_BUCKETS, w.latencyMs, w.requests);
  },
  /** Traefik's Gateway provider: one series per backend Service (`<ns>-<svc>-http-<port>@kubernetesgateway`). */
  traefik(c: Counters, ns: string, service: string, w: Workload): void {
    const base = { service: `${ns}-${service}-http-8080@kubernetesgateway`, method: 'GET', protocol: 'http' };
    c.add('traefik_service_requests_total', { ...base, code: '200' }, w.requests - w.errors);
    c.add('traefik_service_requests_total', { ...base, code: '500' }, w.errors);
    c.observe('traefik_service_request_duration_seconds', { ...base, code: '200' }, MS_BUCKETS.map((b) => b / 1000), w.latencyMs / 1000, w.requests);
  },
  /** Linkerd's proxies, inbound, with their pod's labels (as Linkerd's scrape configuration copies them). */
  linkerd(c: Counters, ns: string, hash: string, w: Workload): void {
    const base = { direction: 'inbound', namespace: ns, rollouts_pod_template_hash: hash, pod: `app-${hash}-0` };
    c.add('response_total', { ...base, classification: 'success', status_code: '200' }, w.requests - w.errors);
    c.add('response_total', { ...base, classification: 'failure', status_code: '503' }, w.errors);
    c.observe('response_latency_ms', { ...base, status_code: '200' }, MS_BUCKETS, w.latencyMs, w.requests);
  },
};

/** Runs `tick` every `everyMs` and publishes the counters to the exporter; stop() ends it. */
export function drive(exporter: Exporter, tick: (c: Counters) => void, everyMs = 250): { counters: Counters; stop: () => void } {
  const counters = new Counters();
  tick(counters);
  exporter.set(counters.samples());
  const timer = setInterval(() => {
    tick(counters);
    exporter.set(counters.samples());
  }, everyMs);
  return { counters, stop: () => clearInterval(timer) };
}
