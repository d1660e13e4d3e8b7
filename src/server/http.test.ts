import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Counter, Registry } from 'prom-client';
import { startProbeServer } from './http.ts';

describe('probe server', () => {
  let ready = false;
  let base = '';
  let close: () => Promise<void> = () => Promise.resolve();
  const registry = new Registry();
  new Counter({ name: 'sluice_test_total', help: 'a test counter', registers: [registry] }).inc(3);

  beforeAll(async () => {
    const s = await startProbeServer({ host: '127.0.0.1', port: 0, registry, healthy: () => true, ready: () => ready });
    base = `http://127.0.0.1:${s.port}`;
    close = s.close;
  });
  afterAll(() => close());

  it('serves Prometheus text on /metrics', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('sluice_test_total 3');
  });

  it('answers /readyz 503 until ready, then 200; /healthz 200', async () => {
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('404s unknown paths and 405s writes', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
