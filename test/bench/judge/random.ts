// Seeded random numbers for the judge benchmark: sfc32, exact Poisson (inversion for small means, Hörmann's PTRS
// above), binomial by geometric jumps (normal approximation only for very large n·p, where one batch decides anyway).

export type Rng = () => number;

/** sfc32 seeded through splitmix32: fast, 128-bit state, good enough statistically for simulation. */
export function rng(seed: number): Rng {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** A run's own seed from a cell seed and a run index (independent streams). */
export const mix = (a: number, b: number) => (Math.imul(a ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(b + 0x165667b1, 0x9e3779b1)) >>> 0;

export function normal(r: Rng): number {
  let u = r();
  while (u === 0) u = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

const LN_FACT_SMALL: number[] = [0];
for (let i = 1; i < 32; i++) LN_FACT_SMALL.push((LN_FACT_SMALL[i - 1] ?? 0) + Math.log(i));
/** ln(k!) : a table, then Stirling's series. */
export function lnFactorial(k: number): number {
  if (k < 32) return LN_FACT_SMALL[k] ?? 0;
  const x = k + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x * x * x);
}

export function poisson(r: Rng, lambda: number): number {
  if (!(lambda > 0)) return 0;
  if (lambda < 10) {
    const l = Math.exp(-lambda);
    let k = 0;
    let p = r();
    while (p > l) {
      k++;
      p *= r();
    }
    return k;
  }
  // PTRS: transformed rejection with squeeze (Hörmann 1993), exact.
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = r() - 0.5;
    const v = r();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - lnFactorial(k)) return k;
  }
}

export function binomial(r: Rng, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(r, n, 1 - p);
  if (n * p > 500) return Math.min(n, Math.max(0, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal(r))));
  // Count successes by jumping over geometric runs of failures.
  const lq = Math.log1p(-p);
  let k = 0;
  let i = 0;
  for (;;) {
    let u = r();
    while (u === 0) u = r();
    i += Math.floor(Math.log(u) / lq) + 1;
    if (i > n) return k;
    k++;
  }
}
