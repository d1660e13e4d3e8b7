// The judge's settings, their validation (messages name the field) and the fixed grids derived from them.
import { JudgeSettingsError } from './errors.ts';

export interface JudgeSettings {
  /** false-abort budget, in (0, 0.5) */
  alpha: number;
  /** false-promotion budget for regressions >= maxRatio, in (0, 0.5) */
  beta: number;
  /** r_max > 1: a pass rejects "canary at least maxRatio times worse than stable" (default 2 in the API) */
  maxRatio: number;
  /** M >= 1: Bonferroni over the gating metrics (abort at M/alpha, pass at M/beta) */
  gatingMetrics: number;
  /** r_tol >= 1 (default 1): the abort null is ratio <= r_tol */
  tolerance?: number;
  /** an extra minimum exposure floor before a pass (default: none beyond the zero-failure rule) */
  minCanaryRequests?: number;
}

const inOpen = (x: number, lo: number, hi: number) => Number.isFinite(x) && x > lo && x < hi;

export function validateSettings(s: JudgeSettings): string[] {
  const out: string[] = [];
  if (!inOpen(s.alpha, 0, 0.5)) out.push(`alpha must be in (0, 0.5), got ${s.alpha}`);
  if (!inOpen(s.beta, 0, 0.5)) out.push(`beta must be in (0, 0.5), got ${s.beta}`);
  if (!Number.isFinite(s.maxRatio) || s.maxRatio <= 1) out.push(`maxRatio must be a number > 1, got ${s.maxRatio}`);
  if (!Number.isInteger(s.gatingMetrics) || s.gatingMetrics < 1) out.push(`gatingMetrics must be an integer >= 1, got ${s.gatingMetrics}`);
  if (s.tolerance !== undefined) {
    if (!Number.isFinite(s.tolerance) || s.tolerance < 1) out.push(`tolerance must be a number >= 1, got ${s.tolerance}`);
    else if (Number.isFinite(s.maxRatio) && s.tolerance >= s.maxRatio) out.push(`tolerance must be below maxRatio (${s.maxRatio}), got ${s.tolerance}`);
  }
  if (s.minCanaryRequests !== undefined && (!Number.isFinite(s.minCanaryRequests) || s.minCanaryRequests < 0)) {
    out.push(`minCanaryRequests must be a number >= 0, got ${s.minCanaryRequests}`);
  }
  return out;
}

export function assertSettings(s: JudgeSettings): void {
  const problems = validateSettings(s);
  if (problems.length > 0) throw new JudgeSettingsError(problems);
}

/** n points spaced evenly in log between lo and hi (both included). */
export function logGrid(lo: number, hi: number, n: number): number[] {
  const a = Math.log(lo);
  const step = (Math.log(hi) - a) / (n - 1);
  return Array.from({ length: n }, (_, i) => Math.exp(a + i * step));
}

export const ABORT_POINTS = 32;
export const PASS_POINTS = 24;
/** The confidence-sequence grid: ratios 2^(k/3), k = -30..30 (1/1024 .. 1024, steps of ×1.26). */
export const CS_STEPS_PER_DOUBLING = 3;
export const CS_HALF_WIDTH = 30;

export const toleranceOf = (s: JudgeSettings) => s.tolerance ?? 1;

// Grids are pure functions of two settings; memoized (read-only) because the judge runs them every batch.
const memo = new Map<string, readonly number[]>();
function cached(key: string, make: () => number[]): readonly number[] {
  let g = memo.get(key);
  if (g === undefined) {
    if (memo.size > 256) memo.clear();
    g = Object.freeze(make());
    memo.set(key, g);
  }
  return g;
}

/** Alternatives of the abort family: ratios from 1.25 r_tol to 100 r_tol (reference §2.5a). */
export const abortGrid = (s: JudgeSettings) => cached(`a${toleranceOf(s)}`, () => logGrid(1.25 * toleranceOf(s), 100 * toleranceOf(s), ABORT_POINTS));

/**
 * Alternatives of the pass family: ratios from 0.25 (a clearly better canary) to maxRatio^0.7 (strictly below
 * maxRatio; 1.62 for maxRatio 2), so a healthy canary (ratio 1) sits inside the grid.
 */
export const passGrid = (s: JudgeSettings) => cached(`p${s.maxRatio}`, () => logGrid(0.25, Math.pow(s.maxRatio, 0.7), PASS_POINTS));

const CS_GRID: readonly number[] = Object.freeze(
  Array.from({ length: 2 * CS_HALF_WIDTH + 1 }, (_, i) => Math.pow(2, (i - CS_HALF_WIDTH) / CS_STEPS_PER_DOUBLING)),
);
export const csGrid = (): readonly number[] => CS_GRID;
