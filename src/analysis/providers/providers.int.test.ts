// The shared MetricProvider contract (contract.ts), run against real servers: a real Prometheus (scraping an exporter
// this test controls) for the Prometheus provider, a node:http server for the web provider. The job provider runs it
// against the real control plane in job.int.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metric } from '../../api/analysis/schema.ts';
import { Exporter, freePort, HOST, PrometheusServer } from '../../../test/prometheus/harness.ts';
import { judge } from '../decide/judge.ts';
import { providerContract, reason } from './contract.ts';
import { PrometheusProvider } from './prometheus.ts';
import { WebProvider } from './web.ts';

// Servers shared by both fixtures: one that never answers (timeouts) and a port nobody listens on.
let hang: Server;
let hangUrl = '';
let closedPort = 0;
const lastHeaders: IncomingHttpHeaders[] = [];

let exporter: Exporter;
let prometheus: PrometheusServer;
let web: Server;
let webUrl = '';

beforeAll(async () => {
  hang = createServer((req) => {
    lastHeaders.push(req.headers);
  });
  await new Promise<void>((r) => hang.listen(0, HOST, r));
  hangUrl = `http://${HOST}:${(hang.address() as AddressInfo).port}`;
  closedPort = await freePort();

  exporter = await Exporter.start();
  exporter.set([
    { name: 'test_ratio', value: 0.97 },
    { name: 'test_requests_total', labels: { code: '200' }, value: 100 },
    { name: 'test_requests_total', labels: { code: '500' }, value: 5 },
  ]);
  prometheus = await PrometheusServer.start([exporter.target]);
  await prometheus.waitFor('test_ratio');

  web = createServer((req, res) => {
    const url = req.url ?? '';
    const json = (status: number, body: unknown): void => void res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (url === '/ratio') json(200, { data: { ratio: 0.97, items: [{ v: 3 }] } });
    else if (url === '/low') json(200, { data: { ratio: 0.5 } });
    else if (url === '/empty') json(200, { data: { ratio: null } });
    else if (url === '/echo' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => json(200, { method: req.method, auth: req.headers.authorization ?? null, body: JSON.parse(body) as unknown }));
    } else json(500, { error: 'boom' });
  });
  await new Promise<void>((r) => web.listen(0, HOST, r));
  webUrl = `http://${HOST}:${(web.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  for (const s of [hang, web]) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  await prometheus.stop();
  await exporter.stop();
});

providerContract('prometheus', () => ({
  provider: new PrometheusProvider(),
  metric: (s) => {
    const base = { name: `prom-${s}`, successCondition: 'result[0] >= 0.95' };
    const prom = (query: string, address = prometheus.url, timeout?: number): Metric => ({ ...base, provider: { prometheus: { address, query, ...(timeout !== undefined ? { timeout } : {}) } } });
    switch (s) {
      case 'pass':
        return prom('sum(test_ratio)');
      case 'fail':
        return prom('sum(test_ratio) - 0.5');
      case 'empty':
        return prom('sum(test_ratio_that_does_not_exist)');
      case 'http-error':
        return prom('sum(');
      case 'slow':
        return prom('sum(test_ratio)', hangUrl, 1);
      case 'unreachable':
        return prom('sum(test_ratio)', `http://${HOST}:${closedPort}`);
      case 'no-endpoint':
        return { ...base, provider: { prometheus: { query: 'up' } } };
    }
  },
}));

providerContract('web', () => ({
  provider: new WebProvider(),
  metric: (s) => {
    const base = { name: `web-${s}`, successCondition: 'result >= 0.95' };
    const get = (path: string, url = webUrl): Metric => ({ ...base, provider: { web: { url: `${url}${path}`, jsonPath: '{$.data.ratio}', timeoutSeconds: 1 } } });
    switch (s) {
      case 'pass':
        return get('/ratio');
      case 'fail':
        return get('/low');
      case 'empty':
        return get('/empty');
      case 'http-error':
        return get('/nope');
      case 'slow':
        return get('/', hangUrl);
      case 'unreachable':
        return get('/ratio', `http://${HOST}:${closedPort}`);
      case 'no-endpoint':
        return { ...base, provider: { web: { url: 'not a url' } } };
    }
  },
}));

describe('prometheus provider specifics (real Prometheus)', () => {
  const provider = new PrometheusProvider();
  const measure = (query: string) => provider.measure({ name: 'x', provider: { prometheus: { address: prometheus.url, query } } }, new AbortController().signal);

  it('reads a scalar as a number and a vector as an array', async () => {
    expect(await measure('scalar(sum(test_ratio))')).toEqual({ kind: 'value', result: 0.97, display: '0.97' });
    const v = await measure('test_requests_total');
    expect(v.kind === 'value' && [...(v.result as number[])].sort((a, b) => a - b)).toEqual([5, 100]);
  });

  it('keeps +Inf and -Inf (the driver would read them as NaN) and treats NaN as missing', async () => {
    const inf = await measure('vector(1) / 0');
    expect(inf).toEqual({ kind: 'value', result: [Number.POSITIVE_INFINITY], display: '[+Inf]' });
    expect(judge({ failureCondition: 'isInf(result[0])' }, inf, 'fail').phase).toBe('Failed');
    expect(await measure('vector(-1) / 0')).toMatchObject({ display: '[-Inf]' });
    expect(await measure('vector(0) / 0')).toEqual({ kind: 'missing', reason: 'NaN', display: '[NaN]', result: [Number.NaN] });
    expect(await measure('scalar(vector(0) / 0)')).toMatchObject({ kind: 'missing', reason: 'NaN' });
  });

  it('computes PromQL over the exporter counters (rate of errors)', async () => {
    exporter.set([
      { name: 'test_ratio', value: 0.97 },
      { name: 'test_requests_total', labels: { code: '200' }, value: 100 },
      { name: 'test_requests_total', labels: { code: '500' }, value: 5 },
    ]);
    // Counters grow 90/10 per scrape from now on: the 500 share of the rate converges on 0.1.
    let ok = 100;
    let bad = 5;
    const timer = setInterval(() => {
      ok += 90;
      bad += 10;
      exporter.set([{ name: 'test_ratio', value: 0.97 }, { name: 'test_requests_total', labels: { code: '200' }, value: ok }, { name: 'test_requests_total', labels: { code: '500' }, value: bad }]);
    }, 500);
    try {
      const q = 'sum(rate(test_requests_total{code=~"5.."}[5s])) / sum(rate(test_requests_total[5s]))';
      await prometheus.waitFor(q, (v) => Math.abs((v[0] ?? 0) - 0.1) < 0.01);
      const obs = await measure(q);
      expect(obs.kind).toBe('value');
      expect(judge({ successCondition: 'result[0] < 0.05' }, obs, 'fail').phase).toBe('Failed');
      expect(judge({ successCondition: 'result[0] < 0.2' }, obs, 'fail').phase).toBe('Successful');
    } finally {
      clearInterval(timer);
    }
  }, 30_000);

  it('rejects a range-vector result: it cannot be judged', async () => {
    expect(await reason(measure('test_ratio[5s]'))).toBe('invalid-response');
  });

  it('sends the configured headers', async () => {
    lastHeaders.length = 0;
    await reason(provider.measure({ name: 'h', provider: { prometheus: { address: hangUrl, query: 'up', timeout: 1, headers: [{ key: 'Authorization', value: 'Bearer t0ken' }] } } }, new AbortController().signal));
    expect(lastHeaders[0]?.authorization).toBe('Bearer t0ken');
  });
});

describe('web provider specifics', () => {
  const provider = new WebProvider();
  it('posts a body with headers and reads nested paths', async () => {
    const obs = await provider.measure(
      { name: 'p', provider: { web: { url: `${webUrl}/echo`, method: 'POST', body: '{"q":1}', headers: [{ key: 'Authorization', value: 'Bearer x' }] } } },
      new AbortController().signal,
    );
    expect(obs).toMatchObject({ kind: 'value', result: { method: 'POST', auth: 'Bearer x', body: { q: 1 } } });
    const item = await provider.measure({ name: 'i', provider: { web: { url: `${webUrl}/ratio`, jsonPath: "$.data['items'][0].v" } } }, new AbortController().signal);
    expect(item).toMatchObject({ kind: 'value', result: 3 });
  });
});
