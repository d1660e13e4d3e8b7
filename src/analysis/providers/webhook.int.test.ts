// The webhook provider (Flagger's webhooks as checks) against real HTTP servers: the shared provider contract, the
// load tester of test/support driven through Flagger's payload, and an AnalysisRun on the real apiserver whose
// pre-rollout hook is down: it fails within its timeout × attempts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, HOST } from '../../../test/prometheus/harness.ts';
import { createNamespace, deleteNamespace, waitFor } from '../../../test/support/cluster.ts';
import { installCrds } from '../../../test/support/crds.ts';
import { LoadTester, parseHey } from '../../../test/support/loadtester.ts';
import { testClient, testLogger, testMetrics } from '../../../test/support/operator.ts';
import type { AnalysisRunStatus, Metric } from '../../api/analysis/schema.ts';
import type { KubeObject } from '../../kube/client.ts';
import { R } from '../../kube/resource.ts';
import { EventRecorder } from '../../runtime/events.ts';
import { Manager } from '../../runtime/manager.ts';
import { registerAnalysisController } from '../controller.ts';
import { providerContract, reason } from './contract.ts';
import { WebhookProvider } from './webhook.ts';

let hook: Server;
let hookUrl = '';
let hang: Server;
let hangUrl = '';
let closedPort = 0;
const received: { path: string; body: unknown; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) as unknown, headers: req.headers });
      const status = req.url === '/ok' ? 200 : req.url === '/no' ? 403 : 500;
      res.writeHead(status).end(status === 403 ? 'not yet' : '');
    });
  });
  hang = createServer(() => undefined);
  await Promise.all([new Promise<void>((r) => hook.listen(0, HOST, r)), new Promise<void>((r) => hang.listen(0, HOST, r))]);
  hookUrl = `http://${HOST}:${(hook.address() as AddressInfo).port}`;
  hangUrl = `http://${HOST}:${(hang.address() as AddressInfo).port}`;
  closedPort = await freePort();
});

afterAll(async () => {
  for (const s of [hook, hang]) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

const webhook = (name: string, url: string, extra: Partial<NonNullable<Metric['provider']['webhook']>> = {}): Metric => ({ name, provider: { webhook: { url, type: 'pre-rollout', timeout: '1s', ...extra } } });

providerContract(
  'webhook',
  () => ({
    provider: new WebhookProvider(),
    metric: (s) => {
      switch (s) {
        case 'pass':
          return webhook('pass', `${hookUrl}/ok`);
        case 'fail':
        case 'empty':
          return webhook('fail', `${hookUrl}/no`);
        case 'http-error':
          return webhook('boom', `${hookUrl}/boom`);
        case 'slow':
          return webhook('slow', hangUrl);
        case 'unreachable':
          return webhook('down', `http://${HOST}:${closedPort}/`);
        case 'no-endpoint':
          return webhook('bad', 'ftp://example.invalid/');
      }
    },
  }),
  { noData: false },
);

describe('webhook provider specifics', () => {
  const provider = new WebhookProvider();
  const live = (): AbortSignal => new AbortController().signal;

  it("POSTs Flagger's payload: the Rollout, namespace, phase, revision checksum and the metadata", async () => {
    received.length = 0;
    const obs = await provider.measure(webhook('p', `${hookUrl}/ok`, { metadata: { cmd: 'hey -z 1s http://127.0.0.1:1/' } }), live(), {
      nowMs: Date.now(),
      run: { name: 'shop-abc-1', namespace: 'team', uid: 'u', rollout: 'shop', checksum: 'abc' },
    });
    expect(obs).toMatchObject({ kind: 'verdict', judgement: { phase: 'Successful', value: '200' } });
    expect(received).toHaveLength(1);
    expect(received[0]?.body).toEqual({ name: 'shop', namespace: 'team', phase: 'Progressing', checksum: 'abc', metadata: { cmd: 'hey -z 1s http://127.0.0.1:1/' } });
    expect(received[0]?.headers['content-type']).toBe('application/json');
  });

  it('a 4xx is the hook saying no (Failed, with its answer); a 5xx is retried, then an error', async () => {
    expect(await provider.measure(webhook('n', `${hookUrl}/no`), live())).toMatchObject({ judgement: { phase: 'Failed', message: 'the webhook answered HTTP 403: not yet' } });
    received.length = 0;
    expect(await reason(provider.measure(webhook('b', `${hookUrl}/boom`, { retries: 2 }), live()))).toBe('http');
    expect(received).toHaveLength(3);
  });

  it('retries a target that does not answer, each attempt within its timeout', async () => {
    const t0 = Date.now();
    const err = await provider.measure(webhook('s', hangUrl, { timeout: '500ms', retries: 2 }), live()).catch((e: unknown) => e);
    const took = Date.now() - t0;
    expect(err).toMatchObject({ reason: 'timeout', message: 'webhook: no answer within 500 ms (after 3 attempts)' });
    expect(took).toBeGreaterThanOrEqual(1400); // three attempts of 500 ms happened (a lower bound: load cannot break it)
  });
});

describe('the load tester (test/support) as a rollout webhook target', () => {
  let tester: LoadTester;
  let target: Server;
  let hits = 0;

  beforeAll(async () => {
    tester = await LoadTester.start();
    target = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((r) => target.listen(0, HOST, r));
  });

  afterAll(async () => {
    await tester.stop();
    target.closeAllConnections();
    await new Promise<void>((r) => target.close(() => r()));
  });

  it('reads hey arguments and refuses targets off this machine', () => {
    expect(parseHey('hey -z 2s -q 5 -c 2 http://127.0.0.1:8080/')).toMatchObject({ durationMs: 2000, rate: 5, concurrency: 2 });
    expect(() => parseHey('hey -z 2s http://10.0.0.1/')).toThrow('targets must be on 127.0.0.1');
    expect(() => parseHey('curl http://127.0.0.1/')).toThrow('only "hey" commands');
  });

  it('sends the load a rollout hook asks for, and its gate answers 403 until opened', async () => {
    const port = (target.address() as AddressInfo).port;
    const provider = new WebhookProvider();
    const cmd = `hey -z 1s -q 20 -c 2 http://127.0.0.1:${port}/`;
    const obs = await provider.measure(webhook('load', `${tester.url}/`, { type: 'rollout', metadata: { cmd, blocking: 'true' }, timeout: '5s' }), new AbortController().signal);
    expect(obs).toMatchObject({ judgement: { phase: 'Successful' } });
    // 2 workers × 20 a second for 1 s: about 40 requests (the first ones start at once).
    expect(hits).toBeGreaterThanOrEqual(20);
    expect(hits).toBeLessThanOrEqual(50);
    expect(tester.ok).toBe(hits);
    const gate = webhook('gate', `${tester.url}/gate/check`);
    expect(await provider.measure(gate, new AbortController().signal)).toMatchObject({ judgement: { phase: 'Failed', value: '403' } });
    tester.open();
    expect(await provider.measure(gate, new AbortController().signal)).toMatchObject({ judgement: { phase: 'Successful', value: '200' } });
  });
});

describe('an AnalysisRun with a pre-rollout webhook whose target is down (real apiserver)', () => {
  const { client } = testClient();
  let ns: string;
  let manager: Manager;
  let running: Promise<unknown>;

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('webhook');
    const log = testLogger();
    manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [ns] });
    registerAnalysisController(manager, { client, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2 });
    running = manager.run();
    await waitFor('caches', () => manager.ready());
  }, 60_000);

  afterAll(async () => {
    await manager.stop();
    await running;
    await deleteNamespace(ns);
  });

  it('fails the check within its timeout and retries (consecutiveErrorLimit 0, as convert writes it)', async () => {
    const t0 = Date.now();
    await client.create(R.analysisRun, { metadata: { name: 'pre', namespace: ns }, spec: { metrics: [{ ...webhook('pre-rollout', hangUrl, { timeout: '1s', retries: 1 }), consecutiveErrorLimit: 0 }] } });
    let s: AnalysisRunStatus | undefined;
    await waitFor('the run ended', async () => {
      s = (await client.get<KubeObject & { status?: AnalysisRunStatus }>(R.analysisRun, ns, 'pre')).status;
      return s?.phase === 'Error';
    }, 20_000);
    const took = Date.now() - t0;
    expect(s?.metricResults?.[0]?.measurements?.[0]).toMatchObject({ phase: 'Error', message: 'webhook: no answer within 1000 ms (after 2 attempts)' });
    expect(took).toBeGreaterThanOrEqual(2000); // two attempts of 1 s happened
  }, 30_000);
});
