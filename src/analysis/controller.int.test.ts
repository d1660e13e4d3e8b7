// The AnalysisRun controller on the real apiserver measuring a real Prometheus: a passing run is Successful after
// `count` measurements; a failing one is Failed as soon as failureLimit is exceeded; no data follows its policy;
// provider errors end in Error after consecutiveErrorLimit; a terminated run says so; bad args are an Error.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Exporter, freePort, HOST, PrometheusServer } from '../../test/prometheus/harness.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { testClient, testLogger, testMetrics } from '../../test/support/operator.ts';
import type { AnalysisRunStatus, Metric } from '../api/analysis/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { EventRecorder } from '../runtime/events.ts';
import { Manager } from '../runtime/manager.ts';
import { ANALYSIS_FIELD_MANAGER, registerAnalysisController } from './controller.ts';
import { MISSING_DATA_ANNOTATION } from './decide/plan.ts';

type Run = KubeObject & { status?: AnalysisRunStatus };

describe('the AnalysisRun controller (real apiserver, real Prometheus)', () => {
  let ns: string;
  const { client, requests } = testClient();
  let manager: Manager;
  let running: Promise<unknown>;
  let exporter: Exporter;
  let prometheus: PrometheusServer;
  // A second server for the outage test, started with the first: Prometheus takes ~6 s to its first scrape (its
  // target discovery is throttled to 5 s), so starting them together saves that much.
  let doomed: PrometheusServer;

  beforeAll(async () => {
    exporter = await Exporter.start();
    exporter.set([{ name: 'test_ratio', value: 0.97 }]);
    const [, prom, second] = await Promise.all([installCrds(), PrometheusServer.start([exporter.target]), PrometheusServer.start([exporter.target])]);
    prometheus = prom;
    doomed = second;
    ns = await createNamespace('analysis');
    await Promise.all([prometheus.waitFor('test_ratio'), doomed.waitFor('test_ratio')]);
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
    await prometheus.stop();
    await doomed.stop();
    await exporter.stop();
  });

  const create = async (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): Promise<void> => {
    await client.create(R.analysisRun, { metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) }, spec });
  };
  const status = async (name: string): Promise<AnalysisRunStatus | undefined> => (await client.get<Run>(R.analysisRun, ns, name)).status;
  const completed = async (name: string, timeoutMs = 20_000): Promise<AnalysisRunStatus> => {
    await waitFor(`${name} completed`, async () => ['Successful', 'Failed', 'Error', 'Inconclusive'].includes((await status(name))?.phase ?? ''), timeoutMs);
    return (await status(name)) as AnalysisRunStatus;
  };
  const prom = (query: string, extra: Partial<Metric> = {}): Metric => ({ name: 'ratio', successCondition: 'result[0] >= 0.95', provider: { prometheus: { address: prometheus.url, query } }, ...extra });

  it('a passing run is Successful after count measurements, one interval apart, with args from a Secret', async () => {
    await client.create(R.secret, { metadata: { name: 'prom-args', namespace: ns }, stringData: { series: 'test_ratio' } });
    const t0 = Date.now();
    const patchesBefore = requests.get('PATCH') ?? 0;
    await create('passes', {
      args: [{ name: 'series', valueFrom: { secretKeyRef: { name: 'prom-args', key: 'series' } } }],
      metrics: [prom('sum({{args.series}})', { interval: '1s', count: 3 })],
    });
    const s = await completed('passes');
    const took = Date.now() - t0;
    expect(s.phase).toBe('Successful');
    const r = s.metricResults?.[0];
    expect(r).toMatchObject({ name: 'ratio', phase: 'Successful', count: 3, successful: 3, failed: 0 });
    expect(r?.measurements?.map((m) => m.value)).toEqual(['[0.97]', '[0.97]', '[0.97]']);
    expect(s.runSummary).toMatchObject({ count: 1, successful: 1 });
    expect(s.startedAt).toBeDefined();
    expect(s.completedAt).toBeDefined();
    // Exact timers: the measurements are an interval apart (finish to start), not polled.
    const ms = (r?.measurements ?? []).map((m) => Date.parse(m.startedAt ?? ''));
    for (let i = 1; i < ms.length; i++) {
      const gap = (ms[i] as number) - (ms[i - 1] as number);
      expect(gap).toBeGreaterThanOrEqual(1000);
      // Loose on purpose (a loaded machine delays timers): a poll-driven loop would show gaps of its resync period.
      expect(gap).toBeLessThan(3000);
    }
    // One status write per measurement (the requeue timers cost nothing); Events may add at most one more.
    expect((requests.get('PATCH') ?? 0) - patchesBefore).toBeLessThanOrEqual(4);
    process.stdout.write(`passes: 3 measurements in ${took} ms, gaps ${ms.slice(1).map((x, i) => x - (ms[i] as number)).join('/')} ms, ${(requests.get('PATCH') ?? 0) - patchesBefore} PATCHes\n`);
    // The status is ours (field manager sluice-analysis) and written through the status subresource.
    const full = await kubectl(['get', 'analysisruns.sluice.dev', 'passes', '-n', ns, '-o', 'jsonpath={.metadata.managedFields[*].manager}', '--show-managed-fields']);
    expect(full.stdout).toContain(ANALYSIS_FIELD_MANAGER);
    const ev = await kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=passes,reason=AnalysisRunSuccessful', '-o', 'name']);
    expect(ev.stdout.trim()).not.toBe('');
  });

  it('a failing run is Failed as soon as failureLimit is exceeded, not after count', async () => {
    await create('fails', { metrics: [prom('sum(test_ratio) - 0.5', { interval: '1s', count: 10, failureLimit: 1 })] });
    const s = await completed('fails');
    expect(s.phase).toBe('Failed');
    expect(s.metricResults?.[0]).toMatchObject({ phase: 'Failed', count: 2, failed: 2 });
    expect(s.message).toMatch(/metric "ratio" Failed: 2 failed measurement\(s\), more than failureLimit 1/);
  });

  it('an empty result follows the missing-data policy (fail from the annotation; inconclusive by default)', async () => {
    await create('empty-fail', { metrics: [prom('sum(no_such_series)')] }, { [MISSING_DATA_ANNOTATION]: 'ratio=fail' });
    await create('empty-default', { metrics: [prom('sum(no_such_series)')] });
    await create('empty-ignore', { metrics: [prom('sum(no_such_series)', { interval: '1s', count: 2 })] }, { [MISSING_DATA_ANNOTATION]: 'ignore' });
    const f = await completed('empty-fail');
    expect(f.phase).toBe('Failed');
    expect(f.metricResults?.[0]?.measurements?.[0]).toMatchObject({ phase: 'Failed', value: '[]', message: 'no data (empty vector); missing-data policy: fail' });
    const d = await completed('empty-default');
    expect(d.phase).toBe('Inconclusive');
    expect(d.metricResults?.[0]?.measurements?.[0]?.message).toContain('missing-data policy: inconclusive');
    // Ignored no-data is never a success (invariant 8).
    const i = await completed('empty-ignore');
    expect(i.phase).toBe('Inconclusive');
    expect(i.metricResults?.[0]).toMatchObject({ count: 2, successful: 0, inconclusive: 0, message: 'no measurement was successful' });
  });

  it('provider errors are retried, then the run is Error after consecutiveErrorLimit', async () => {
    const closed = await freePort();
    await create('unreachable', { metrics: [{ ...prom('up'), interval: '1s', count: 3, consecutiveErrorLimit: 1, provider: { prometheus: { address: `http://${HOST}:${closed}`, query: 'up' } } }] });
    const s = await completed('unreachable');
    expect(s.phase).toBe('Error');
    expect(s.metricResults?.[0]).toMatchObject({ phase: 'Error', error: 2, consecutiveError: 2, count: 0 });
    expect(s.metricResults?.[0]?.measurements?.[0]?.message).toMatch(/^prometheus: /);
  });

  it('NaN (rate over no traffic) follows the policy too', async () => {
    await create('nan', { metrics: [prom('vector(0) / 0')] }, { [MISSING_DATA_ANNOTATION]: 'fail' });
    const s = await completed('nan');
    expect(s.phase).toBe('Failed');
    expect(s.metricResults?.[0]?.measurements?.[0]).toMatchObject({ phase: 'Failed', value: '[NaN]', message: 'no data (NaN); missing-data policy: fail' });
  });

  it('Prometheus stopped mid-run: measurements Error, then the run is Error after consecutiveErrorLimit', async () => {
    const own = doomed;
    try {
      await create('outage', { metrics: [{ ...prom('sum(test_ratio)', { interval: '1s', consecutiveErrorLimit: 2 }), provider: { prometheus: { address: own.url, query: 'sum(test_ratio)', timeout: 1 } } }] });
      await waitFor('a successful measurement', async () => ((await status('outage'))?.metricResults?.[0]?.successful ?? 0) >= 1);
    } finally {
      await own.stop();
    }
    const s = await completed('outage');
    expect(s.phase).toBe('Error');
    const r = s.metricResults?.[0];
    expect(r).toMatchObject({ phase: 'Error', consecutiveError: 3 });
    expect(r?.successful).toBeGreaterThanOrEqual(1);
    expect(r?.measurements?.at(-1)).toMatchObject({ phase: 'Error' });
    expect(r?.measurements?.at(-1)?.value).toBeUndefined();
    expect(s.message).toContain('3 consecutive errors, more than consecutiveErrorLimit 2');
  });

  it('a terminated run ends and says so', async () => {
    await create('forever', { metrics: [prom('sum(test_ratio)', { interval: '1s' })] });
    await waitFor('two measurements', async () => ((await status('forever'))?.metricResults?.[0]?.count ?? 0) >= 2);
    expect((await status('forever'))?.phase).toBe('Running');
    await client.mergePatch(R.analysisRun, ns, 'forever', { spec: { terminate: true } });
    const s = await completed('forever');
    expect(s.phase).toBe('Successful');
    expect(s.message).toMatch(/^Run Terminated/);
    const count = s.metricResults?.[0]?.count ?? 0;
    await new Promise((r) => setTimeout(r, 1500));
    // Nothing is measured after completion.
    expect((await status('forever'))?.metricResults?.[0]?.count).toBe(count);
  });

  it('resumes from status after the operator restarts mid-run (the apiserver is the database)', async () => {
    await create('restart', { metrics: [prom('sum(test_ratio)', { interval: '1s', count: 4 })] });
    await waitFor('two measurements', async () => ((await status('restart'))?.metricResults?.[0]?.count ?? 0) >= 2);
    await manager.stop();
    await running;
    const countAtStop = (await status('restart'))?.metricResults?.[0]?.count ?? 0;
    await new Promise((r) => setTimeout(r, 1500));
    // Nobody measures while no operator runs.
    expect((await status('restart'))?.metricResults?.[0]?.count).toBe(countAtStop);
    const log = testLogger();
    manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [ns] });
    registerAnalysisController(manager, { client, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2 });
    running = manager.run();
    const s = await completed('restart');
    expect(s.phase).toBe('Successful');
    // Exactly `count` measurements in all: none repeated, none lost across the restart.
    expect(s.metricResults?.[0]).toMatchObject({ count: 4, successful: 4 });
    expect(s.metricResults?.[0]?.measurements).toHaveLength(4);
  });

  it('an arg that cannot be resolved makes the run Error, naming the field', async () => {
    await create('no-secret', {
      args: [{ name: 'series', valueFrom: { secretKeyRef: { name: 'missing', key: 'k' } } }],
      metrics: [prom('sum({{args.series}})')],
    });
    const s = await completed('no-secret');
    expect(s.phase).toBe('Error');
    expect(s.message).toBe('spec.args[0].valueFrom.secretKeyRef: Secret "missing" has no key "k" (or does not exist)');
  });
});
