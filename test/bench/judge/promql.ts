// Just enough PromQL to run Flagger's and Argo's queries on the simulated series, following Prometheus' own
// semantics: rate() extrapolation (promql/functions.go extrapolatedRate), counter-reset correction, sum, and
// histogram_quantile's linear interpolation within a bucket.

export interface Sample {
  t: number;
  v: number;
}

/** rate(series[range]) evaluated at `at`: samples in (at − range, at]; undefined with fewer than two samples. */
export function rate(samples: readonly Sample[], at: number, range: number): number | undefined {
  const start = at - range;
  let first: Sample | undefined;
  let last: Sample | undefined;
  let n = 0;
  let result = 0;
  let prev: number | undefined;
  for (const s of samples) {
    if (s.t <= start || s.t > at) continue;
    if (first === undefined) first = s;
    if (prev !== undefined && s.v < prev) result += prev; // a counter reset
    prev = s.v;
    last = s;
    n++;
  }
  if (first === undefined || last === undefined || n < 2) return undefined;
  result += last.v - first.v;
  const sampled = last.t - first.t;
  const avg = sampled / (n - 1);
  let toStart = first.t - start;
  const toEnd = at - last.t;
  if (result > 0 && first.v >= 0) {
    const toZero = sampled * (first.v / result);
    if (toZero < toStart) toStart = toZero;
  }
  const threshold = avg * 1.1;
  let extrapolateTo = sampled;
  extrapolateTo += toStart < threshold ? toStart : avg / 2;
  extrapolateTo += toEnd < threshold ? toEnd : avg / 2;
  return (result * (extrapolateTo / sampled)) / range;
}

/** sum(rate(...)) over series; undefined (an empty vector) when no series has a rate. */
export function sumRate(series: readonly (readonly Sample[])[], at: number, range: number): number | undefined {
  let sum: number | undefined;
  for (const s of series) {
    const r = rate(s, at, range);
    if (r !== undefined) sum = (sum ?? 0) + r;
  }
  return sum;
}

/**
 * histogram_quantile(q, buckets): `buckets` are cumulative counts (or rates) per upper bound, ascending, the last
 * being +Inf. NaN when empty. A quantile in the +Inf bucket returns the second-highest upper bound.
 */
export function histogramQuantile(q: number, upper: readonly number[], cumulative: readonly number[]): number {
  const n = cumulative.length;
  const total = cumulative[n - 1] ?? 0;
  if (n < 2 || !(total > 0)) return NaN;
  // Prometheus fixes small non-monotonic bucket counts (from rate extrapolation) before interpolating.
  const c = [...cumulative];
  for (let i = 1; i < n; i++) c[i] = Math.max(c[i] ?? 0, c[i - 1] ?? 0);
  const rank = q * total;
  let b = c.findIndex((x) => x >= rank);
  if (b < 0) b = n - 1;
  if (b === n - 1) return upper[n - 2] ?? NaN;
  const end = upper[b] ?? NaN;
  const start = b === 0 ? 0 : (upper[b - 1] ?? 0);
  const below = b === 0 ? 0 : (c[b - 1] ?? 0);
  const count = (c[b] ?? 0) - below;
  return start + ((end - start) * (rank - below)) / count;
}
