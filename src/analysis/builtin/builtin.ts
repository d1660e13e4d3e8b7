// Builtin metrics: success rate and p99 latency without writing PromQL, for the metric families of the routers
// Sluice drives (Istio, NGINX Ingress, Gateway API on Envoy or on Traefik). Pure: each function returns a Metric the analysis
// controller measures like any other, so the builtin checks go through the same provider, verdict and status.
// Linkerd is read through its proxies' own metrics (response_total), which carry the pod's labels, so each revision
// is told apart by its pod-template hash.
import type { Metric } from '../../api/analysis/schema.ts';

export type Router = 'istio' | 'nginx' | 'gatewayAPI' | 'traefik' | 'linkerd';

/** Where the canary's traffic is counted, per router family. */
export type Scope =
  /** Istio: the destination workload (the canary's Deployment/ReplicaSet name as Istio reports it). */
  | { router: 'istio'; namespace: string; workload: string }
  /** NGINX Ingress: the Ingress carrying the canary's traffic (the canary Ingress the router writes). */
  | { router: 'nginx'; namespace: string; ingress: string }
  /**
   * Gateway API on Envoy (Envoy Gateway names clusters `httproute/<ns>/<route>/rule/<n>`): the HTTPRoute, or an
   * explicit Envoy cluster name when the canary has a cluster of its own.
   */
  | { router: 'gatewayAPI'; namespace: string; route: string; envoyCluster?: string }
  /**
   * Gateway API on Traefik: the backend Service. Traefik's Gateway provider names a Service backend
   * `<namespace>-<service>-http-<port>@kubernetesgateway` and counts each backend apart, so the canary and the stable
   * Service of one HTTPRoute rule each have their own series (unlike one Envoy cluster per rule).
   */
  | { router: 'traefik'; namespace: string; service: string }
  /**
   * Gateway API on Linkerd (it serves HTTPRoutes whose parent is a Service): the inbound side of the revision's own
   * proxies. Linkerd's scrape configuration copies every pod label onto the proxy's series, so the revision is its
   * `rollouts-pod-template-hash` label (as `rollouts_pod_template_hash`).
   */
  | { router: 'linkerd'; namespace: string; podTemplateHash: string };

export interface Check {
  /** Minimum share of non-5xx responses, in percent (e.g. 99). */
  successRate?: { min: number };
  /** Maximum p99 latency in milliseconds. */
  latency?: { maxMs: number };
}

export interface BuiltinOptions {
  /** Prometheus base URL. */
  address: string;
  /** The rate window and the measurement interval (default "1m"). */
  interval?: string;
  count?: number;
  failureLimit?: number;
  /** Judge relative to the stable revision: the canary may be worse than stable by at most this much. */
  compareTo?: { scope: Scope; maxSuccessRateDrop?: number; maxLatencyIncreaseMs?: number };
}

export class BuiltinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuiltinError';
  }
}

/** A PromQL string literal (double-quoted, Go escapes). */
export function promString(s: string): string {
  return JSON.stringify(s);
}

/** Escapes regular-expression syntax so a name matches itself in a `=~` matcher (RE2). */
export function regexEscape(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** The Prometheus label Linkerd's scrape configuration gives the pods' `rollouts-pod-template-hash` label. */
export const LINKERD_HASH_LABEL = 'rollouts_pod_template_hash';

/** Traefik's name for a Service backend of the Gateway provider, as a regular expression over one or more Services. */
export function traefikServicePattern(namespace: string, ...services: string[]): string {
  const names = services.map(regexEscape);
  return `${regexEscape(namespace)}-${names.length === 1 ? names[0] : `(${names.join('|')})`}-http-[0-9]+@kubernetesgateway`;
}

const WINDOW = /^\d+(ms|s|m|h)$/;

function selector(scope: Scope): string {
  const m = (k: string, v: string, op = '='): string => `${k}${op}${promString(v)}`;
  switch (scope.router) {
    case 'istio':
      return [m('reporter', 'destination'), m('destination_workload_namespace', scope.namespace), m('destination_workload', scope.workload)].join(',');
    case 'nginx':
      return [m('namespace', scope.namespace), m('ingress', scope.ingress)].join(',');
    case 'gatewayAPI': {
      const cluster = scope.envoyCluster !== undefined ? regexEscape(scope.envoyCluster) : `httproute/${regexEscape(scope.namespace)}/${regexEscape(scope.route)}/rule/.*`;
      return m('envoy_cluster_name', cluster, '=~');
    }
    case 'traefik':
      return m('service', traefikServicePattern(scope.namespace, scope.service), '=~');
    case 'linkerd':
      return [m('direction', 'inbound'), m('namespace', scope.namespace), m(LINKERD_HASH_LABEL, scope.podTemplateHash)].join(',');
  }
}

function joinSel(...parts: string[]): string {
  return `{${parts.filter((p) => p !== '').join(',')}}`;
}

/** Percentage of non-5xx responses over the window (NaN when there was no traffic: a missing-data case). */
export function successRateQuery(scope: Scope, window: string): string {
  const sel = selector(scope);
  switch (scope.router) {
    case 'istio':
      return `100 * sum(rate(istio_requests_total${joinSel(sel, 'response_code!~"5.*"')}[${window}])) / sum(rate(istio_requests_total${joinSel(sel)}[${window}]))`;
    case 'nginx':
      return `100 * sum(rate(nginx_ingress_controller_requests${joinSel(sel, 'status!~"5.."')}[${window}])) / sum(rate(nginx_ingress_controller_requests${joinSel(sel)}[${window}]))`;
    case 'gatewayAPI':
      return `100 * sum(rate(envoy_cluster_upstream_rq_xx${joinSel(sel, 'envoy_response_code_class!="5"')}[${window}])) / sum(rate(envoy_cluster_upstream_rq_xx${joinSel(sel)}[${window}]))`;
    case 'traefik':
      return `100 * sum(rate(traefik_service_requests_total${joinSel(sel, 'code!~"5.."')}[${window}])) / sum(rate(traefik_service_requests_total${joinSel(sel)}[${window}]))`;
    case 'linkerd':
      // Linkerd classifies each response itself (by default a 5xx is a failure).
      return `100 * sum(rate(response_total${joinSel(sel, 'classification!="failure"')}[${window}])) / sum(rate(response_total${joinSel(sel)}[${window}]))`;
  }
}

/** p99 latency in milliseconds over the window. */
export function latencyP99Query(scope: Scope, window: string): string {
  const sel = joinSel(selector(scope));
  switch (scope.router) {
    case 'istio':
      return `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket${sel}[${window}])))`;
    case 'nginx':
      // NGINX reports seconds.
      return `1000 * histogram_quantile(0.99, sum by (le) (rate(nginx_ingress_controller_request_duration_seconds_bucket${sel}[${window}])))`;
    case 'gatewayAPI':
      return `histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket${sel}[${window}])))`;
    case 'traefik':
      // Traefik reports seconds.
      return `1000 * histogram_quantile(0.99, sum by (le) (rate(traefik_service_request_duration_seconds_bucket${sel}[${window}])))`;
    case 'linkerd':
      return `histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket${sel}[${window}])))`;
  }
}

function finite(name: string, v: number | undefined): void {
  if (v !== undefined && !Number.isFinite(v)) throw new BuiltinError(`${name} must be a finite number, got ${v}`);
}

/**
 * The metrics for a check: `successRate` (named "success-rate") and/or `latency` (named "latency-p99"). With
 * `compareTo`, each query is canary minus stable over the same window, and the threshold bounds the difference.
 * A NaN or empty answer (no traffic) is missing data, judged by the run's missing-data policy, never a pass.
 */
export function builtinMetrics(check: Check, scope: Scope, opts: BuiltinOptions): Metric[] {
  const window = opts.interval ?? '1m';
  if (!WINDOW.test(window)) throw new BuiltinError(`interval must be a single-unit duration like "1m" or "30s", got "${window}"`);
  if (opts.compareTo !== undefined && opts.compareTo.scope.router !== scope.router) throw new BuiltinError('compareTo.scope must use the same router as the canary scope');
  finite('successRate.min', check.successRate?.min);
  finite('latency.maxMs', check.latency?.maxMs);
  const common = (name: string, query: string, successCondition: string): Metric => ({
    name,
    interval: window,
    ...(opts.count !== undefined ? { count: opts.count } : {}),
    ...(opts.failureLimit !== undefined ? { failureLimit: opts.failureLimit } : {}),
    successCondition,
    provider: { prometheus: { address: opts.address, query } },
  });
  const out: Metric[] = [];
  const stable = opts.compareTo?.scope;
  if (check.successRate !== undefined) {
    const canary = successRateQuery(scope, window);
    if (stable === undefined) out.push(common('success-rate', canary, `result[0] >= ${check.successRate.min}`));
    else {
      const drop = opts.compareTo?.maxSuccessRateDrop ?? 0;
      finite('compareTo.maxSuccessRateDrop', drop);
      // Both sides as scalars of one vector each; `(a) - (b)` on two label-less vectors matches them one to one.
      out.push(common('success-rate', `(${canary}) - (${successRateQuery(stable, window)})`, `result[0] >= ${-drop}`));
    }
  }
  if (check.latency !== undefined) {
    const canary = latencyP99Query(scope, window);
    if (stable === undefined) out.push(common('latency-p99', canary, `result[0] <= ${check.latency.maxMs}`));
    else {
      const rise = opts.compareTo?.maxLatencyIncreaseMs ?? 0;
      finite('compareTo.maxLatencyIncreaseMs', rise);
      out.push(common('latency-p99', `(${canary}) - (${latencyP99Query(stable, window)})`, `result[0] <= ${rise}`));
    }
  }
  if (out.length === 0) throw new BuiltinError('name at least one check: successRate or latency');
  return out;
}
