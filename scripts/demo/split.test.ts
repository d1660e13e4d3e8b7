// The demo's split measurement: counters' growth between samples that agree, grouped per weight Sluice wrote.
import { describe, expect, it } from '@jest/globals';
import { accumulate, processShare, splitLine, traefikCounts, traefikShare, type Sample, type SplitSegment } from './split.ts';
import { versionOf } from './load.ts';

const sample = (at: number, written: number | undefined, loaded: number | undefined, stable: number, canary: number, t = { canary: 0, stable: 0 }): Sample => ({
  at,
  written,
  loaded,
  canaryHash: 'c',
  stableHash: 's',
  pods: new Map([
    ['s-1', { hash: 's', version: '1.0.0', served: stable }],
    ['c-1', { hash: 'c', version: '1.1.0', served: canary }],
  ]),
  traefik: t,
});

describe('the split measured per written weight', () => {
  it("adds the processes' and Traefik's counts between samples where Traefik has loaded the written weight", () => {
    const segs: SplitSegment[] = [];
    const samples = [
      sample(0, 20, 20, 0, 0),
      sample(500, 20, 20, 40, 10, { canary: 10, stable: 40 }),
      sample(1000, 50, 20, 60, 20, { canary: 20, stable: 60 }), // Sluice wrote 50, Traefik still at 20: not counted
      sample(1500, 50, 50, 85, 45, { canary: 45, stable: 85 }), // the first agreeing sample starts nothing either
      sample(2000, 50, 50, 110, 70, { canary: 70, stable: 110 }),
    ];
    samples.forEach((s, i) => accumulate(segs, samples[i - 1], s));
    expect(segs.map((s) => [s.weight, s.requests, s.canaryRequests, s.traefikRequests, s.traefikCanary, s.canaryVersion])).toEqual([
      [20, 50, 10, 50, 10, '1.1.0'],
      [50, 50, 25, 50, 25, '1.1.0'],
    ]);
    expect(segs.map(processShare)).toEqual([20, 50]);
    expect(segs.map(traefikShare)).toEqual([20, 50]);
    expect(splitLine(segs[0] as SplitSegment)).toContain('weight  20% written → canary measured  20.0% of 50 requests');
  });

  it('keeps one segment per weight across a sample gap, and a new one when the revisions change', () => {
    const segs: SplitSegment[] = [];
    const a = sample(0, 20, 20, 0, 0);
    const b = sample(500, 20, 20, 8, 2);
    const gap = sample(1000, 20, undefined, 16, 4);
    const c = sample(1500, 20, 20, 24, 6);
    const d = sample(2000, 20, 20, 32, 8);
    const e = { ...sample(2500, 20, 20, 40, 10), canaryHash: 'x' };
    [a, b, gap, c, d, e].forEach((s, i, all) => accumulate(segs, all[i - 1], s));
    expect(segs.map((s) => [s.canaryHash, s.requests, s.canaryRequests])).toEqual([['c', 20, 4]]);
    accumulate(segs, e, { ...sample(3000, 20, 20, 48, 12), canaryHash: 'x' });
    expect(segs.map((s) => [s.canaryHash, s.requests])).toEqual([['c', 20], ['x', 10]]);
  });

  it("sums Traefik's request counters of the canary and the stable Service, whatever the code", () => {
    const text = [
      '# TYPE traefik_service_requests_total counter',
      'traefik_service_requests_total{code="200",method="GET",protocol="http",service="demo-demo-canary-http-80@kubernetesgateway"} 12',
      'traefik_service_requests_total{code="500",method="GET",protocol="http",service="demo-demo-canary-http-80@kubernetesgateway"} 3',
      'traefik_service_requests_total{code="200",method="GET",protocol="http",service="demo-demo-stable-http-80@kubernetesgateway"} 60',
      'traefik_service_requests_total{code="200",method="GET",protocol="http",service="other-demo-stable-http-80@kubernetesgateway"} 99',
      'traefik_service_request_duration_seconds_count{code="200",service="demo-demo-stable-http-80@kubernetesgateway"} 60',
    ].join('\n');
    expect(traefikCounts(text, 'demo', 'demo-canary', 'demo-stable')).toEqual({ canary: 15, stable: 60 });
  });

  it("reads the answering version from the demo app's body, and none from anything else", () => {
    expect(versionOf('{"version":"1.1.0","ok":true,"served":3}\n')).toBe('1.1.0');
    expect(versionOf('no available server')).toBe('');
    expect(versionOf('{"ok":true}')).toBe('');
  });
});
