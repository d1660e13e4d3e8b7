// Runs cells of the grid: every run feeds the same simulated series to every policy, then the outcomes are summarized
// into the rows of test-results/bench/judge.json.
import { isAA, testedRatio, type Cell } from './cells.ts';
import { ArgoPolicy, FlaggerPolicy, judgeSettings, MAX_DURATION_S, SluicePolicy, sprtFloorSeconds, type Decision, type Policy } from './policies.ts';
import { mix, rng } from './random.ts';
import { SCRAPE_S, Simulation } from './sim.ts';
import type { JudgeSettings } from '../../../src/analysis/judge/index.ts';

export type PolicyName = 'sluice' | 'flagger' | 'argo' | 'sprt';
export const SIMULATED: readonly PolicyName[] = ['sluice', 'flagger', 'argo'];

export interface Row {
  cell: Cell;
  policy: PolicyName;
  /** A/A cells: the share of runs aborted; null elsewhere */
  falseAbortRate: number | null;
  /** regression cells: the share of runs promoted; null for A/A */
  falsePromotionRate: number | null;
  /** over all runs, a run without a decision by maxDuration counting as later than any (null if the quantile is one) */
  medianDecideS: number | null;
  p90DecideS: number | null;
  runs: number;
  abortRate: number | null;
  passRate: number | null;
  /** median time over the runs that aborted */
  medianAbortS: number | null;
  /** the canary/stable ratio of the regressing metric's bad-event rates (latency: above the judged bucket edge) */
  testedRatio: number;
}

export type Outcome = Decision | { kind: 'none' };

type Simulated = 'sluice' | 'flagger' | 'argo';
const ALL: readonly Simulated[] = ['sluice', 'flagger', 'argo'];

/** One run; `only` limits the policies simulated (the others report no decision). */
export function runOnce(cell: Cell, seed: number, settings: JudgeSettings = judgeSettings(), only: readonly Simulated[] = ALL): Record<Simulated, Outcome> {
  const sim = new Simulation(cell, rng(seed));
  const policies: Record<'sluice' | 'flagger' | 'argo', Policy> = {
    sluice: new SluicePolicy(settings, cell.share),
    flagger: new FlaggerPolicy(),
    argo: new ArgoPolicy(),
  };
  const out: Record<string, Outcome> = {};
  const first = sim.look(0);
  policies.sluice.observe(first, sim); // the baseline look
  for (let t = SCRAPE_S; t <= MAX_DURATION_S && Object.keys(out).length < only.length; t += SCRAPE_S) {
    const scrape = sim.step();
    for (const name of only) {
      if (out[name] !== undefined) continue;
      const d = policies[name].observe(scrape, sim);
      if (d !== undefined) out[name] = d;
    }
  }
  return { sluice: out.sluice ?? { kind: 'none' }, flagger: out.flagger ?? { kind: 'none' }, argo: out.argo ?? { kind: 'none' } };
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const v = sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return v === undefined || !Number.isFinite(v) ? null : v;
}

export function summarize(cell: Cell, policy: PolicyName, outcomes: readonly Outcome[]): Row {
  const n = outcomes.length;
  const aborts = outcomes.filter((o) => o.kind === 'abort').length;
  const passes = outcomes.filter((o) => o.kind === 'pass').length;
  const times = outcomes.map((o) => (o.kind === 'none' ? Infinity : o.t)).sort((a, b) => a - b);
  const abortTimes = outcomes.flatMap((o) => (o.kind === 'abort' ? [o.t] : [])).sort((a, b) => a - b);
  const aa = isAA(cell);
  return {
    cell,
    policy,
    falseAbortRate: aa ? aborts / n : null,
    falsePromotionRate: aa ? null : passes / n,
    medianDecideS: quantile(times, 0.5),
    p90DecideS: quantile(times, 0.9),
    runs: n,
    abortRate: aborts / n,
    passRate: passes / n,
    medianAbortS: quantile(abortTimes, 0.5),
    testedRatio: testedRatio(cell),
  };
}

export function sprtRow(cell: Cell, settings: JudgeSettings = judgeSettings()): Row {
  return {
    cell,
    policy: 'sprt',
    falseAbortRate: null,
    falsePromotionRate: null,
    medianDecideS: sprtFloorSeconds(cell, settings),
    p90DecideS: null,
    runs: 0,
    abortRate: null,
    passRate: null,
    medianAbortS: null,
    testedRatio: testedRatio(cell),
  };
}

/** All runs of one cell; run i uses seed mix(cellSeed, i), so any run can be replayed alone. */
export function runCell(cell: Cell, runs: number, cellSeed: number, settings: JudgeSettings = judgeSettings(), only: readonly Simulated[] = ALL): Row[] {
  const outcomes: Record<'sluice' | 'flagger' | 'argo', Outcome[]> = { sluice: [], flagger: [], argo: [] };
  for (let i = 0; i < runs; i++) {
    const o = runOnce(cell, mix(cellSeed, i), settings, only);
    outcomes.sluice.push(o.sluice);
    outcomes.flagger.push(o.flagger);
    outcomes.argo.push(o.argo);
  }
  return [summarize(cell, 'sluice', outcomes.sluice), summarize(cell, 'flagger', outcomes.flagger), summarize(cell, 'argo', outcomes.argo), sprtRow(cell, settings)];
}
