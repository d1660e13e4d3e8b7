// The absolute guard beside the comparison: a one-arm e-process on the canary's own rate of bad events against a
// fixed bound p0 (1 - successRate.min/100 for errors, 1% above latency.maxMs for latency). It catches a canary that is
// bad while stable is just as bad, which a comparison cannot. Pure.
//
// Validity: for any p1 > p0, the per-request likelihood ratio (p1/p0)^x ((1-p1)/(1-p0))^(1-x) has mean
// p(p1/p0) + (1-p)(1-p1)/(1-p0) <= 1 whenever p <= p0, so the running product is a nonnegative supermartingale under
// "the canary's rate is at most p0"; an average over a grid of p1 is one too, and Ville's inequality bounds the chance
// it ever reaches 1/alpha by alpha. A batch is the product of its requests' factors, whatever their order.
import type { ArmBatch } from './counters.ts';

export interface GuardEvidence {
  /** Per alternative on the grid, the running log likelihood ratio. */
  logE: number[];
  requests: number;
  bad: number;
}

/** Alternatives p1 from 1.25 p0 up to 100 p0 (capped below 1), log-spaced. */
export function guardGrid(p0: number): number[] {
  const out: number[] = [];
  for (let p = p0 * 1.25; p < Math.min(0.999, p0 * 100) && out.length < 24; p *= 1.25) out.push(p);
  if (out.length === 0) out.push((p0 + 1) / 2);
  return out;
}

export class GuardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuardError';
  }
}

export function initialGuard(p0: number): GuardEvidence {
  if (!(p0 > 0 && p0 < 1)) throw new GuardError(`the guard's bound must be in (0, 1), got ${p0}`);
  return { logE: guardGrid(p0).map(() => 0), requests: 0, bad: 0 };
}

/** The guard after one batch of the canary's counts. */
export function addGuard(g: GuardEvidence, batch: ArmBatch, p0: number): GuardEvidence {
  const grid = guardGrid(p0);
  if (grid.length !== g.logE.length) throw new GuardError('guard evidence does not match its bound (the bound changed)');
  const bad = Math.max(0, Math.min(batch.bad, batch.requests));
  const good = batch.requests - bad;
  const logE = g.logE.map((l, i) => {
    const p1 = grid[i] as number;
    return l + bad * Math.log(p1 / p0) + good * Math.log((1 - p1) / (1 - p0));
  });
  return { logE, requests: g.requests + batch.requests, bad: g.bad + bad };
}

/** The mixture e-value (the grid average), computed in log space. */
export function guardLogEvidence(g: GuardEvidence): number {
  if (g.logE.length === 0) return 0;
  const max = Math.max(...g.logE);
  const sum = g.logE.reduce((acc, l) => acc + Math.exp(l - max), 0);
  return max + Math.log(sum / g.logE.length);
}
