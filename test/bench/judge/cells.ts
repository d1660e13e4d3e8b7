// The benchmark grid (issue 14) and what each cell means for the judge.
import { baseModel, bucketProbabilities, judgedEdge, regressedModel, type LatencyShape } from './latency.ts';

export type Metric = 'errors' | 'latency-uniform' | 'latency-tail';
export interface Cell {
  rps: number;
  share: number;
  /** stable's 5xx rate (and the canary's, unless the cell regresses errors) */
  baseline: number;
  /** errors: canary 5xx rate = baseline × regression; latency: canary p99 = stable p99 × regression */
  regression: number;
  metric: Metric;
}

export const RPS = [10, 100, 1000] as const;
export const SHARES = [0.05, 0.2] as const;
export const BASELINES = [0.001, 0.005, 0.01] as const;
export const ERROR_REGRESSIONS = [1, 1.5, 2, 4, 10, 100] as const;
export const LATENCY_REGRESSIONS = [1.5, 2] as const;
/** Latency cells run at this error baseline (healthy errors on both revisions). */
export const LATENCY_CELL_BASELINE = 0.005;

export function fullGrid(): Cell[] {
  const cells: Cell[] = [];
  for (const rps of RPS) {
    for (const share of SHARES) {
      for (const baseline of BASELINES) for (const regression of ERROR_REGRESSIONS) cells.push({ rps, share, baseline, regression, metric: 'errors' });
      for (const shape of ['uniform', 'tail'] as const) {
        for (const regression of LATENCY_REGRESSIONS) cells.push({ rps, share, baseline: LATENCY_CELL_BASELINE, regression, metric: `latency-${shape}` });
      }
    }
  }
  return cells;
}

/** A smaller grid for --quick: the corners. */
export function quickGrid(): Cell[] {
  return fullGrid().filter((c) => c.rps !== 100 && c.baseline !== 0.005 && [1, 2, 10].includes(c.regression)).concat(
    fullGrid().filter((c) => c.rps === 100 && c.share === 0.2 && (c.metric !== 'errors' || (c.baseline === 0.005 && [1, 4, 10].includes(c.regression)))),
  );
}

export const isAA = (c: Cell) => c.metric === 'errors' && c.regression === 1;

export interface ArmModel {
  /** 5xx probability per request */
  errorRate: number;
  /** latency bucket probabilities (BUCKETS_MS plus +Inf) */
  buckets: number[];
}

export function armModels(c: Cell): { canary: ArmModel; stable: ArmModel } {
  const base = bucketProbabilities(baseModel());
  const stable = { errorRate: c.baseline, buckets: base };
  if (c.metric === 'errors') return { stable, canary: { errorRate: Math.min(1, c.baseline * c.regression), buckets: base } };
  const shape: LatencyShape = c.metric === 'latency-uniform' ? 'uniform' : 'tail';
  return { stable, canary: { errorRate: c.baseline, buckets: bucketProbabilities(regressedModel(c.regression, shape)) } };
}

/** P(latency above the judged edge) for an arm. */
export const slowRate = (a: ArmModel) => a.buckets.slice(judgedEdge().index + 1).reduce((x, y) => x + y, 0);

/** The bad-event rates of both judged metrics, per arm: [errors, latency]. */
export function metricRates(c: Cell): { canary: [number, number]; stable: [number, number] } {
  const m = armModels(c);
  return { canary: [m.canary.errorRate, slowRate(m.canary)], stable: [m.stable.errorRate, slowRate(m.stable)] };
}

/** The canary/stable ratio the judge actually tests in this cell (of the regressing metric). */
export function testedRatio(c: Cell): number {
  const r = metricRates(c);
  const i = c.metric === 'errors' ? 0 : 1;
  return r.canary[i] / r.stable[i];
}

export const cellName = (c: Cell) =>
  `${c.rps} rps, ${Math.round(c.share * 100)}% canary, ${c.metric === 'errors' ? `5xx ${(c.baseline * 100).toFixed(1)}% ×${c.regression}${c.regression === 1 ? ' (A/A)' : ''}` : `p99 ×${c.regression} ${c.metric === 'latency-tail' ? 'tail-only' : 'uniform'} (5xx ${(c.baseline * 100).toFixed(1)}%)`}`;
