// Builtin checks end to end: a Rollout's analysis step names `successRate: {min: 99}` and `latency: {maxMs: 500}`,
// no PromQL. A real Prometheus scrapes an exporter emitting Istio's metric families for the canary's workload; a
// healthy canary completes, one at 10% errors and one at 800 ms p99 are aborted, all by the running operator.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { helpers, installAllCrds, rolloutManifest, runOperator, type InProcessOperator } from '../../test/support/rollouts.ts';
import { Exporter, PrometheusServer } from '../../test/prometheus/harness.ts';
import { drive, families, type Workload } from '../../test/prometheus/traffic.ts';
import { replicaSetName } from './effects.ts';
import { podTemplateHash } from './hash.ts';
import { VIRTUAL_SERVICE } from './traffic/istio.ts';
import type { KubeObject } from '../kube/client.ts';

type VS = KubeObject & { spec?: { http?: { route?: { destination?: { host?: string }; weight?: number }[] }[] } };

describe('builtin success-rate and latency checks on a real Prometheus', () => {
  let ns: string;
  let op: InProcessOperator;
  let h: ReturnType<typeof helpers>;
  let exporter: Exporter;
  let prometheus: PrometheusServer;
  /** The traffic each workload (ReplicaSet name) serves, per tick; the test changes it per scenario. */
  const traffic = new Map<string, Workload>();
  let stopTraffic: () => void = () => undefined;

  beforeAll(async () => {
    exporter = await Exporter.start();
    prometheus = await PrometheusServer.start([exporter.target]);
    stopTraffic = drive(exporter, (c) => {
      for (const [workload, w] of traffic) families.istio(c, ns, workload, w);
    }).stop;
    await installAllCrds();
    ns = await createNamespace('builtin');
    op = await runOperator(ns);
    h = helpers(ns, op.client);
  }, 120_000);

  afterAll(async () => {
    stopTraffic();
    await op.stop();
    await prometheus.stop();
    await exporter.stop();
    await deleteNamespace(ns);
  });

  const canaryWeight = async (name: string): Promise<number | undefined> =>
    (await op.client.get<VS>(VIRTUAL_SERVICE, ns, name)).spec?.http?.[0]?.route?.find((d) => d.destination?.host === `${name}-canary`)?.weight;

  async function scenario(app: string, canary: Workload, analysis: Record<string, unknown> = { successRate: { min: 99 }, latency: { maxMs: 500 } }, stableTraffic?: Workload): Promise<void> {
    await h.istioCanary(app);
    const spec = {
      canaryService: `${app}-canary`,
      stableService: `${app}-stable`,
      trafficRouting: { istio: { virtualService: { name: app } } },
      steps: [
        { setWeight: 20 },
        { analysis: { ...analysis, prometheus: { address: prometheus.url }, interval: '5s', count: 3 } },
        { setWeight: 100 },
      ],
    };
    await h.apply(rolloutManifest(app, 'v1', spec));
    await waitFor(`${app} v1 Healthy`, async () => (await h.rollout(app)).status?.phase === 'Healthy', 60_000);
    if (stableTraffic !== undefined) traffic.set(replicaSetName(app, (await h.rollout(app)).status?.stableRS ?? ''), stableTraffic);
    // The canary's pods serve `canary` from the moment they exist: its workload name follows from the template.
    const v2 = rolloutManifest(app, 'v2', spec) as { spec: { template: unknown } };
    traffic.set(replicaSetName(app, podTemplateHash(v2.spec.template)), canary);
    // rate() needs a few scrapes of the new series before it has an answer (a real canary would use initialDelay).
    const workload = replicaSetName(app, podTemplateHash(v2.spec.template));
    if (canary.requests > 0) await waitFor(`Prometheus to have ${workload}'s series`, async () => (await samples(`istio_requests_total{destination_workload="${workload}"}`)) >= 4, 60_000, 500);
    await h.apply(v2);
    // The step may be over before a poll sees 20% (a failing check aborts within one measurement).
    await waitFor(`${app} v2 past its first step`, async () => {
      const st = (await h.rollout(app)).status;
      return st?.currentPodHash === podTemplateHash(v2.spec.template) && ((st.currentStepIndex ?? 0) >= 1 || st.abort === true);
    }, 30_000);
  }

  /** How many samples Prometheus holds for the newest series matching `selector` in the last 10 s. */
  const samples = async (selector: string): Promise<number> => {
    const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(`max(count_over_time(${selector}[10s]))`)}`);
    const body = (await res.json()) as { data?: { result?: { value?: [number, string] }[] } };
    return Number(body.data?.result?.[0]?.value?.[1] ?? 0);
  };

  const runPhase = async (app: string): Promise<string> =>
    (await kubectl(['get', 'analysisruns.sluice.dev', '-n', ns, '-l', `sluice.dev/rollout=${app}`, '-o', 'jsonpath={.items[*].status.phase}'])).stdout;

  it('lets a healthy canary through', async () => {
    await scenario('healthy', { requests: 100, errors: 0, latencyMs: 40 });


    await waitFor('promoted after a passing analysis', async () => {
      const s = (await h.rollout('healthy')).status;
      return s?.phase === 'Healthy' && s.stableRS === s.currentPodHash;
    }, 90_000);
    expect(await runPhase('healthy')).toBe('Successful');
  });

  it('aborts a canary at 10% errors', async () => {
    await scenario('errors', { requests: 100, errors: 10, latencyMs: 40 });
    await waitFor('aborted by the success-rate check', async () => (await h.rollout('errors')).status?.abort === true, 90_000);
    expect(await runPhase('errors')).toBe('Failed');
    expect(await canaryWeight('errors')).toBe(0);
    const msg = (await kubectl(['get', 'analysisruns.sluice.dev', '-n', ns, '-l', 'sluice.dev/rollout=errors', '-o', 'jsonpath={.items[0].status.metricResults[?(@.name=="success-rate")].phase}'])).stdout;
    expect(msg).toBe('Failed');
  });

  it('aborts a canary at 800 ms p99', async () => {
    await scenario('slow', { requests: 100, errors: 0, latencyMs: 800 });
    await waitFor('aborted by the latency check', async () => (await h.rollout('slow')).status?.abort === true, 90_000);
    const latency = (await kubectl(['get', 'analysisruns.sluice.dev', '-n', ns, '-l', 'sluice.dev/rollout=slow', '-o', 'jsonpath={.items[0].status.metricResults[?(@.name=="latency-p99")].phase}'])).stdout;
    expect(latency).toBe('Failed');
    expect(await canaryWeight('slow')).toBe(0);
  });
  it('pauses on an Inconclusive run (no traffic, no data) until a person promotes', async () => {
    await scenario('quiet', { requests: 0, errors: 0, latencyMs: 40 });
    await waitFor('paused: inconclusive', async () => {
      const st = (await h.rollout('quiet')).status;
      return st?.phase === 'Paused' && st.message === 'InconclusiveAnalysisRun';
    }, 60_000);
    expect(await runPhase('quiet')).toBe('Inconclusive');
    await h.statusPatch('quiet', { status: { pauseConditions: null } }); // a person decides: go on
    await waitFor('promoted past the analysis', async () => {
      const st = (await h.rollout('quiet')).status;
      return st?.phase === 'Healthy' && st.stableRS === st.currentPodHash;
    }, 60_000);
  });
  it('judges a canary against the stable revision: as noisy as stable passes, worse than stable fails', async () => {
    const relative = { successRate: { min: 0 }, compareToStable: { maxSuccessRateDrop: 1 } };
    await scenario('noisy', { requests: 100, errors: 5, latencyMs: 40 }, relative, { requests: 100, errors: 5, latencyMs: 40 });
    await waitFor('noisy promoted', async () => {
      const st = (await h.rollout('noisy')).status;
      return st?.phase === 'Healthy' && st.stableRS === st.currentPodHash;
    }, 90_000);
    await scenario('regressed', { requests: 100, errors: 8, latencyMs: 40 }, relative, { requests: 100, errors: 0, latencyMs: 40 });
    await waitFor('regressed aborted', async () => (await h.rollout('regressed')).status?.abort === true, 90_000);
  });
});
