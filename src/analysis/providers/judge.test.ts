import { describe, expect, it } from '@jest/globals';
import type { JudgeProviderSpec } from '../../api/analysis/schema.ts';
import { judgeQuery } from './judge.ts';

const spec = (router: JudgeProviderSpec['router'], signal: JudgeProviderSpec['signal'], canary: string, stable: string): JudgeProviderSpec => ({
  address: 'http://127.0.0.1:9090', router, namespace: 'shop', canary, stable, signal, alpha: 0.01, beta: 0.01, maxRatio: 2, tests: 1, maxDuration: '30m', onInconclusive: 'hold',
});

describe('the series the judge reads, both revisions in one query', () => {
  it('istio and nginx', () => {
    expect(judgeQuery(spec('istio', 'errors', 'cart-7f', 'cart-6c'))).toBe('istio_requests_total{reporter="destination",destination_workload_namespace="shop",destination_workload=~"cart-7f|cart-6c"}');
    expect(judgeQuery(spec('nginx', 'latency', 'shop-cart-canary', 'cart'))).toBe('nginx_ingress_controller_request_duration_seconds_bucket{namespace="shop",ingress=~"shop-cart-canary|cart"}');
  });

  it('traefik: both backend Services of the HTTPRoute, their names escaped', () => {
    expect(judgeQuery(spec('traefik', 'errors', 'cart.canary', 'cart-stable'))).toBe('traefik_service_requests_total{service=~"shop-(cart\\\\.canary|cart-stable)-http-[0-9]+@kubernetesgateway"}');
    expect(judgeQuery(spec('traefik', 'latency', 'c', 's'))).toBe('traefik_service_request_duration_seconds_bucket{service=~"shop-(c|s)-http-[0-9]+@kubernetesgateway"}');
  });

  it('linkerd: the inbound side of both revisions\' proxies, by template hash', () => {
    expect(judgeQuery(spec('linkerd', 'errors', '7f9', '6c4'))).toBe('response_total{direction="inbound",namespace="shop",rollouts_pod_template_hash=~"7f9|6c4"}');
    expect(judgeQuery(spec('linkerd', 'latency', '7f9', '6c4'))).toBe('response_latency_ms_bucket{direction="inbound",namespace="shop",rollouts_pod_template_hash=~"7f9|6c4"}');
  });
});
