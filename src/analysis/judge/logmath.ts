// Numerics shared by the judge's e-processes.

/** ln of the mean of exp(x) over xs, without overflow. */
export function logMeanExp(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s / xs.length);
}
