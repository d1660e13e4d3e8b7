// What the evidence says now: abort, pass or continue, with everything a person needs to read it (evidence as a
// fraction of its threshold, an anytime-valid interval for the ratio, the realized share, the exposure still needed).
import type { BatchCounts } from './counters.ts';
import type { Evidence } from './evidence.ts';
import { logMeanExp } from './logmath.ts';
import { csGrid, type JudgeSettings } from './settings.ts';
import { bernoulliLogLR, SRM_BAND, SRM_MULTIPLIERS } from './srm.ts';

export interface Gauge {
  /** E, the e-process now */
  evidence: number;
  threshold: number;
  /** ln E / ln threshold, clamped to [0, 1] */
  progress: number;
  /** ln E now, and its running maximum (what the decision uses: Ville bounds the supremum) */
  logEvidence: number;
  logPeak: number;
}

export interface Assessment {
  state: 'abort' | 'pass' | 'continue';
  abort: Gauge;
  pass: Gauge;
  /** point estimate (ratio of the cumulative rates) and a (1 − α/M) confidence sequence, widened to grid steps */
  ratio: { estimate: number; lower: number; upper: number };
  share: { realized: number; configured?: number; mismatch: boolean };
  needed?: { canaryRequests: number; reason: string };
  totals: BatchCounts;
}

/** Offsets (in grid steps) of the alternatives each confidence-sequence point is tested against, both sides. */
const CS_OFFSETS = [1, 2, 3, 5, 8, 12, 18].flatMap((j) => [j, -j]);

function gauge(logNow: number, logPeak: number, threshold: number): Gauge {
  const progress = Math.min(1, Math.max(0, logNow / Math.log(threshold)));
  return { evidence: Math.exp(logNow), threshold, progress, logEvidence: logNow, logPeak };
}

/**
 * The confidence sequence for the canary/stable ratio: the grid ratios r whose own two-sided e-process (a mixture
 * of likelihood ratios against neighbouring grid ratios, from the stored log-likelihoods) is still below M/α.
 * The bounds step out to the next excluded grid point, since the true ratio may lie between grid points.
 */
export function ratioInterval(logLik: readonly number[], logThreshold: number): { lower: number; upper: number } {
  const grid = csGrid();
  const K = logLik.length;
  const xs: number[] = [];
  const kept = (k: number) => {
    const lk = logLik[k] ?? 0;
    xs.length = 0;
    let max = -Infinity;
    for (const j of CS_OFFSETS) {
      if (k + j < 0 || k + j >= K) continue;
      const d = (logLik[k + j] ?? 0) - lk;
      xs.push(d);
      if (d > max) max = d;
    }
    // max − ln(count) <= ln E <= max: decide without exponentials when the bound already does.
    if (max < logThreshold) return true;
    if (max - Math.log(xs.length) >= logThreshold) return false;
    return logMeanExp(xs) < logThreshold;
  };
  let lo = 0;
  while (lo < K && !kept(lo)) lo++;
  let hi = K - 1;
  while (hi > lo && !kept(hi)) hi--;
  return { lower: lo > 0 ? (grid[lo - 1] ?? 0) : 0, upper: hi < K - 1 ? (grid[hi + 1] ?? Infinity) : Infinity };
}

export function ratioEstimate(t: BatchCounts): number {
  if (t.canary.requests === 0 || t.stable.requests === 0) return NaN;
  return t.canary.bad / t.canary.requests / (t.stable.bad / t.stable.requests);
}

const kl = (a: number, b: number) => (a > 0 ? a * Math.log(a / b) : 0) + (a < 1 ? (1 - a) * Math.log((1 - a) / (1 - b)) : 0);

/**
 * The minimum exposure before a pass (reference §6.6, the anytime-valid zero-failure rule): the canary must have
 * served n >= ln(M/β) / −ln(1 − ε) requests, ε = maxRatio × stable's observed bad-event rate — enough that a canary
 * that bad would have shown its bad events — and at least minCanaryRequests. Infinite while stable has none.
 */
export function exposureFloor(t: BatchCounts, s: JudgeSettings): number {
  const extra = s.minCanaryRequests ?? 0;
  if (t.stable.bad === 0 || t.stable.requests === 0) return Infinity;
  const eps = Math.min(s.maxRatio * (t.stable.bad / t.stable.requests), 1 - 1e-9);
  return Math.max(extra, Math.ceil(Math.log(s.gatingMetrics / s.beta) / -Math.log1p(-eps)));
}

function realizedShare(e: Evidence, alpha: number, configured: number | undefined): Assessment['share'] {
  const srm = e.srm;
  if (srm !== undefined && (configured === undefined || configured === srm.configured)) {
    return { realized: srm.requests > 0 ? srm.canary / srm.requests : NaN, configured: srm.configured, mismatch: srm.peak >= Math.log(2 / alpha) };
  }
  if (configured === undefined || !(configured > 0 && configured < 1)) {
    const n = e.totals.canary.requests + e.totals.stable.requests;
    return { realized: n > 0 ? e.totals.canary.requests / n : NaN, ...(configured === undefined ? {} : { configured }), mismatch: false };
  }
  // Not told the weights batch by batch: judge the last batch alone (a valid e-value for that one look).
  const nC = e.last?.canary.requests ?? 0;
  const nS = e.last?.stable.requests ?? 0;
  const o = configured / (1 - configured);
  const qLo = o / SRM_BAND / (1 + o / SRM_BAND);
  const qHi = (o * SRM_BAND) / (1 + o * SRM_BAND);
  const side = (q0: number, f: (c: number) => number) => logMeanExp(SRM_MULTIPLIERS.map((c) => bernoulliLogLR(f(c), q0, nC, nS)));
  const oddsLo = qLo / (1 - qLo);
  const oddsHi = qHi / (1 - qHi);
  const lnE = Math.max(
    side(qLo, (c) => oddsLo / c / (1 + oddsLo / c)),
    side(qHi, (c) => (oddsHi * c) / (1 + oddsHi * c)),
  );
  return { realized: nC + nS > 0 ? nC / (nC + nS) : NaN, configured, mismatch: lnE >= Math.log(2 / alpha) };
}

function needed(e: Evidence, s: JudgeSettings, lnPass: number): NonNullable<Assessment['needed']> {
  const t = e.totals;
  const nC = t.canary.requests;
  const n = nC + t.stable.requests;
  if (nC === 0 || t.stable.requests === 0) {
    return { canaryRequests: Math.max(1, Math.ceil(s.minCanaryRequests ?? 0)), reason: 'no requests on both revisions yet: nothing to compare' };
  }
  const rho = nC / n;
  const stableRate = t.stable.bad / t.stable.requests;
  // Planning rate: stable's observed rate, or (no bad event yet) a half event more than seen, pooled.
  const p = t.stable.bad > 0 ? stableRate : (t.canary.bad + t.stable.bad + 0.5) / (n + 1);
  const floor = exposureFloor(t.stable.bad > 0 ? t : { ...t, stable: { requests: t.stable.requests, bad: p * t.stable.requests } }, s);
  const thetaMax = (rho * s.maxRatio) / (rho * s.maxRatio + 1 - rho);
  const driftPerCanaryRequest = (p / rho) * kl(rho, thetaMax);
  const remaining = Math.max(0, Math.log(s.gatingMetrics / s.beta) - lnPass);
  const forEvidence = remaining > 0 ? Math.ceil(remaining / driftPerCanaryRequest) : 0;
  const more = Math.max(1, floor - nC, forEvidence);
  const pct = (x: number) => `${(100 * x).toPrecision(2)}%`;
  const why =
    t.stable.bad === 0
      ? `no bad event on stable yet, so "canary at most ${s.maxRatio}x worse" cannot be shown; assuming a rate near ${pct(p)}`
      : forEvidence >= floor - nC
        ? `at stable's bad-event rate ${pct(stableRate)} and a ${pct(rho)} canary share, if the canary is as good as stable`
        : `the minimum exposure: ${floor} canary requests, enough to see the bad events of a canary ${s.maxRatio}x worse than stable's ${pct(stableRate)}`;
  return { canaryRequests: more, reason: `needs ~${more} more canary requests to pass: ${why}` };
}

export function assess(e: Evidence, s: JudgeSettings, configuredShare?: number): Assessment {
  const M = s.gatingMetrics;
  const lnAbort = logMeanExp(e.logAbort);
  const lnPass = logMeanExp(e.logPass);
  const abort = gauge(lnAbort, Math.max(e.peak.abort, lnAbort), M / s.alpha);
  const pass = gauge(lnPass, Math.max(e.peak.pass, lnPass), M / s.beta);
  const aborting = abort.logPeak >= Math.log(abort.threshold);
  const passing = !aborting && pass.logPeak >= Math.log(pass.threshold) && e.totals.canary.requests >= exposureFloor(e.totals, s);
  const state = aborting ? 'abort' : passing ? 'pass' : 'continue';
  const out: Assessment = {
    state,
    abort,
    pass,
    ratio: { estimate: ratioEstimate(e.totals), ...ratioInterval(e.logLik, Math.log(M / s.alpha)) },
    share: realizedShare(e, s.alpha, configuredShare),
    totals: e.totals,
  };
  if (state === 'continue') out.needed = needed(e, s, lnPass);
  return out;
}

/** The verdict over the gating metrics (each assessed with gatingMetrics = M): any abort aborts; all must pass. */
export function combinedState(states: readonly Assessment['state'][]): Assessment['state'] {
  if (states.includes('abort')) return 'abort';
  return states.length > 0 && states.every((s) => s === 'pass') ? 'pass' : 'continue';
}
