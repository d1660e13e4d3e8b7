// Builtin success-rate and latency checks measured on a real Prometheus scraping simulated Istio, NGINX, Envoy,
// Traefik and Linkerd traffic (the metric families emulated, the Prometheus and its PromQL real): a healthy canary passes both, one at 10 % errors fails the success rate, one at 800 ms fails the p99.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Exporter, PrometheusServer } from '../../../test/prometheus/harness.ts';
import { drive, families } from '../../../test/prometheus/traffic.ts';
import { judge } from '../decide/judge.ts';
import { PrometheusProvider } from '../providers/prometheus.ts';
import { builtinMetrics, type Scope } from './builtin.ts';

const NS = 'shop';
const healthy = { requests: 1000, errors: 1, latencyMs: 80 };
const erroring = { requests: 1000, errors: 100, latencyMs: 80 };
const slow = { requests: 1000, errors: 0, latencyMs: 800 };

let exporter: Exporter;
let prometheus: PrometheusServer;
let traffic: { stop: () => void };

beforeAll(async () => {
  exporter = await Exporter.start();
  traffic = drive(exporter, (c) => {
    families.istio(c, NS, 'good', healthy);
    families.istio(c, NS, 'errors', erroring);
    families.istio(c, NS, 'slow', slow);
    families.nginx(c, NS, 'good', healthy);
    families.nginx(c, NS, 'errors', erroring);
    families.nginx(c, NS, 'slow', slow);
    families.envoy(c, `httproute/${NS}/good/rule/0`, healthy);
    families.envoy(c, `httproute/${NS}/errors/rule/0`, erroring);
    families.envoy(c, `httproute/${NS}/slow/rule/0`, slow);
    for (const [name, w] of [['good', healthy], ['errors', erroring], ['slow', slow]] as const) {
      families.traefik(c, NS, name, w);
      families.linkerd(c, NS, name, w);
    }
  });
  prometheus = await PrometheusServer.start([exporter.target]);
  // Two scrapes are needed for a rate.
  await prometheus.waitFor('sum(rate(istio_requests_total[5s]))', (v) => (v[0] ?? 0) > 0);
}, 60_000);

afterAll(async () => {
  traffic.stop();
  await prometheus.stop();
  await exporter.stop();
});

const scopes: Record<string, (name: string) => Scope> = {
  istio: (name) => ({ router: 'istio', namespace: NS, workload: name }),
  nginx: (name) => ({ router: 'nginx', namespace: NS, ingress: name }),
  gatewayAPI: (name) => ({ router: 'gatewayAPI', namespace: NS, route: name }),
  traefik: (name) => ({ router: 'traefik', namespace: NS, service: name }),
  linkerd: (name) => ({ router: 'linkerd', namespace: NS, podTemplateHash: name }),
};

describe.each(Object.keys(scopes))('builtin checks on the %s family (real Prometheus)', (family) => {
  const provider = new PrometheusProvider();
  type Verdict = { phase: string; value: number | undefined; display: string };
  const verdicts = async (name: string): Promise<Record<string, Verdict>> => {
    const scope = (scopes[family] as (n: string) => Scope)(name);
    const metrics = builtinMetrics({ successRate: { min: 99 }, latency: { maxMs: 500 } }, scope, { address: prometheus.url, interval: '5s' });
    const out: Record<string, Verdict> = {};
    for (const m of metrics) {
      const obs = await provider.measure(m, new AbortController().signal);
      const value = obs.kind === 'value' ? (obs.result as number[])[0] : undefined;
      out[m.name] = { phase: judge(m, obs, 'inconclusive').phase, value, display: obs.display };
    }
    return out;
  };

  it('passes a healthy canary', async () => {
    const v = await verdicts('good');
    expect(v['success-rate']?.phase).toBe('Successful');
    expect(v['success-rate']?.value).toBeCloseTo(99.9, 5);
    expect(v['latency-p99']?.phase).toBe('Successful');
    // 80 ms falls in the (50, 100] bucket: the p99 interpolates to 99.5.
    expect(v['latency-p99']?.value).toBeCloseTo(99.5, 5);
  });

  it('fails a canary at 10 % errors on success rate', async () => {
    const v = await verdicts('errors');
    expect(v['success-rate']?.phase).toBe('Failed');
    expect(v['success-rate']?.value).toBeCloseTo(90, 5);
    expect(v['latency-p99']?.phase).toBe('Successful');
  });

  it('fails a canary at 800 ms on p99 latency', async () => {
    const v = await verdicts('slow');
    expect(v['success-rate']?.phase).toBe('Successful');
    expect(v['success-rate']?.value).toBeCloseTo(100, 5);
    expect(v['latency-p99']?.phase).toBe('Failed');
    // 800 ms falls in the (500, 1000] bucket: the p99 interpolates to 995.
    expect(v['latency-p99']?.value).toBeCloseTo(995, 5);
  });

  it('treats no traffic as missing data, not a pass', async () => {
    const v = await verdicts('absent');
    expect(v['success-rate']).toMatchObject({ phase: 'Inconclusive', display: '[]' });
    expect(v['latency-p99']?.phase).toBe('Inconclusive');
  });
});

it('compares a canary with its stable revision over the same window', async () => {
  const provider = new PrometheusProvider();
  const [sr] = builtinMetrics({ successRate: { min: 99 } }, scopes.istio?.('errors') as Scope, {
    address: prometheus.url,
    interval: '5s',
    compareTo: { scope: scopes.istio?.('good') as Scope, maxSuccessRateDrop: 1 },
  });
  if (sr === undefined) throw new Error('no metric');
  const obs = await provider.measure(sr, new AbortController().signal);
  // About 90 - 99.9: far more than the 1 point allowed.
  expect(obs.kind === 'value' && (obs.result as number[])[0]).toBeLessThan(-9);
  expect(judge(sr, obs, 'inconclusive').phase).toBe('Failed');
});
