// `npm run demo` as a test: the same stack and scenario code (scripts/demo/), on the test run's control plane, with
// the demo's default data plane: a real Traefik (Gateway API) routing a load generator's HTTP requests to the app's
// processes (one per Ready pod, started by the pod runner), a real Prometheus scraping Traefik, a real Git server,
// the operator as a process. Each stage is asserted: the good release is promoted through a passing analysis on
// Traefik's metrics, the bad one is aborted by its failed analysis with no one touching the Rollout, and `git revert`
// brings the stable revision back without walking the steps; at every canary weight Sluice wrote, the share the
// canary's processes answered (their own counts) and Traefik's metrics are within 5 points of it. The operator runs as the Helm chart's ServiceAccount,
// with the RBAC `helm template` renders from examples/demo/sluice-values.yaml: the values the README tells people to
// install with are enough for this flow.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ROLLOUT_FIELD_MANAGER } from '../../src/rollout/controller.ts';
import { runScenario, summary, type ScenarioReport } from '../../scripts/demo/scenario.ts';
import { APP_NAME, startStack, type Stack } from '../../scripts/demo/stack.ts';
import { EXAMPLES } from '../../scripts/demo/repo.ts';
import { TraefikPlane } from '../../scripts/demo/traefik-plane.ts';
import { processShare, traefikShare, type SplitSegment } from '../../scripts/demo/split.ts';
import { ensureTraefik, TRAEFIK_BIN_ENV } from '../dataplane/traefik/traefik.ts';
import { applyDocs, RBAC_KINDS, render, serviceAccountKubeconfig, type Doc } from '../helm/helm.ts';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl } from '../support/cluster.ts';

const LOG_DIR = resolve('test-results', 'demo-e2e');
/** A weight's measurement counts when the processes answered at least this many requests at it (≈ 2 s of load). */
const ENOUGH = 200;

/** Each measured canary weight as [written, measured by the processes, measured by Traefik] (rounded to 0.1). */
const measured = (splits: SplitSegment[]): [number, number, number][] =>
  splits.filter((s) => s.requests >= ENOUGH).map((s) => [s.weight, Math.round(10 * (processShare(s) ?? NaN)) / 10, Math.round(10 * (traefikShare(s) ?? NaN)) / 10]);
const withinFive = (rows: [number, number, number][]): boolean => rows.every(([w, p, t]) => Math.abs(p - w) <= 5 && Math.abs(t - w) <= 5);

describe('npm run demo, as an end-to-end test', () => {
  let appNs: string;
  let ns: string;
  let stack: Stack;
  let rbac: Doc[] = [];
  const output: string[] = [];
  const write = (s: string): void => void output.push(s);

  const timing = (what: string, since: number): void => void process.stderr.write(`[demo e2e] ${what} took ${((Date.now() - since) / 1000).toFixed(1)}s\n`);

  beforeAll(async () => {
    const started = Date.now();
    mkdirSync(LOG_DIR, { recursive: true });
    appNs = await createNamespace('demo-app');
    ns = await createNamespace('demo');
    const values = parse(readFileSync(join(EXAMPLES, 'sluice-values.yaml'), 'utf8')) as object;
    const binDir = process.env[TRAEFIK_BIN_ENV] ?? (await ensureTraefik());
    rbac = (await render(`sluice-${appNs.slice(-6)}`, appNs, values)).filter((d) => RBAC_KINDS.includes(d.kind ?? ''));
    await applyDocs(rbac);
    const sa = rbac.find((d) => d.kind === 'ServiceAccount')?.metadata?.name ?? '';
    stack = await startStack({
      operatorKubeconfig: await serviceAccountKubeconfig(appNs, sa),
      cluster: {
        kubeconfig: kubeconfigPath(),
        kubectl: async (args, input) => {
          const r = await kubectl(args, input);
          if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
          return r.stdout;
        },
      },
      appNamespace: appNs,
      namespace: ns,
      identity: `demo-e2e-${ns}`,
      logDir: resolve(LOG_DIR, 'app-logs'),
      say: (l) => write(`[set-up +${((Date.now() - started) / 1000).toFixed(1)}s] ${l}\n`),
      plane: { kind: 'traefik', binDir },
    });
    timing('set-up (RBAC, Traefik, pod runner, Prometheus, Git, operator)', started);
  }, 180_000);

  afterAll(async () => {
    const started = Date.now();
    writeFileSync(resolve(LOG_DIR, 'output.log'), output.join(''));
    const harnessErrors = stack?.plane instanceof TraefikPlane ? stack.plane.errors : [];
    await stack?.stop();
    for (const d of rbac.filter((x) => x.metadata?.namespace === undefined)) await kubectl(['delete', (d.kind ?? '').toLowerCase(), d.metadata?.name ?? '', '--ignore-not-found']);
    await kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
    await deleteNamespace(appNs);
    timing('tear-down', started);
    expect(harnessErrors).toEqual([]);
  });

  it('promotes a good release, aborts a bad one on its own, and restores stable on git revert', async () => {
    const report: ScenarioReport = await runScenario(stack, { tty: false, write, t0: Date.now() });
    write(summary(report));
    const [good, bad, revert] = report.stages;
    if (good === undefined || bad === undefined || revert === undefined) throw new Error(`the first sync did not complete; see ${LOG_DIR}/output.log`);

    // The first sync: 1.0.0 is stable and serving before any release.
    expect(report.initialSyncSeconds).toBeGreaterThan(0);

    // 1.1.0: walked every step, passed all three measurements of both builtin checks, promoted.
    expect({ outcome: good.outcome, stable: good.stableRS, weight: good.canaryWeightAtEnd, phase: good.phaseAtEnd }).toEqual({ outcome: 'promoted', stable: good.revision, weight: 0, phase: 'Healthy' });
    expect(good.stepsSeen).toContain(2); // the analysis step
    expect(good.stepsSeen.at(-1)).toBe(7);
    expect(good.maxCanaryWeight).toBe(80);
    expect(good.analysis).toHaveLength(1);
    expect(good.analysis[0]?.phase).toBe('Successful');
    for (const m of good.analysis[0]?.metrics ?? []) expect({ name: m.name, phase: m.phase, measurements: m.values.length }).toEqual({ name: m.name, phase: 'Successful', measurements: 2 });
    expect(good.analysis[0]?.metrics.map((m) => m.name).sort()).toEqual(['latency-p99', 'success-rate']);
    expect(good.events.some((e) => e.startsWith('RolloutCompleted'))).toBe(true);

    // 1.2.0 (30% errors): the success-rate check failed on real Prometheus data and Sluice aborted by itself.
    expect({ outcome: bad.outcome, stable: bad.stableRS, weight: bad.canaryWeightAtEnd, phase: bad.phaseAtEnd }).toEqual({ outcome: 'aborted', stable: good.revision, weight: 0, phase: 'Degraded' });
    expect(bad.maxCanaryWeight).toBe(20);
    expect(bad.analysis).toHaveLength(1);
    expect(bad.analysis[0]?.phase).toBe('Failed');
    const rate = bad.analysis[0]?.metrics.find((m) => m.name === 'success-rate');
    expect(rate?.phase).toBe('Failed');
    expect(Number((JSON.parse(rate?.values[0] ?? '[100]') as number[])[0])).toBeLessThan(99);
    expect(bad.events.some((e) => e.startsWith('AnalysisRunFailed'))).toBe(true);
    expect(bad.events.some((e) => e.startsWith('RolloutAborted'))).toBe(true);
    // Nobody but the Rollout controller ever wrote status.abort: the abort was Sluice's own decision.
    expect(bad.abortWriters).toEqual([ROLLOUT_FIELD_MANAGER]);
    expect(bad.clients?.find((t) => t.version === '1.2.0')?.errors).toBeGreaterThan(0);

    // git revert: straight back to 1.1.0 without steps, no new analysis, no canary traffic, only 1.1.0 running.
    expect({ outcome: revert.outcome, revision: revert.revision, stable: revert.stableRS, phase: revert.phaseAtEnd }).toEqual({ outcome: 'restored', revision: good.revision, stable: good.revision, phase: 'Healthy' });
    expect(revert.stepsSeen).toEqual([7]);
    expect(revert.maxCanaryWeight).toBe(0);
    expect(revert.analysis).toEqual([]);
    expect(revert.runningAtEnd).toEqual([`${APP_NAME}-${good.revision}`]);
    expect(report.ok).toBe(true);

    // The split the real data plane produced at each weight Sluice wrote: 20, 50 and 80 for the good release, 20 for
    // the bad one, each measured over enough requests, by the processes' own counts and by Traefik's metrics.
    const goodRows = measured(good.splits);
    const badRows = measured(bad.splits);
    expect(goodRows.map(([w]) => w)).toEqual(expect.arrayContaining([20, 50, 80]));
    expect(badRows.map(([w]) => w)).toContain(20);
    expect({ good: goodRows, bad: badRows, withinFive: withinFive([...goodRows, ...badRows]) }).toEqual({ good: goodRows, bad: badRows, withinFive: true });
    // Every request the load generator sent during the stages was answered by an app process; only the bad release
    // answered errors (no 502/503 from Traefik at a step, at promotion or at the abort).
    for (const s of report.stages) expect({ stage: s.name, unanswered: s.clients?.find((c) => c.version === '')?.requests ?? 0 }).toEqual({ stage: s.name, unanswered: 0 });
    for (const s of [good, revert]) expect({ stage: s.name, errors: (s.clients ?? []).reduce((n, c) => n + c.errors, 0) }).toEqual({ stage: s.name, errors: 0 });

    // Prometheus really scraped Traefik's series for the stable and the canary Service.
    const res = await stack.prometheus.query(`count by (service) (traefik_service_requests_total{service=~"${ns}-demo-(stable|canary)-http-.*"})`);
    expect(res.result).toHaveLength(2);
  }, 600_000);
});
