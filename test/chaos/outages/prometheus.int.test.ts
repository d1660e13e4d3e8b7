// Prometheus goes away during a canary's analysis (its port refuses every connection: what the operator sees of a
// stopped server) and comes back. While it is down nothing is promoted on missing data: measurements go Error, and a
// metric whose consecutiveErrorLimit is exceeded ends the run in Error (the canary aborts); a metric that tolerates
// the outage keeps the canary at its step until Prometheus answers again, then the healthy canary proceeds. The
// observer (../observer) checks every stored state. ~10 s down in `npm test`; `npm run chaos` sets
// SLUICE_CHAOS_PROMETHEUS_DOWN=60.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../support/cluster.ts';
import { testClient } from '../../support/operator.ts';
import { startOperator, type OperatorProcess } from '../../support/operator-process.ts';
import { installAllCrds } from '../../support/rollouts.ts';
import { PrometheusServer } from '../../prometheus/harness.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { R } from '../../../src/kube/resource.ts';
import { stepHistoryProblems } from '../observer/check.ts';
import { observe } from '../observer/follow.ts';
import { apply, canary, canaryWeight, Gate, getRollout, promoted, say, sleep, writeOutage } from './support.ts';

const DOWN_S = Number(process.env.SLUICE_CHAOS_PROMETHEUS_DOWN ?? 10);
const steps = (template: string): object[] => [{ setWeight: 20 }, { analysis: { templates: [{ templateName: template }] } }, { setWeight: 50 }, { pause: { duration: '1s' } }];

type RunObj = KubeObject & { status?: { phase?: string; message?: string; metricResults?: { name: string; phase?: string; message?: string; successful?: number; error?: number; consecutiveError?: number; measurements?: { phase: string; finishedAt?: string }[] }[] } };

describe('chaos: Prometheus outage during analysis', () => {
  const { client } = testClient();
  let prometheus: PrometheusServer;
  let gate: Gate;
  let ns: string;
  let op: OperatorProcess | undefined;

  beforeAll(async () => {
    [prometheus] = await Promise.all([PrometheusServer.start([]), installAllCrds()]);
    gate = await Gate.open(prometheus.url);
    ns = await createNamespace('chaos-prometheus');
  });
  afterAll(async () => {
    op?.kill('SIGTERM');
    await op?.exited;
    await gate.shut();
    await prometheus.stop();
    await deleteNamespace(ns);
  });

  /** The newest AnalysisRun of a Rollout. */
  const runOf = async (rollout: string): Promise<RunObj | undefined> =>
    (await client.list<RunObj>(R.analysisRun, ns)).items
      .filter((r) => r.metadata?.ownerReferences?.some((o) => o.name === rollout) === true)
      .sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)) || Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion))
      .at(-1);

  it(`${DOWN_S} s without Prometheus: measurements Error, no promotion on missing data, the strict metric aborts, the tolerant one resumes`, async () => {
    const metric = (limit: number): object => ({ name: 'up', interval: '1s', count: 3, failureLimit: 0, consecutiveErrorLimit: limit, successCondition: 'result[0] >= 1', provider: { prometheus: { address: gate.url, query: 'vector(1)' } } });
    await apply(kubectl, ns, [
      { apiVersion: 'sluice.dev/v1alpha1', kind: 'AnalysisTemplate', metadata: { name: 'tolerant' }, spec: { metrics: [metric(10_000)] } },
      { apiVersion: 'sluice.dev/v1alpha1', kind: 'AnalysisTemplate', metadata: { name: 'strict' }, spec: { metrics: [metric(2)] } },
    ]);
    await apply(kubectl, ns, [...canary('tolerant', 1, steps('tolerant')), ...canary('strict', 1, steps('strict'))]);
    op = await startOperator(kubeconfigPath(), `chaos-prometheus-${ns}`, [`--namespace=${ns}`, '--log-level=warn']);
    const exits: (number | null)[] = [];
    void op.exited.then((c) => exits.push(c));
    for (const name of ['tolerant', 'strict']) await waitFor(`${name} Healthy at v1`, async () => promoted(await getRollout(client, ns, name)), 120_000, 250);

    const observation = observe(client, ns);
    try {
      await gate.shut();
      const downAt = Date.now();
      say(`Prometheus shut for ${DOWN_S} s`);
      await apply(kubectl, ns, [canary('tolerant', 2, steps('tolerant'))[3]!, canary('strict', 2, steps('strict'))[3]!]);

      // While it is down: the tolerant canary never gets past its analysis step, and its run only errs.
      let maxTolerantErrors = 0;
      while (Date.now() - downAt < DOWN_S * 1000) {
        const r = await getRollout(client, ns, 'tolerant');
        expect(promoted(r) && r.metadata?.generation !== 1).toBe(false);
        expect(await canaryWeight(client, ns, 'tolerant')).toBeLessThanOrEqual(20);
        const m = (await runOf('tolerant'))?.status?.metricResults?.[0];
        expect(m?.successful ?? 0).toBe(0);
        maxTolerantErrors = Math.max(maxTolerantErrors, m?.error ?? 0);
        await sleep(250);
      }
      // The strict metric erred more than its consecutiveErrorLimit: run Error, canary aborted, weight back to 0.
      const strictRun = await runOf('strict');
      expect(strictRun?.status?.phase).toBe('Error');
      expect(strictRun?.status?.metricResults?.[0]?.message).toMatch(/consecutive errors, more than consecutiveErrorLimit 2/);
      await waitFor('strict aborted', async () => (await getRollout(client, ns, 'strict')).status?.abort === true, 30_000, 250);
      expect(maxTolerantErrors).toBeGreaterThan(2);
      const tolerantRun = await runOf('tolerant');
      expect(tolerantRun?.status?.phase).toBe('Running');

      await gate.reopen();
      const backAt = Date.now();
      say('Prometheus open again');
      await waitFor('a successful measurement after the return', async () => ((await runOf('tolerant'))?.status?.metricResults?.[0]?.successful ?? 0) > 0, 60_000, 100);
      const resumeS = (Date.now() - backAt) / 1000;
      await waitFor('tolerant promoted', async () => promoted(await getRollout(client, ns, 'tolerant')), 60_000, 100);
      const promotedS = (Date.now() - backAt) / 1000;
      const finalRun = await runOf('tolerant');
      say(`resume ${resumeS.toFixed(2)} s after the return; promoted ${promotedS.toFixed(2)} s after; ${maxTolerantErrors} Error measurements while down`);

      const strict = await getRollout(client, ns, 'strict');
      expect({ abort: strict.status?.abort, phase: strict.status?.phase, keptStable: strict.status?.stableRS !== strict.status?.currentPodHash, weight: await canaryWeight(client, ns, 'strict') }).toEqual({ abort: true, phase: 'Degraded', keptStable: true, weight: 0 });
      expect(finalRun?.status?.phase).toBe('Successful');
      expect(await canaryWeight(client, ns, 'tolerant')).toBe(0);

      await sleep(1000);
      await observation.stop();
      const { violations, histories } = observation.checker.check();
      const problems = stepHistoryProblems(histories, (name) => (name === 'tolerant' || name === 'strict' ? (steps(name)) : undefined));
      expect({ violations, problems, exits }).toEqual({ violations: [], problems: [], exits: [] });
      expect(histories.map((h) => [h.rollout, h.outcome]).sort()).toEqual([
        ['strict', 'aborted'],
        ['tolerant', 'promoted'],
      ]);
      writeOutage('outage-prometheus.json', { name: `Prometheus stopped ${DOWN_S} s`, downS: DOWN_S, resumeS, details: { promotedS, errorMeasurementsWhileDown: maxTolerantErrors, strictRun: strictRun?.status?.metricResults?.[0]?.message } });
    } finally {
      await observation.stop();
    }
  }, 10 * 60_000);
});
