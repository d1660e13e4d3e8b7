import { describe, expect, it } from '@jest/globals';
import { judgeErrors } from './judge.ts';

const fields = (errs: { field: string }[]): string[] => errs.map((e) => e.field);

describe('the judge spec', () => {
  it('accepts the defaults on Istio and NGINX', () => {
    expect(judgeErrors('s', { judge: {}, successRate: { min: 99 } }, 'istio')).toEqual([]);
    expect(judgeErrors('s', { judge: { alpha: 0.05, beta: 0.1, maxRatio: 1.5, interval: '10s', maxDuration: '1h' }, latency: { maxMs: 500 } }, 'nginx')).toEqual([]);
  });

  it('accepts the Gateway API when its metrics tell the revisions apart (Traefik, Linkerd)', () => {
    expect(judgeErrors('s', { judge: {}, successRate: { min: 99 }, gatewayAPIMetrics: 'traefik' }, 'gatewayAPI')).toEqual([]);
    expect(judgeErrors('s', { judge: {}, latency: { maxMs: 300 }, gatewayAPIMetrics: 'linkerd' }, 'gatewayAPI')).toEqual([]);
  });

  it('refuses routers whose metrics do not tell the revisions apart, and blue-green', () => {
    expect(judgeErrors('s', { judge: {}, successRate: { min: 99 } }, 'gatewayAPI')[0]?.message).toMatch(/HTTPRoute/);
    expect(judgeErrors('s', { judge: {}, successRate: { min: 99 }, gatewayAPIMetrics: 'envoy' }, 'gatewayAPI')[0]?.message).toMatch(/gatewayAPIMetrics/);
    expect(fields(judgeErrors('s', { judge: {}, successRate: { min: 99 } }, 'none'))).toEqual(['s.judge']);
    expect(fields(judgeErrors('s', { judge: {}, successRate: { min: 99 } }, 'bluegreen'))).toEqual(['s.judge']);
  });

  it('names each bad field', () => {
    const errs = judgeErrors('a', { judge: { alpha: 0.7, beta: 0, maxRatio: 1, latencyEdgeMs: -3, interval: '0s', maxDuration: 'soon' } }, 'istio');
    expect(fields(errs)).toEqual(expect.arrayContaining(['a.judge', 'a.judge.alpha', 'a.judge.beta', 'a.judge.maxRatio', 'a.judge.latencyEdgeMs', 'a.judge.interval', 'a.judge.maxDuration']));
    expect(errs.find((e) => e.field === 'a.judge.alpha')?.message).toBe('must be in (0, 0.5), got 0.7');
  });
});
