// The memory soak on the real control plane and a real Prometheus. `npm test` runs a one-minute version that proves the
// machinery (RSS sampled from /proc, revisions of both outcomes, the observer replaying as it goes, no violation); a
// slope over one minute means nothing, so none is asserted or reported as a figure. `npm run chaos -- --soak` sets
// SLUICE_SOAK_MINUTES (120 by default) and samples every minute; the slope is a figure, never an assertion.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl } from '../../support/cluster.ts';
import { installAllCrds } from '../../support/rollouts.ts';
import { testClient } from '../../support/operator.ts';
import { PrometheusServer } from '../../prometheus/harness.ts';
import { startGitServer, type GitServer } from '../../support/git-server.ts';
import { runSoak } from './soak.ts';

const env = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
const MINUTES = env('SLUICE_SOAK_MINUTES', 1);
const SAMPLE_S = env('SLUICE_SOAK_SAMPLE_S', 10);
const WARMUP_MIN = env('SLUICE_SOAK_WARMUP_MINUTES', 10);
const OUT = process.env.SLUICE_SOAK_OUT ?? join('test-results', 'chaos');
const say = (line: string): void => void process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

describe('chaos: memory soak', () => {
  const { client } = testClient();
  let prometheus: PrometheusServer;
  let git: GitServer;
  let ns: string | undefined;

  beforeAll(async () => {
    [prometheus, git] = await Promise.all([PrometheusServer.start([]), startGitServer(), installAllCrds()]);
  });
  afterAll(async () => {
    await prometheus.stop();
    await git.close();
    if (ns !== undefined) await deleteNamespace(ns);
  });

  it(`one operator process under ${MINUTES} min of continuous canary, blue-green and GitOps work: RSS sampled every ${SAMPLE_S} s, no invariant broken, every Rollout ends as its analysis says`, async () => {
    ns = await createNamespace('chaos-soak');
    mkdirSync(OUT, { recursive: true });
    const r = await runSoak({
      ns,
      client,
      kubeconfig: kubeconfigPath(),
      kubectl,
      prometheusUrl: prometheus.url,
      git,
      minutes: MINUTES,
      sampleEveryS: SAMPLE_S,
      warmupMinutes: WARMUP_MIN,
      healthy: env('SLUICE_CHAOS_HEALTHY', 2),
      failing: env('SLUICE_CHAOS_FAILING', 1),
      blueGreen: env('SLUICE_CHAOS_BLUEGREEN', 1),
      apps: env('SLUICE_CHAOS_APPS', 1),
      samplesFile: join(OUT, 'soak-rss.jsonl'),
      ...(process.env.SLUICE_SOAK_MEMORY_LIMIT_MIB !== undefined ? { memoryLimitMiB: env('SLUICE_SOAK_MEMORY_LIMIT_MIB', 0) } : {}),
      say,
    });
    writeFileSync(join(OUT, 'soak.json'), JSON.stringify(r, null, 2));
    say(`soak: ${r.samples.length} samples, RSS ${JSON.stringify(r.rssMiB)} MiB, slope ${r.soakSlopeMiBPerHour ?? 'n/a'} MiB/h (heap used ${r.heapUsedSlopeMiBPerHour ?? 'n/a'} MiB/h) over ${r.slopeSamples} samples after ${r.warmupMinutes} min, violations ${r.violations.length}, step problems ${r.stepProblems.length}, wrong end states ${r.wrongEndStates.length}, revisions ${JSON.stringify(r.revisions)}, AnalysisRuns ${JSON.stringify(r.analysisRuns)}, Event objects ${JSON.stringify(r.eventObjects)}, gitops ${JSON.stringify(r.gitops)}, events ${r.observedEvents}`);
    expect({ operatorExit: r.operatorExit, violations: r.violations, stepProblems: r.stepProblems, wrongEndStates: r.wrongEndStates }).toEqual({ operatorExit: null, violations: [], stepProblems: [], wrongEndStates: [] });
    // The sampler worked: one sample per period from the start to the end, each a real resident set.
    expect(r.samples.length).toBe(Math.floor((MINUTES * 60) / SAMPLE_S) + 1);
    expect(r.samples.every((s) => s.rssMiB > 10)).toBe(true);
    expect(r.samples.every((s) => s.heapUsedMiB !== undefined && s.heapUsedMiB > 1 && s.heapUsedMiB < s.rssMiB)).toBe(true);
    // The soak was busy: revisions of both outcomes, Git revisions and drifts, and the observer replayed what it saw.
    expect(r.revisions.promoted).toBeGreaterThan(0);
    expect(r.revisions.aborted).toBeGreaterThan(0);
    expect(r.gitops.revisions).toBeGreaterThan(0);
    expect(r.observedEvents).toBeGreaterThan(0);
    // Found by the soak: every revision left its AnalysisRuns behind for good (about 1,000 after 12 minutes, and the
    // operator's cache of them grew). Now a Rollout keeps at most 5 successful and 5 unsuccessful finished runs of past
    // revisions (Argo's defaults), plus the current revision's and a superseded one still ending.
    expect(r.analysisRuns.maxPerRollout).toBeLessThanOrEqual(5 + 5 + 3);
  }, (MINUTES + 10) * 60_000);
});
