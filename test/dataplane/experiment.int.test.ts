// A baseline-versus-canary experiment on the real data plane: a Rollout's experiment step runs a fresh baseline
// (the stable spec) and a canary template beside the rollout, Sluice routes each a share of the HTTPRoute through
// a real Traefik, and the sequential judge (an AnalysisTemplate with the judge provider) compares the two templates'
// Services on Traefik's metrics scraped by a real Prometheus. Shares are counted by the apps' own processes. The
// templates' Services opt in to the kube-proxy emulator here (it serves only labelled Services; see kubeproxy.ts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../../src/kube/client.ts';
import { R } from '../../src/kube/resource.ts';
import { EXPERIMENT_LABEL } from '../../src/experiment/resources.ts';
import { HTTP_ROUTE } from '../../src/rollout/traffic/gatewayapi.ts';
import { kubectl, waitFor } from '../support/cluster.ts';
import { PrometheusServer } from '../prometheus/harness.ts';
import { PROXY_LABEL } from './kubeproxy.ts';
import { startTestbed, type Testbed } from './testbed.ts';
import { canaryRouting, deployV1, gateway, load, routedApp, steadyLoad } from './traffic.ts';

type RouteObj = KubeObject & { spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] } };
type ExperimentObj = KubeObject & { status?: { phase?: string; templateStatuses?: { name: string; podTemplateHash?: string; serviceName?: string }[] } };

const APP = 'exp';
const REQUESTS = 2000;
const log = (line: string): void => void process.stderr.write(`[experiment data plane] ${line}\n`);

describe('a baseline-vs-canary experiment through a real Traefik, judged on its metrics', () => {
  let bed: Testbed;
  let prometheus: PrometheusServer;
  let optIn: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    bed = await startTestbed('experiment');
    await gateway(bed);
    await canaryRouting(bed, APP, [{ path: { type: 'PathPrefix', value: `/${APP}` } }]);
    prometheus = await PrometheusServer.start([`127.0.0.1:${bed.traefik.metricsPort}`]);
    // The judge, as a user writes it in a template: canary template against baseline template, by their Services.
    await bed.h.apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name: 'baseline-judge' },
      spec: {
        args: [{ name: 'canary' }, { name: 'baseline' }],
        metrics: [{
          name: 'success-rate',
          // The first look (the judge's zero) after the data plane has taken the templates' new Services in: in
          // their first milliseconds on the route, Traefik can reach a Service before the (emulated) kube-proxy does.
          initialDelay: '3s',
          interval: '2s',
          failureLimit: 0,
          inconclusiveLimit: 0,
          provider: { judge: { address: prometheus.url, router: 'traefik', namespace: bed.ns, canary: '{{args.canary}}', stable: '{{args.baseline}}', signal: 'errors', alpha: 0.01, beta: 0.01, maxRatio: 2, tests: 2, maxDuration: '2m', onInconclusive: 'abort', guardMaxBadRate: 0.1, completeOnPass: true } },
        }],
      },
    });
    // Opt the templates' Services in to the kube-proxy emulator as soon as they exist (kube-proxy serves every one).
    optIn = setInterval(() => void labelExperimentServices(), 300);
  }, 120_000);

  afterAll(async () => {
    clearInterval(optIn);
    await prometheus?.stop();
    await bed?.stop();
    await kubectl(['delete', 'gatewayclass', `traefik-${bed?.ns ?? ''}`, '--ignore-not-found']);
    expect({ runner: bed?.runner.errors ?? [], proxy: bed?.proxy.errors ?? [] }).toEqual({ runner: [], proxy: [] });
  });

  async function labelExperimentServices(): Promise<void> {
    const svcs = await bed.op.client.list<KubeObject>(R.service, bed.ns, { labelSelector: EXPERIMENT_LABEL }).catch(() => ({ items: [] as KubeObject[] }));
    for (const s of svcs.items) {
      if (s.metadata?.labels?.[PROXY_LABEL] !== undefined || s.metadata?.name === undefined) continue;
      await bed.op.client.mergePatch(R.service, bed.ns, s.metadata.name, { metadata: { labels: { [PROXY_LABEL]: 'true' } } }).catch(() => undefined);
    }
  }

  const weights = async (): Promise<Record<string, number>> =>
    Object.fromEntries(((await bed.op.client.get<RouteObj>(HTTP_ROUTE, bed.ns, APP)).spec?.rules?.[0]?.backendRefs ?? []).map((b) => [b.name, b.weight ?? 1]));

  const steps = (duration: string): object[] => [
    { setWeight: 20 },
    {
      experiment: {
        duration,
        templates: [{ name: 'baseline', specRef: 'stable', weight: 25 }, { name: 'canary', specRef: 'canary', weight: 25 }],
        analyses: [{ name: 'compare', templateName: 'baseline-judge', args: [{ name: 'canary', value: '{{templates.canary.serviceName}}' }, { name: 'baseline', value: '{{templates.baseline.serviceName}}' }] }],
      },
    },
    { pause: { duration: '1s' } },
  ];
  // The templates' Services take the containers' ports: the app declares its port.
  const manifest = (v: string, errorRate: string, duration: string): object => routedApp(APP, v, steps(duration), errorRate, { ports: [{ name: 'http', containerPort: 8080 }] });

  it('routes equal shares to the baseline and canary templates\' processes, and the judge passes a healthy canary and aborts one at 20 % 500s', async () => {
    await deployV1(bed, APP, manifest('v1', '0', '30s'));
    const v1 = (await bed.h.rollout(APP)).status?.stableRS ?? '';
    const background = steadyLoad(bed, `/${APP}`);
    try {
      await bed.h.apply(manifest('v2', '0', '30s'));
      let exp = '';
      // Each template joins the route once its own endpoints are ready: wait for both.
      await waitFor('both experiment templates on the route', async () => {
        const hash = (await bed.h.rollout(APP)).status?.currentPodHash ?? '';
        exp = `${APP}-${hash}-1`;
        const w = await weights();
        return w[`${exp}-canary`] === 25 && w[`${exp}-baseline`] === 25;
      }, 90_000);
      const routedAt = Date.now();
      const v2 = (await bed.h.rollout(APP)).status?.currentPodHash ?? '';
      expect(await weights()).toEqual({ [`${APP}-stable`]: 30, [`${APP}-canary`]: 20, [`${exp}-baseline`]: 25, [`${exp}-canary`]: 25 });
      const templates = (await bed.op.client.get<ExperimentObj>(R.experiment, bed.ns, exp)).status?.templateStatuses ?? [];
      const hashOf = (name: string): string => templates.find((t) => t.name === name)?.podTemplateHash ?? '';
      // Every backend answers before the split is measured (Traefik loaded the route, the emulator the Services).
      await waitFor('all four backends answering', async () => {
        const { byHash } = await load(bed, 200, `/${APP}`);
        return [v1, v2, hashOf('baseline'), hashOf('canary')].every((h) => (byHash.get(h) ?? 0) > 0);
      }, 60_000);
      const { codes, byHash } = await load(bed, REQUESTS, `/${APP}`);
      const total = [...byHash.values()].reduce((a, b) => a + b, 0);
      const pct = (h: string): number => (100 * (byHash.get(h) ?? 0)) / total;
      const shares = { stable: pct(v1), canary: pct(v2), baseline: pct(hashOf('baseline')), canaryTemplate: pct(hashOf('canary')) };
      log(`split of ${REQUESTS} requests by the processes' own counts: ${JSON.stringify(shares)}; codes ${JSON.stringify(Object.fromEntries(codes))}`);
      expect(Object.fromEntries(codes)).toEqual({ 200: REQUESTS });
      expect(Math.abs(shares.stable - 30)).toBeLessThanOrEqual(5);
      expect(Math.abs(shares.canary - 20)).toBeLessThanOrEqual(5);
      expect(Math.abs(shares.baseline - 25)).toBeLessThanOrEqual(5);
      expect(Math.abs(shares.canaryTemplate - 25)).toBeLessThanOrEqual(5);

      // The judge compared the two templates and passed; the step passes at the end of its duration, promoted.
      await waitFor('v2 promoted', async () => (await bed.h.rollout(APP)).status?.stableRS === v2, 120_000);
      const run = (await kubectl(['get', 'analysisruns.sluice.dev', `${exp}-compare`, '-n', bed.ns, '-o', 'jsonpath={.status.phase} {.status.metricResults[0].measurements[-1:].metadata.summary}'])).stdout;
      log(`healthy: ${run}`);
      const times = (await kubectl(['get', 'analysisruns.sluice.dev', `${exp}-compare`, '-n', bed.ns, '-o', 'jsonpath={.metadata.creationTimestamp} {.status.startedAt} {range .status.metricResults[0].measurements[*]}{.startedAt}/{.phase} {end}'])).stdout;
      const avail = (await kubectl(['get', 'experiments.sluice.dev', exp, '-n', bed.ns, '-o', 'jsonpath={.status.availableAt} {.status.conditions}'])).stdout;
      log(`healthy run times: ${times}; experiment: ${avail}; route seen at ${new Date(routedAt).toISOString()}`);
      // The judge saw both templates' traffic and never failed the healthy canary. It usually passes it within the
      // 30 s (no bad event on either side); a few 502s from the emulated data plane on one side only can leave it
      // undecided at the duration's end (Inconclusive), which the step treats as its duration says: passed.
      const [phase, summaryJson] = [run.slice(0, run.indexOf(' ')), run.slice(run.indexOf(' ') + 1)];
      expect(['Successful', 'Inconclusive']).toContain(phase);
      const summary = JSON.parse(summaryJson) as { state?: string; totals?: { canary: { requests: number }; stable: { requests: number } } };
      expect(summary.state).not.toBe('abort');
      expect(summary.totals?.canary.requests).toBeGreaterThan(100);
      expect(summary.totals?.stable.requests).toBeGreaterThan(100);
      expect(Object.keys(await weights()).filter((k) => k.startsWith(exp))).toEqual([]);

      // A canary answering 20 % 500s against a healthy baseline: the judge fails it, the rollout aborts.
      const started = Date.now();
      await bed.h.apply(manifest('v3', '0.2', '2m'));
      await waitFor('v3 aborted by the judge of its experiment', async () => (await bed.h.rollout(APP)).status?.abort === true, 120_000);
      const v3 = (await bed.h.rollout(APP)).status?.currentPodHash ?? '';
      const failed = (await kubectl(['get', 'analysisruns.sluice.dev', `${APP}-${v3}-1-compare`, '-n', bed.ns, '-o', 'jsonpath={.status.phase} {.status.metricResults[0].measurements[-1:].metadata.summary}'])).stdout;
      log(`erroring canary aborted in ${Date.now() - started} ms: ${failed}`);
      expect(failed.startsWith('Failed ')).toBe(true);
      const after = await weights();
      expect(Object.entries(after).filter(([k, w]) => k !== `${APP}-stable` && w > 0)).toEqual([]);
    } finally {
      const { sent, codes } = await background.stop();
      log(`/${APP}: ${sent} requests under steady load, codes ${JSON.stringify(codes)}`);
      const refused = bed.proxy.connections.filter((c) => c.podIP === undefined);
      log(`kube-proxy emulator: ${bed.proxy.connections.length} connections, refused (no Ready endpoint): ${JSON.stringify(refused.map((c) => `${new Date(c.at).toISOString()} ${c.service}`))}`);
    }
  }, 420_000);
});
