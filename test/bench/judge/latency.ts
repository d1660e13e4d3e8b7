// The latency model of the benchmark: lognormal (median 50 ms, σ 0.596, so p99 = 200 ms, reference §6.5) over
// Istio/Envoy's default histogram buckets; a regression makes the canary's p99 ×k either by slowing every request
// (uniform) or by a slow tail only.

/** Envoy/Istio default bucket upper bounds, ms (the last bucket is +Inf). */
export const BUCKETS_MS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;
export const BASE_MEDIAN_MS = 50;
export const BASE_SIGMA = 0.596;

function erfc(x: number): number {
  // Numerical Recipes' erfcc: fractional error < 1.2e-7.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
export const normalCdf = (z: number) => 0.5 * erfc(-z / Math.SQRT2);
export const lognormalCdf = (x: number, median: number, sigma: number) => (x <= 0 ? 0 : normalCdf(Math.log(x / median) / sigma));

export type LatencyShape = 'uniform' | 'tail';
export interface LatencyModel {
  cdf: (ms: number) => number;
}

export function baseModel(): LatencyModel {
  return { cdf: (x) => lognormalCdf(x, BASE_MEDIAN_MS, BASE_SIGMA) };
}

/** p99 of the base model (200 ms). */
export const baseP99 = () => BASE_MEDIAN_MS * Math.exp(2.326348 * BASE_SIGMA);

/** A canary whose p99 is k × stable's: everything k× slower, or a fraction f of requests in a slow mode near k·p99. */
export function regressedModel(k: number, shape: LatencyShape): LatencyModel {
  if (k === 1) return baseModel();
  if (shape === 'uniform') return { cdf: (x) => lognormalCdf(x, BASE_MEDIAN_MS * k, BASE_SIGMA) };
  const q = k * baseP99();
  const slowMedian = 1.2 * q;
  const slowSigma = 0.15;
  const baseAbove = 1 - lognormalCdf(q, BASE_MEDIAN_MS, BASE_SIGMA);
  const slowAbove = 1 - lognormalCdf(q, slowMedian, slowSigma);
  const f = (0.01 - baseAbove) / (slowAbove - baseAbove);
  return { cdf: (x) => (1 - f) * lognormalCdf(x, BASE_MEDIAN_MS, BASE_SIGMA) + f * lognormalCdf(x, slowMedian, slowSigma) };
}

/** Probabilities of each bucket (non-cumulative), the last one being (10000 ms, +Inf). */
export function bucketProbabilities(m: LatencyModel): number[] {
  const out: number[] = [];
  let prev = 0;
  for (const b of BUCKETS_MS) {
    const c = m.cdf(b);
    out.push(Math.max(0, c - prev));
    prev = c;
  }
  out.push(Math.max(0, 1 - prev));
  return out;
}

/** The edge the judge tests: the smallest bucket edge at or above stable's p99. */
export function judgedEdge(): { ms: number; index: number } {
  const p99 = baseP99();
  const index = BUCKETS_MS.findIndex((b) => b >= p99);
  return { ms: BUCKETS_MS[index] ?? Infinity, index };
}
