import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { markdown, percentile, withRatios, type Row } from './report.ts';

describe('bench report', () => {
  const rows: Row[] = [
    { scenario: 'istio', n: 100, controller: 'sluice', figures: { updateToHealthyS: 30, idleRssMiB: 200, stepLatencyP99Ms: null, rssGrowthMiB: -4 } },
    { scenario: 'istio', n: 100, controller: 'argo-rollouts', figures: { updateToHealthyS: 20, idleRssMiB: 100, stepLatencyP99Ms: 900, rssGrowthMiB: 2 } },
    { scenario: 'gitops', n: 100, controller: 'kubectl-apply', figures: { firstSyncS: 2 } },
  ];
  it('puts Sluice / peer of the same scenario and N on Sluice\'s rows, skipping figures one side lacks and RSS growth', () => {
    const out = withRatios(rows);
    expect(out[0]?.ratios).toEqual({ updateToHealthyS: 1.5, idleRssMiB: 2 });
    expect(out[1]?.ratios).toBeUndefined();
    expect(out[2]?.ratios).toBeUndefined();
  });
  it('renders one table per scenario and N with the ratio column', () => {
    const md = markdown(withRatios(rows));
    expect(md).toContain('### istio N=100');
    expect(md).toContain('| new image → all Healthy again (s) | 30.0 | 20.0 | 1.50× |');
    expect(md).toContain('| step latency p99 (ms) | – | 900 | – |');
    expect(md).toContain('### gitops N=100');
  });
  it('percentile: nearest rank, within the samples, monotone in p', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5, 1, 3], 50)).toBe(3);
    expect(percentile([5, 1, 3], 99)).toBe(5);
    fc.assert(
      fc.property(fc.array(fc.integer(), { minLength: 1 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (xs, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const p = percentile(xs, lo) ?? NaN;
        expect(xs).toContain(p);
        expect(p).toBeLessThanOrEqual(percentile(xs, hi) ?? NaN);
      }),
    );
  });
});
