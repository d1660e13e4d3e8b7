import { describe, expect, it } from '@jest/globals';
import { validateAnalysisSpec } from '../../api/analysis/validate.ts';
import { planMetrics } from '../decide/plan.ts';
import { Condition } from '../expressions/evaluate.ts';
import { BuiltinError, builtinMetrics, latencyP99Query, regexEscape, successRateQuery, type Scope } from './builtin.ts';

const istio: Scope = { router: 'istio', namespace: 'shop', workload: 'cart-canary' };
const nginx: Scope = { router: 'nginx', namespace: 'shop', ingress: 'cart-cart-canary' };
const gw: Scope = { router: 'gatewayAPI', namespace: 'shop', route: 'cart' };
const address = 'http://127.0.0.1:9090';

describe('query strings', () => {
  it('istio', () => {
    expect(successRateQuery(istio, '1m')).toBe(
      '100 * sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="shop",destination_workload="cart-canary",response_code!~"5.*"}[1m])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="shop",destination_workload="cart-canary"}[1m]))',
    );
    expect(latencyP99Query(istio, '30s')).toBe(
      'histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="shop",destination_workload="cart-canary"}[30s])))',
    );
  });

  it('nginx (latency converted from seconds to ms)', () => {
    expect(successRateQuery(nginx, '1m')).toBe(
      '100 * sum(rate(nginx_ingress_controller_requests{namespace="shop",ingress="cart-cart-canary",status!~"5.."}[1m])) / sum(rate(nginx_ingress_controller_requests{namespace="shop",ingress="cart-cart-canary"}[1m]))',
    );
    expect(latencyP99Query(nginx, '1m')).toBe('1000 * histogram_quantile(0.99, sum by (le) (rate(nginx_ingress_controller_request_duration_seconds_bucket{namespace="shop",ingress="cart-cart-canary"}[1m])))');
  });

  it('gateway API on Envoy', () => {
    expect(successRateQuery(gw, '1m')).toBe(
      '100 * sum(rate(envoy_cluster_upstream_rq_xx{envoy_cluster_name=~"httproute/shop/cart/rule/.*",envoy_response_code_class!="5"}[1m])) / sum(rate(envoy_cluster_upstream_rq_xx{envoy_cluster_name=~"httproute/shop/cart/rule/.*"}[1m]))',
    );
    expect(latencyP99Query({ ...gw, envoyCluster: 'canary.shop.svc' }, '1m')).toBe('histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=~"canary\\\\.shop\\\\.svc"}[1m])))');
  });

  it('gateway API on Linkerd: the inbound side of the revision\'s proxies, by pod-template hash', () => {
    const linkerd: Scope = { router: 'linkerd', namespace: 'shop', podTemplateHash: '6c9f8d7b5' };
    const sel = 'direction="inbound",namespace="shop",rollouts_pod_template_hash="6c9f8d7b5"';
    expect(successRateQuery(linkerd, '1m')).toBe(`100 * sum(rate(response_total{${sel},classification!="failure"}[1m])) / sum(rate(response_total{${sel}}[1m]))`);
    expect(latencyP99Query(linkerd, '1m')).toBe(`histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket{${sel}}[1m])))`);
  });

  it('gateway API on Traefik: the backend Service, latency converted from seconds to ms', () => {
    const traefik: Scope = { router: 'traefik', namespace: 'shop', service: 'cart-canary' };
    expect(successRateQuery(traefik, '1m')).toBe(
      '100 * sum(rate(traefik_service_requests_total{service=~"shop-cart-canary-http-[0-9]+@kubernetesgateway",code!~"5.."}[1m])) / sum(rate(traefik_service_requests_total{service=~"shop-cart-canary-http-[0-9]+@kubernetesgateway"}[1m]))',
    );
    expect(latencyP99Query(traefik, '1m')).toBe('1000 * histogram_quantile(0.99, sum by (le) (rate(traefik_service_request_duration_seconds_bucket{service=~"shop-cart-canary-http-[0-9]+@kubernetesgateway"}[1m])))');
  });

  it('escapes label values so a name cannot break out of its matcher', () => {
    const q = successRateQuery({ router: 'istio', namespace: 'a"} or vector(1) #', workload: 'w\\' }, '1m');
    expect(q).toContain('destination_workload_namespace="a\\"} or vector(1) #"');
    expect(q).toContain('destination_workload="w\\\\"');
    expect(regexEscape('a.b*c')).toBe('a\\.b\\*c');
  });
});

describe('builtinMetrics', () => {
  it('makes valid metrics with thresholds as conditions', () => {
    const ms = builtinMetrics({ successRate: { min: 99 }, latency: { maxMs: 500 } }, istio, { address, interval: '30s', count: 4, failureLimit: 1 });
    expect(ms.map((m) => m.name)).toEqual(['success-rate', 'latency-p99']);
    expect(ms[0]).toMatchObject({ interval: '30s', count: 4, failureLimit: 1, successCondition: 'result[0] >= 99', provider: { prometheus: { address } } });
    expect(ms[1]?.successCondition).toBe('result[0] <= 500');
    expect(validateAnalysisSpec({ metrics: ms })).toEqual([]);
    expect(planMetrics({ metrics: ms }).map((p) => p.intervalMs)).toEqual([30_000, 30_000]);
    // The thresholds judge as intended.
    expect(Condition.parse(ms[0]?.successCondition ?? '').test([99.5])).toBe(true);
    expect(Condition.parse(ms[0]?.successCondition ?? '').test([90])).toBe(false);
    expect(Condition.parse(ms[1]?.successCondition ?? '').test([800])).toBe(false);
  });

  it('compares canary with stable over the same window', () => {
    const [sr, lat] = builtinMetrics({ successRate: { min: 99 }, latency: { maxMs: 500 } }, istio, {
      address,
      compareTo: { scope: { ...istio, workload: 'cart-stable' }, maxSuccessRateDrop: 1, maxLatencyIncreaseMs: 50 },
    });
    expect(sr?.provider.prometheus?.query).toBe(`(${successRateQuery(istio, '1m')}) - (${successRateQuery({ ...istio, workload: 'cart-stable' }, '1m')})`);
    expect(sr?.successCondition).toBe('result[0] >= -1');
    expect(lat?.successCondition).toBe('result[0] <= 50');
  });

  it('refuses nonsense', () => {
    expect(() => builtinMetrics({}, istio, { address })).toThrow(BuiltinError);
    expect(() => builtinMetrics({ successRate: { min: Number.NaN } }, istio, { address })).toThrow(/finite/);
    expect(() => builtinMetrics({ successRate: { min: 99 } }, istio, { address, interval: '1m30s' })).toThrow(/single-unit/);
    expect(() => builtinMetrics({ successRate: { min: 99 } }, istio, { address, compareTo: { scope: nginx } })).toThrow(/same router/);
  });
});
