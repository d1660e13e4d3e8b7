// Calibration of the judge on the benchmark's simulator, at a fixed seed (a small grid of `npm run bench:judge`):
// fails if the judge loses validity (false aborts of A/A canaries above the bound) or its power (a ×10 5xx regression
// at 100 rps and a 20% share not aborted within a minute).
import { describe, expect, it } from '@jest/globals';
import { runCell } from './bench.ts';
import type { Cell } from './cells.ts';
import { judgeSettings } from './policies.ts';

const SEED = 20261202;
/** The bound a rate measured over n runs may reach when the true rate is at most p: p + 3 standard deviations. */
const bound = (p: number, n: number) => p + 3 * Math.sqrt((p * (1 - p)) / n);
const sluiceRow = (cell: Cell, runs: number, settings = judgeSettings()) => {
  const row = runCell(cell, runs, SEED, settings, ['sluice']).find((r) => r.policy === 'sluice');
  if (row === undefined) throw new Error('no sluice row');
  return row;
};

describe('judge calibration (simulated Prometheus series, fixed seed)', () => {
  it('keeps A/A false aborts within alpha at the defaults (alpha = beta = 1%, M = 2)', () => {
    const noisy = sluiceRow({ rps: 100, share: 0.2, baseline: 0.01, regression: 1, metric: 'errors' }, 150);
    expect(noisy.falseAbortRate).toBeLessThanOrEqual(bound(0.01, 150));
  });
  it('keeps A/A false aborts within a loose alpha (10%), where a loss of validity shows in a few hundred runs', () => {
    const s = judgeSettings({ alpha: 0.1, beta: 0.1 });
    const row = sluiceRow({ rps: 100, share: 0.2, baseline: 0.01, regression: 1, metric: 'errors' }, 250, s);
    expect(row.falseAbortRate).toBeLessThanOrEqual(bound(0.1, 250));
  });
  it('aborts a x10 5xx regression at 100 rps and a 20% share within a minute (median), and never promotes it', () => {
    const row = sluiceRow({ rps: 100, share: 0.2, baseline: 0.005, regression: 10, metric: 'errors' }, 100);
    expect(row.abortRate).toBe(1);
    expect(row.falsePromotionRate).toBe(0);
    expect(row.medianAbortS).toBeLessThanOrEqual(60);
  });
  it('aborts a p99 x2 latency regression (tested at the bucket edge above stable p99) at 100 rps', () => {
    const row = sluiceRow({ rps: 100, share: 0.2, baseline: 0.005, regression: 2, metric: 'latency-uniform' }, 50);
    expect(row.abortRate).toBe(1);
    expect(row.medianAbortS).toBeLessThanOrEqual(60);
  });
});
