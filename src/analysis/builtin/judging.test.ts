import { describe, expect, it } from '@jest/globals';
import type { JudgeProviderSpec } from '../../api/analysis/schema.ts';
import { JudgeConfigError, look, stableP99Edge, type LookState, type RawSeries } from './judging.ts';

const spec = (extra: Partial<JudgeProviderSpec> = {}): JudgeProviderSpec => ({
  address: 'http://127.0.0.1:9090', router: 'istio', namespace: 'ns', canary: 'app-c', stable: 'app-s', signal: 'errors',
  alpha: 0.01, beta: 0.01, maxRatio: 2, tests: 1, maxDuration: '30m', onInconclusive: 'hold', completeOnPass: true, ...extra,
});

/** Istio request counters: per workload, [ok, bad] cumulative, one pod each. */
function errors(c: [number, number], s: [number, number], pod = '0'): RawSeries[] {
  const l = (w: string, code: string): Record<string, string> => ({ destination_workload: w, response_code: code, pod: `${w}-${pod}` });
  return [
    { labels: l('app-c', '200'), value: c[0] }, { labels: l('app-c', '503'), value: c[1] },
    { labels: l('app-s', '200'), value: s[0] }, { labels: l('app-s', '503'), value: s[1] },
  ];
}

/** Runs looks over cumulative counter snapshots, 15 s apart; returns every look's outcome. */
function looks(sp: JudgeProviderSpec, snapshots: RawSeries[][]): ReturnType<typeof look>[] {
  const out: ReturnType<typeof look>[] = [];
  let prev: LookState | undefined;
  snapshots.forEach((series, i) => {
    const o = look({ spec: sp, series, previous: prev, nowMs: 1_000_000 + i * 15_000 });
    out.push(o);
    prev = o.state;
  });
  return out;
}

describe('one look of the judge', () => {
  it('takes a baseline first, then aborts a canary ten times worse than stable', () => {
    const snaps: RawSeries[][] = [];
    for (let t = 0; t < 10; t += 1) snaps.push(errors([t * 990, t * 10 * 3], [t * 4000, t * 12]));
    const out = looks(spec(), snaps);
    expect(out[0]?.judgement.phase).toBe('Running');
    expect(out[0]?.judgement.message).toContain('first look');
    const failed = out.findIndex((o) => o.judgement.phase === 'Failed');
    expect(failed).toBeGreaterThan(0);
    expect(out[failed]?.summary.state).toBe('abort');
    expect(out[failed]?.judgement.message).toMatch(/canary worse than stable/);
  });

  it('counts a counter reset as a restart, not a negative delta', () => {
    const out = looks(spec(), [errors([1000, 5], [4000, 20]), errors([2000, 10], [8000, 40]), errors([300, 2], [12000, 60])]);
    const totals = out[2]?.state.evidence.totals;
    // 1000+5 requests in the second look, then 300+2 after the reset.
    expect(totals?.canary.requests).toBe(1005 + 302);
    expect(totals?.canary.bad).toBe(5 + 2);
  });

  it('ends Inconclusive at maxDuration with hold, Successful with promote, Failed with abort', () => {
    const flat = [errors([0, 0], [0, 0]), errors([0, 0], [0, 0])];
    for (const [policy, phase] of [['hold', 'Inconclusive'], ['promote', 'Successful'], ['abort', 'Failed']] as const) {
      const out = looks(spec({ maxDuration: '10s', onInconclusive: policy }), flat);
      expect(out[1]?.judgement.phase).toBe(phase);
      expect(out[1]?.judgement.message).toContain('maxDuration');
    }
  });

  it('the absolute guard aborts a canary as bad as a bad stable', () => {
    const snaps: RawSeries[][] = [];
    for (let t = 0; t < 20; t += 1) snaps.push(errors([t * 800, t * 200], [t * 3200, t * 800]));
    const out = looks(spec({ guardMaxBadRate: 0.01, tests: 2 }), snaps);
    const failed = out.find((o) => o.judgement.phase === 'Failed');
    expect(failed?.summary.state).toBe('guard');
    expect(failed?.judgement.message).toContain('absolute guard');
  });

  it('refuses a latency edge that is not a bucket edge, naming the field', () => {
    const buckets = ['25', '50', '100', '+Inf'].map((le) => ({ labels: { destination_workload: 'app-s', le }, value: 100 }));
    expect(() => look({ spec: spec({ signal: 'latency', latencyEdgeMs: 60 }), series: buckets, previous: undefined, nowMs: 0 })).toThrow(JudgeConfigError);
    expect(() => look({ spec: spec({ signal: 'latency', latencyEdgeMs: 60 }), series: buckets, previous: undefined, nowMs: 0 })).toThrow(/analysis\.judge\.latencyEdgeMs: 60 is not a bucket edge .*25, 50, 100/);
  });

  it('chooses the edge at or above stable\'s p99 from stable alone', () => {
    const s = (le: string, v: number, w = 'app-s'): RawSeries => ({ labels: { destination_workload: w, le }, value: v });
    // stable: 95% within 50 ms, 99.5% within 100 ms; the canary (all slow) must not move the choice.
    const series = [s('50', 950), s('100', 995), s('250', 1000), s('+Inf', 1000), s('50', 0, 'app-c'), s('+Inf', 1000, 'app-c')];
    expect(stableP99Edge(spec({ signal: 'latency' }), series)).toBe(100);
  });
});

describe('the other routers\' vocabularies', () => {
  /** The same counters as errors(), in Traefik's (backend Service names, seconds) or Linkerd's (template hashes) words. */
  const traefik = (c: [number, number], s: [number, number]): RawSeries[] => {
    const l = (svc: string, code: string): Record<string, string> => ({ service: `ns-${svc}-http-8080@kubernetesgateway`, code, method: 'GET' });
    // A Service of another namespace whose name ends the same must not count.
    const stranger = { labels: { service: 'other-ns-app-c-http-8080@kubernetesgateway', code: '500' }, value: c[0] * 10 };
    return [{ labels: l('app-c', '200'), value: c[0] }, { labels: l('app-c', '500'), value: c[1] }, { labels: l('app-s', '200'), value: s[0] }, { labels: l('app-s', '500'), value: s[1] }, stranger];
  };
  const linkerd = (c: [number, number], s: [number, number]): RawSeries[] => {
    const l = (hash: string, classification: string, code: string): Record<string, string> => ({ rollouts_pod_template_hash: hash, classification, status_code: code, direction: 'inbound' });
    return [{ labels: l('hc', 'success', '200'), value: c[0] }, { labels: l('hc', 'failure', '503'), value: c[1] }, { labels: l('hs', 'success', '200'), value: s[0] }, { labels: l('hs', 'failure', '503'), value: s[1] }];
  };

  it.each([
    ['traefik', traefik, { router: 'traefik', canary: 'app-c', stable: 'app-s' }],
    ['linkerd', linkerd, { router: 'linkerd', canary: 'hc', stable: 'hs' }],
  ] as const)('%s: counts each revision\'s requests apart, and aborts a canary ten times worse', (_name, shape, extra) => {
    const snaps: RawSeries[][] = [];
    for (let t = 0; t < 10; t += 1) snaps.push(shape([t * 990, t * 30], [t * 4000, t * 12]));
    const out = looks(spec({ ...extra }), snaps);
    expect(out[1]?.state.evidence.totals.canary).toEqual({ requests: 1020, bad: 30 });
    expect(out[1]?.state.evidence.totals.stable).toEqual({ requests: 4012, bad: 12 });
    expect(out.find((o) => o.judgement.phase === 'Failed')?.summary.state).toBe('abort');
  });

  it('traefik: bucket edges in seconds are read as milliseconds', () => {
    const b = (le: string, v: number): RawSeries => ({ labels: { service: 'ns-app-s-http-80@kubernetesgateway', le }, value: v });
    expect(stableP99Edge(spec({ router: 'traefik', canary: 'app-c', stable: 'app-s', signal: 'latency' }), [b('0.05', 950), b('0.1', 995), b('0.25', 1000), b('+Inf', 1000)])).toBe(100);
  });
});

describe('a service with no bad event at all', () => {
  it('passes once the canary alone shows its rate below the guard\'s bound (zero-failure rule), not before', () => {
    const snaps: RawSeries[][] = [];
    for (let t = 0; t < 8; t += 1) snaps.push(errors([t * 100, 0], [t * 400, 0]));
    // tests 2, beta 1%, bound 1%: ceil(ln(200) / -ln(0.99)) = 528 canary requests.
    const out = looks(spec({ guardMaxBadRate: 0.01, tests: 2 }), snaps);
    const first = out.findIndex((o) => o.judgement.phase === 'Successful');
    expect(out[first]?.state.evidence.totals.canary.requests).toBeGreaterThanOrEqual(528);
    expect(out[first - 1]?.state.evidence.totals.canary.requests).toBeLessThan(528);
    expect(out[first]?.judgement.message).toContain('zero-failure rule');
  });

  it('does not use the rule once a bad event was seen', () => {
    const snaps: RawSeries[][] = [];
    for (let t = 0; t < 8; t += 1) snaps.push(errors([t * 100, t > 2 ? 1 : 0], [t * 400, 0]));
    const out = looks(spec({ guardMaxBadRate: 0.01, tests: 2 }), snaps);
    expect(out.some((o) => o.judgement.phase === 'Successful')).toBe(false);
  });
});
