// The decision rules compared on the same simulated series: Sluice's judge (the real code), Flagger's default
// analysis, a typical Argo Rollouts AnalysisTemplate, and Wald's SPRT expected time as the floor.
import { addBatch, assess, batchFromSeries, combinedState, initialEvidence, type Assessment, type Evidence, type JudgeSettings } from '../../../src/analysis/judge/index.ts';
import { metricRates, type Cell } from './cells.ts';
import { BUCKETS_MS } from './latency.ts';
import { histogramQuantile, sumRate } from './promql.ts';
import type { Scrape, Simulation } from './sim.ts';

export type Decision = { kind: 'abort' | 'pass'; t: number };
export interface Policy {
  /** Called after every scrape; returns the decision once made (and is not called again). */
  observe(scrape: Scrape, sim: Simulation): Decision | undefined;
}

export const MAX_DURATION_S = 30 * 60;
export const JUDGE_DEFAULTS = { alpha: 0.01, beta: 0.01, maxRatio: 2 } as const;
/** Both metrics gate in every cell (errors and latency, as in Flagger's default analysis): M = 2. */
export const GATING_METRICS = 2;
export const judgeSettings = (over: Partial<JudgeSettings> = {}): JudgeSettings => ({ ...JUDGE_DEFAULTS, gatingMetrics: GATING_METRICS, ...over });

/** Sluice: batchFromSeries → addBatch → assess per metric after every scrape; abort if any aborts, pass when all pass. */
export class SluicePolicy implements Policy {
  private readonly metrics: { prev?: Record<string, number>; e: Evidence; pick: (s: Scrape) => Scrape['errors'] }[];
  private readonly settings: JudgeSettings;
  private readonly share: number;

  constructor(settings: JudgeSettings, share: number) {
    this.settings = settings;
    this.share = share;
    this.metrics = [(s: Scrape) => s.errors, (s: Scrape) => s.latency].map((pick) => ({ e: initialEvidence(settings), pick }));
  }

  observe(scrape: Scrape): Decision | undefined {
    const states: Assessment['state'][] = [];
    for (const m of this.metrics) {
      const { batch, seen } = batchFromSeries(m.prev, m.pick(scrape));
      const first = m.prev === undefined;
      m.prev = seen;
      if (first) continue;
      m.e = addBatch(m.e, batch, this.settings, this.share);
      states.push(assess(m.e, this.settings, this.share).state);
    }
    const state = combinedState(states);
    return state === 'continue' ? undefined : { kind: state, t: scrape.t };
  }
}

/** Analysis ticks of Flagger and Argo fall 5 s after a scrape (a query sees the scrape at the minute mark). */
const TICK_OFFSET_S = 5;
const LE = [...BUCKETS_MS, Infinity];

/** 100 × Σrate(non-5xx) / Σrate(all) over the canary's pods: Flagger's request-success-rate (Argo's × 1/100). */
function successRate(sim: Simulation, at: number, range: number): number | undefined {
  const s = sim.canarySeries();
  const ok = sumRate(s.ok, at, range);
  const bad = sumRate(s.bad, at, range);
  if (ok === undefined && bad === undefined) return undefined;
  return (100 * (ok ?? 0)) / ((ok ?? 0) + (bad ?? 0));
}

/** histogram_quantile(0.99, sum(rate(bucket[range])) by (le)) in ms over the canary's pods. */
function p99(sim: Simulation, at: number, range: number): number | undefined {
  const s = sim.canarySeries();
  const rates = s.buckets.map((series) => sumRate(series, at, range));
  if (rates.every((x) => x === undefined)) return undefined;
  return histogramQuantile(0.99, LE, rates.map((x) => x ?? 0));
}

/**
 * Flagger (v1.44 scheduler): every `interval` (1m) a tick; first, `failedChecks >= threshold` (5) rolls back; then the
 * metric checks (request-success-rate >= 99 over 1m, request-duration p99 <= 500 ms over 30s, the Istio tutorial's);
 * no data or NaN is a failed check. A failed check increments the cumulative failedChecks; a passed one advances the
 * weight by stepWeight 10. The first tick only routes traffic (weight 0 → 10, no checks: our t = 0), so after
 * maxWeight 50 the 5th passing check promotes.
 */
export class FlaggerPolicy implements Policy {
  private failed = 0;
  private passed = 0;
  private nextTick = 60 + TICK_OFFSET_S;
  static readonly threshold = 5;
  static readonly passesToPromote = 5;

  observe(scrape: Scrape, sim: Simulation): Decision | undefined {
    // Ticks between this scrape and the next one.
    while (this.nextTick < scrape.t + 15) {
      const at = this.nextTick;
      if (at < scrape.t) break;
      this.nextTick += 60;
      if (this.failed >= FlaggerPolicy.threshold) return { kind: 'abort', t: at };
      const sr = successRate(sim, at, 60);
      const lat = p99(sim, at, 30);
      const ok = sr !== undefined && !Number.isNaN(sr) && sr >= 99 && lat !== undefined && !Number.isNaN(lat) && lat <= 500;
      if (!ok) this.failed++;
      else if (++this.passed >= FlaggerPolicy.passesToPromote) return { kind: 'pass', t: at };
    }
    return undefined;
  }
}

/**
 * A typical Argo Rollouts template: metrics success-rate (`result[0] >= 0.99`, rate over 1m) and p99 latency
 * (`result[0] <= 0.5` s, over 1m), interval 1m, count 10, failureLimit 3 (the run fails when a metric's failed
 * measurements exceed 3). NaN fails the condition (Failed); an empty result is an Error (consecutiveErrorLimit 4).
 * The first measurement is taken one interval after the canary starts (an initialDelay of 1m, so the window is full).
 */
export class ArgoPolicy implements Policy {
  private readonly failed = [0, 0];
  private readonly errors = [0, 0];
  private measured = 0;
  private nextTick = 60 + TICK_OFFSET_S;
  static readonly failureLimit = 3;
  static readonly consecutiveErrorLimit = 4;
  static readonly count = 10;

  observe(scrape: Scrape, sim: Simulation): Decision | undefined {
    while (this.nextTick < scrape.t + 15 && this.nextTick >= scrape.t) {
      const at = this.nextTick;
      this.nextTick += 60;
      this.measured++;
      const sr = successRate(sim, at, 60);
      const results = [sr === undefined ? undefined : sr / 100, p99(sim, at, 60)];
      const pass = [(v: number) => v >= 0.99, (v: number) => v / 1000 <= 0.5];
      for (let i = 0; i < 2; i++) {
        const v = results[i];
        if (v === undefined) {
          if (++this.errors[i]! > ArgoPolicy.consecutiveErrorLimit) return { kind: 'abort', t: at };
          continue;
        }
        this.errors[i] = 0;
        if (!pass[i]!(v) && ++this.failed[i]! > ArgoPolicy.failureLimit) return { kind: 'abort', t: at };
      }
      if (this.measured >= ArgoPolicy.count) return { kind: 'pass', t: at };
    }
    return undefined;
  }
}

const bernoulliKl = (a: number, b: number) => a * Math.log(a / b) + (1 - a) * Math.log((1 - a) / (1 - b));

/**
 * Wald's SPRT expected time (reference §2.1), on the split of bad events between the arms at the cell's share, at
 * the per-metric budgets α/M and β/M: for a regression, E₁[events] to reject "ratio 1" against the true ratio; for
 * A/A, E₀[events] to reject "ratio maxRatio" (the pass), the slower of the two metrics. Events ÷ bad-event rate.
 */
export function sprtFloorSeconds(c: Cell, s: JudgeSettings = judgeSettings()): number {
  const a = s.alpha / s.gatingMetrics;
  const b = s.beta / s.gatingMetrics;
  const rates = metricRates(c);
  const rho = c.share;
  const theta = (r: number) => (rho * r) / (rho * r + 1 - rho);
  const eventRate = (i: 0 | 1) => c.rps * (rho * rates.canary[i] + (1 - rho) * rates.stable[i]);
  if (c.metric === 'errors' && c.regression === 1) {
    const n0 = ((1 - a) * Math.log((1 - a) / b) + a * Math.log(a / (1 - b))) / bernoulliKl(rho, theta(s.maxRatio));
    return Math.max(n0 / eventRate(0), n0 / eventRate(1));
  }
  const i = c.metric === 'errors' ? 0 : 1;
  const ratio = rates.canary[i] / rates.stable[i];
  const n1 = ((1 - b) * Math.log((1 - b) / a) + b * Math.log(b / (1 - a))) / bernoulliKl(theta(ratio), rho);
  return n1 / eventRate(i);
}
