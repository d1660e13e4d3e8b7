// Sample-ratio mismatch: does the canary receive the share of requests its weight implies? Each request goes to the
// canary with probability q (weighted random routing, as Envoy/Istio and NGINX do per request). The null is
// "q within a factor SRM_BAND in odds of the configured weight w" (a practical band: small, harmless drifts are not
// flagged); two one-sided mixtures of Bernoulli likelihood ratios (alternatives beyond each edge by the odds factors
// in SRM_MULTIPLIERS) are e-processes under it, with the weight of each batch used predictably. Flag at 2/α.
import { logMeanExp } from './logmath.ts';

export const SRM_BAND = 1.5;
export const SRM_MULTIPLIERS = [1.5, 2.5, 5, 10, 30] as const;

export interface SrmEvidence {
  /** the configured share of the current window */
  configured: number;
  /** canary and total requests since the configured share last changed (the realized share shown) */
  canary: number;
  requests: number;
  /** cumulative log likelihood ratios per multiplier: canary gets too little / too much */
  low: number[];
  high: number[];
  /** running maximum of max(ln E_low, ln E_high) */
  peak: number;
}

const odds = (p: number) => p / (1 - p);
const fromOdds = (o: number) => o / (1 + o);

/** ln LR of q1 against q0 for nC canary and nS stable requests. */
export function bernoulliLogLR(q1: number, q0: number, nC: number, nS: number): number {
  return nC * (Math.log(q1) - Math.log(q0)) + nS * (Math.log1p(-q1) - Math.log1p(-q0));
}

/** Per configured share: for each alternative, ln(q1/q0) per canary request and ln((1−q1)/(1−q0)) per stable request. */
interface SrmCoefficients {
  low: { c: number; s: number }[];
  high: { c: number; s: number }[];
}
const coefficientMemo = new Map<number, SrmCoefficients>();
function coefficients(configured: number): SrmCoefficients {
  let k = coefficientMemo.get(configured);
  if (k !== undefined) return k;
  const qLo = fromOdds(odds(configured) / SRM_BAND);
  const qHi = fromOdds(odds(configured) * SRM_BAND);
  const pair = (q1: number, q0: number) => ({ c: Math.log(q1) - Math.log(q0), s: Math.log1p(-q1) - Math.log1p(-q0) });
  k = {
    low: SRM_MULTIPLIERS.map((m) => pair(fromOdds(odds(qLo) / m), qLo)),
    high: SRM_MULTIPLIERS.map((m) => pair(fromOdds(odds(qHi) * m), qHi)),
  };
  if (coefficientMemo.size > 256) coefficientMemo.clear();
  coefficientMemo.set(configured, k);
  return k;
}

export function srmStep(prev: SrmEvidence | undefined, nC: number, nS: number, configured: number | undefined): SrmEvidence | undefined {
  if (configured === undefined || !(configured > 0 && configured < 1)) return prev;
  const k = coefficients(configured);
  const low = k.low.map((x, i) => (prev?.low[i] ?? 0) + nC * x.c + nS * x.s);
  const high = k.high.map((x, i) => (prev?.high[i] ?? 0) + nC * x.c + nS * x.s);
  const same = prev !== undefined && prev.configured === configured;
  return {
    configured,
    canary: (same ? prev.canary : 0) + nC,
    requests: (same ? prev.requests : 0) + nC + nS,
    low,
    high,
    peak: Math.max(prev?.peak ?? 0, logMeanExp(low), logMeanExp(high)),
  };
}
