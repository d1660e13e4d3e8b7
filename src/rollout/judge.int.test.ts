// The sequential judge end to end: the operator as a process, a real Prometheus scraping Istio-shaped counters and
// histograms per pod (with seeded random errors and latencies), the real control plane. A canary at 5% errors
// against a 0.5% stable is aborted; an A/A pair at 1% (where a fixed 99% threshold flaps) passes two steps, the
// evidence carried from one to the next, with the canary pod's counters reset along the way; a latency regression
// is aborted; a bad canary whose counters keep resetting is still aborted.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../test/support/cluster.ts';
import { startOperator, type OperatorProcess } from '../../test/support/operator-process.ts';
import { sluice } from '../../test/support/plugin.ts';
import { helpers, installAllCrds, rolloutManifest } from '../../test/support/rollouts.ts';
import { testClient } from '../../test/support/operator.ts';
import { Exporter, PrometheusServer } from '../../test/prometheus/harness.ts';
import { drive, MS_BUCKETS, type Counters } from '../../test/prometheus/traffic.ts';
import { replicaSetName } from './effects.ts';
import { podTemplateHash } from './hash.ts';
import { judgeSummary, type LookSummaryView } from '../cli/view/judge.ts';
import type { Measurement } from '../api/analysis/schema.ts';

/** One revision's traffic: per pod, requests per tick (4 ticks a second), and the chance a request is bad. */
interface Arm {
  pods: number;
  perTick: number;
  errorRate: number;
  /** Share of requests at slowMs; the rest at 30 ms. */
  slowShare?: number;
  slowMs?: number;
}

// A seeded generator: the traffic is random, the test repeatable.
let seed = 20261202;
const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const binomial = (n: number, p: number): number => {
  let k = 0;
  for (let i = 0; i < n; i += 1) if (random() < p) k += 1;
  return k;
};

function tick(c: Counters, ns: string, workload: string, arm: Arm): void {
  for (let i = 0; i < arm.pods; i += 1) {
    const base = { reporter: 'destination', destination_workload_namespace: ns, destination_workload: workload, pod: `${workload}-${i}` };
    const bad = binomial(arm.perTick, arm.errorRate);
    c.add('istio_requests_total', { ...base, response_code: '200' }, arm.perTick - bad);
    c.add('istio_requests_total', { ...base, response_code: '503' }, bad);
    const slow = binomial(arm.perTick, arm.slowShare ?? 0);
    c.observe('istio_request_duration_milliseconds', base, MS_BUCKETS, 30, arm.perTick - slow);
    if (slow > 0) c.observe('istio_request_duration_milliseconds', base, MS_BUCKETS, arm.slowMs ?? 300, slow);
  }
}

type RunObj = { metadata: { name: string; labels?: Record<string, string> }; status?: { phase?: string; metricResults?: { name: string; phase: string; measurements?: Measurement[] }[] } };

describe('the sequential judge on a real Prometheus, the operator as a process', () => {
  let ns: string;
  let op: OperatorProcess;
  let h: ReturnType<typeof helpers>;
  let exporter: Exporter;
  let prometheus: PrometheusServer;
  const traffic = new Map<string, Arm>();
  /** Workloads whose first pod restarts (its counters drop to 0) every few seconds. */
  const restarting = new Set<string>();
  let stop: () => void = () => undefined;
  let resetTimer: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    exporter = await Exporter.start();
    prometheus = await PrometheusServer.start([exporter.target]);
    const driven = drive(exporter, (c) => {
      for (const [workload, arm] of traffic) tick(c, ns, workload, arm);
    });
    stop = driven.stop;
    resetTimer = setInterval(() => {
      for (const w of restarting) driven.counters.reset((l) => l.pod === `${w}-0`);
    }, 3_000);
    await installAllCrds();
    ns = await createNamespace('judge');
    op = await startOperator(kubeconfigPath(), `judge-${ns}`, [`--namespace=${ns}`]);
    h = helpers(ns, testClient().client);
  }, 120_000);

  afterAll(async () => {
    clearInterval(resetTimer);
    stop();
    op.kill('SIGTERM');
    await op.exited;
    await prometheus.stop();
    await exporter.stop();
    await deleteNamespace(ns);
  });

  const runs = async (app: string): Promise<RunObj[]> =>
    (JSON.parse((await kubectl(['get', 'analysisruns.sluice.dev', '-n', ns, '-l', `sluice.dev/rollout=${app}`, '-o', 'json'])).stdout) as { items: RunObj[] }).items;
  const summaryOf = (run: RunObj | undefined, metric: string): LookSummaryView | undefined =>
    judgeSummary(run?.status?.metricResults?.find((m) => m.name === metric)?.measurements?.at(-1));

  /** Deploys v1, gives stable and the coming canary their traffic, then releases v2. Returns the canary workload. */
  async function release(app: string, analysis: Record<string, unknown>, stable: Arm, canary: Arm, twoSteps = false): Promise<{ workload: string; hash: string }> {
    await h.istioCanary(app);
    const step = { analysis: { ...analysis, prometheus: { address: prometheus.url } } };
    const spec = {
      canaryService: `${app}-canary`,
      stableService: `${app}-stable`,
      trafficRouting: { istio: { virtualService: { name: app } } },
      steps: twoSteps ? [{ setWeight: 20 }, step, { setWeight: 50 }, step, { setWeight: 100 }] : [{ setWeight: 20 }, step, { setWeight: 100 }],
    };
    await h.apply(rolloutManifest(app, 'v1', spec));
    await waitFor(`${app} v1 Healthy`, async () => (await h.rollout(app)).status?.phase === 'Healthy', 60_000);
    traffic.set(replicaSetName(app, (await h.rollout(app)).status?.stableRS ?? ''), stable);
    const v2 = rolloutManifest(app, 'v2', spec) as { spec: { template: unknown } };
    const hash = podTemplateHash(v2.spec.template);
    const workload = replicaSetName(app, hash);
    traffic.set(workload, canary);
    await h.apply(v2);
    return { workload, hash };
  }

  it('aborts a canary at 5% errors against a 0.5% stable, and shows the evidence', async () => {
    await release('bad', { successRate: { min: 90 }, judge: { interval: '2s' } }, { pods: 4, perTick: 50, errorRate: 0.005 }, { pods: 1, perTick: 50, errorRate: 0.05 });
    await waitFor('aborted by the judge', async () => (await h.rollout('bad')).status?.abort === true, 90_000);
    const [run] = await runs('bad');
    expect(run?.status?.phase).toBe('Failed');
    const s = summaryOf(run, 'success-rate');
    expect(s?.state).toBe('abort');
    expect(s?.abort.evidence).toBeGreaterThanOrEqual(s?.abort.threshold ?? Infinity);
    expect(s?.totals.canary.requests).toBeGreaterThan(0);
    expect(s?.totals.stable.requests).toBeGreaterThan(s?.totals.canary.requests ?? 0);
    expect(s?.ratio.lower).toBeGreaterThan(1);
    // The realized share is the canary's 20% of requests.
    expect(s?.share.realized).toBeGreaterThan(0.15);
    expect(s?.share.realized).toBeLessThan(0.25);
    const view = await sluice(['get', 'rollout', 'bad', '-n', ns]);
    expect(view.stdout).toContain('success-rate: Failed (sequential judge)');
    expect(view.stdout).toMatch(/abort \[█+░*\] 100%/);
  }, 150_000);

  it('passes an A/A pair at 1% errors through two steps, carrying the evidence, while the canary pod restarts', async () => {
    const { workload, hash } = await release('same', { successRate: { min: 97 }, judge: { interval: '2s' } }, { pods: 4, perTick: 60, errorRate: 0.01 }, { pods: 1, perTick: 60, errorRate: 0.01 }, true);
    restarting.add(workload);
    await waitFor('promoted by the judge', async () => {
      const st = (await h.rollout('same')).status;
      return st?.phase === 'Healthy' && st.stableRS === hash;
    }, 240_000, 1000);
    restarting.delete(workload);
    const all = await runs('same');
    expect(all.map((r) => r.status?.phase)).toEqual(['Successful', 'Successful']);
    const first = all.find((r) => r.metadata.labels?.['sluice.dev/step-index'] === '1');
    const second = all.find((r) => r.metadata.labels?.['sluice.dev/step-index'] === '3');
    const a = summaryOf(first, 'success-rate');
    const b = summaryOf(second, 'success-rate');
    expect(a?.state).toBe('pass');
    expect(b?.state).toBe('pass');
    // The second step started from the first step's evidence: its counts include the first step's.
    expect(b?.totals.canary.requests).toBeGreaterThan(a?.totals.canary.requests ?? Infinity);
    expect(a?.abort.progress).toBeLessThan(1);
  }, 300_000);

  it('aborts a latency regression (10% of the canary at 300 ms against a 30 ms stable)', async () => {
    await release('slow', { latency: { maxMs: 500 }, judge: { interval: '2s' } }, { pods: 4, perTick: 50, errorRate: 0 }, { pods: 1, perTick: 50, errorRate: 0, slowShare: 0.1, slowMs: 300 });
    await waitFor('aborted by the judge', async () => (await h.rollout('slow')).status?.abort === true, 90_000);
    const [run] = await runs('slow');
    const s = summaryOf(run, 'latency-p99');
    expect(s?.state).toBe('abort');
    // The edge is a real bucket edge at or above stable's p99 (all of stable at 30 ms: the 50 ms bucket).
    expect(s?.edgeMs).toBe(50);
    expect(s?.totals.canary.bad).toBeGreaterThan(0);
    expect(s?.totals.stable.bad).toBe(0);
  }, 150_000);

  it('still aborts a bad canary whose pod keeps restarting (counter resets neither abort nor hide)', async () => {
    const { workload } = await release('flaky', { successRate: { min: 50 }, judge: { interval: '2s' } }, { pods: 4, perTick: 5, errorRate: 0.005 }, { pods: 2, perTick: 3, errorRate: 0.05 });
    restarting.add(workload);
    await waitFor('aborted by the judge', async () => (await h.rollout('flaky')).status?.abort === true, 150_000, 1000);
    restarting.delete(workload);
    const s = summaryOf((await runs('flaky'))[0], 'success-rate');
    expect(s?.state).toBe('abort');
    // Deltas stayed sane through the resets: never more bad events than requests, never negative.
    expect(s?.totals.canary.bad).toBeLessThanOrEqual(s?.totals.canary.requests ?? 0);
    expect(s?.totals.canary.requests).toBeGreaterThan(0);
  }, 200_000);
});
