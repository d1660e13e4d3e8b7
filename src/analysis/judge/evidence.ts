// The split e-process (reference §2.5a): per scrape batch, given how many requests each arm served, how do the
// bad events divide between canary and stable? Under "canary no worse than r_tol × stable" the canary's share of the
// bad events is at most θ(r_tol) = ρ·r_tol / (ρ·r_tol + 1 − ρ) with ρ the batch's realized request share, so a
// likelihood ratio against a larger ratio r is an e-value per batch; their product over batches, averaged over a
// log-uniform grid of r, is a test supermartingale (abort at M/α by Ville). The mirrored family tests
// "ratio >= maxRatio" (pass at M/β). Pure, immutable, JSON-serializable.
import type { ArmBatch, BatchCounts } from './counters.ts';
import { CounterError, EvidenceMismatchError } from './errors.ts';
import { abortGrid, assertSettings, csGrid, passGrid, toleranceOf, type JudgeSettings } from './settings.ts';
import { logMeanExp } from './logmath.ts';
import { srmStep, type SrmEvidence } from './srm.ts';

export interface Evidence {
  v: 1;
  /** per abort-grid point, cumulative log likelihood ratio against ratio = tolerance */
  logAbort: number[];
  /** per pass-grid point, cumulative log likelihood ratio against ratio = maxRatio (the mirrored family) */
  logPass: number[];
  /** cumulative counts */
  totals: BatchCounts;
  batches: number;
  /** the last batch added */
  last?: BatchCounts;
  /** per confidence-sequence grid point (csGrid()), the split log-likelihood up to a constant */
  logLik: number[];
  /** running maxima of ln E (Ville bounds the supremum, so a crossing between two assessments still counts) */
  peak: { abort: number; pass: number };
  /** the settings the grids were built from; evidence cannot be continued under others */
  grid: { tolerance: number; maxRatio: number };
  /** sample-ratio-mismatch evidence, when addBatch is told the configured canary share */
  srm?: SrmEvidence;
}

/**
 * ln of the split likelihood ratio of ratio r against r0 for bad events dividing canaryBad : stableBad at request
 * share ρ: canaryBad·ln(θ(r)/θ(r0)) + stableBad·ln((1−θ(r))/(1−θ(r0))), written with log1p so it stays exact for
 * small shares. The per-event form is this with one event; a batch is the sum over its events.
 */
export function splitLogFactor(r: number, r0: number, share: number, canaryBad: number, stableBad: number): number {
  const d = Math.log1p(share * (r - 1)) - Math.log1p(share * (r0 - 1));
  return canaryBad * (Math.log(r) - Math.log(r0)) - (canaryBad + stableBad) * d;
}

/** prev[i] + splitLogFactor(grid[i], r0, ...), in a loop: the judge runs this for every batch of every metric. */
function accumulate(prev: readonly number[], grid: readonly number[], r0: number, rho: number, eC: number, eS: number): number[] {
  const d0 = Math.log1p(rho * (r0 - 1));
  const l0 = Math.log(r0);
  const e = eC + eS;
  const out = new Array<number>(grid.length);
  for (let i = 0; i < grid.length; i++) {
    const r = grid[i] ?? NaN;
    out[i] = (prev[i] ?? 0) + eC * (Math.log(r) - l0) - e * (Math.log1p(rho * (r - 1)) - d0);
  }
  return out;
}

export function initialEvidence(s: JudgeSettings): Evidence {
  assertSettings(s);
  return {
    v: 1,
    logAbort: abortGrid(s).map(() => 0),
    logPass: passGrid(s).map(() => 0),
    totals: { canary: { requests: 0, bad: 0 }, stable: { requests: 0, bad: 0 } },
    batches: 0,
    logLik: csGrid().map(() => 0),
    peak: { abort: 0, pass: 0 },
    grid: { tolerance: toleranceOf(s), maxRatio: s.maxRatio },
  };
}

/** Whether evidence can be continued under these settings (same grids); otherwise start new evidence. */
export function evidenceMatches(e: Evidence, s: JudgeSettings): boolean {
  return (
    e.v === 1 &&
    e.grid.tolerance === toleranceOf(s) &&
    e.grid.maxRatio === s.maxRatio &&
    e.logAbort.length === abortGrid(s).length &&
    e.logPass.length === passGrid(s).length &&
    e.logLik.length === csGrid().length
  );
}

function cleanArm(a: ArmBatch, arm: string): ArmBatch {
  for (const f of ['requests', 'bad'] as const) {
    if (!Number.isFinite(a[f]) || a[f] < 0) throw new CounterError(`batch.${arm}.${f}`, `must be a finite number >= 0, got ${a[f]}`);
  }
  return { requests: a.requests, bad: Math.min(a.bad, a.requests) };
}

const addArm = (x: ArmBatch, y: ArmBatch): ArmBatch => ({ requests: x.requests + y.requests, bad: x.bad + y.bad });

/**
 * The evidence after one more batch. Pure: `e` is not changed. A batch in which either arm served no request says
 * nothing about the split (factor 1); a batch without bad events has factor 1 too. `configuredShare` (the canary
 * weight in force during the batch, in (0, 1)) feeds the sample-ratio-mismatch test.
 */
export function addBatch(e: Evidence, b: BatchCounts, s: JudgeSettings, configuredShare?: number): Evidence {
  assertSettings(s);
  if (!evidenceMatches(e, s)) {
    throw new EvidenceMismatchError(`evidence was built for tolerance ${e.grid.tolerance} and maxRatio ${e.grid.maxRatio}; settings have ${toleranceOf(s)} and ${s.maxRatio}: start new evidence`);
  }
  const canary = cleanArm(b.canary, 'canary');
  const stable = cleanArm(b.stable, 'stable');
  const batch = { canary, stable };
  let { logAbort, logPass, logLik } = e;
  const n = canary.requests + stable.requests;
  if (canary.requests > 0 && stable.requests > 0 && canary.bad + stable.bad > 0) {
    const rho = canary.requests / n;
    logAbort = accumulate(e.logAbort, abortGrid(s), e.grid.tolerance, rho, canary.bad, stable.bad);
    logPass = accumulate(e.logPass, passGrid(s), e.grid.maxRatio, rho, canary.bad, stable.bad);
    logLik = accumulate(e.logLik, csGrid(), 1, rho, canary.bad, stable.bad);
  }
  const next: Evidence = {
    ...e,
    logAbort,
    logPass,
    logLik,
    totals: { canary: addArm(e.totals.canary, canary), stable: addArm(e.totals.stable, stable) },
    batches: e.batches + 1,
    last: batch,
    peak: { abort: Math.max(e.peak.abort, logMeanExp(logAbort)), pass: Math.max(e.peak.pass, logMeanExp(logPass)) },
  };
  const srm = srmStep(e.srm, canary.requests, stable.requests, configuredShare);
  if (srm !== undefined) next.srm = srm;
  return next;
}
