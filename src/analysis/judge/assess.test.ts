import { describe, expect, it } from '@jest/globals';
import { assess, combinedState, exposureFloor } from './assess.ts';
import type { BatchCounts } from './counters.ts';
import { addBatch, initialEvidence, type Evidence } from './evidence.ts';
import { validateSettings, type JudgeSettings } from './settings.ts';

const S: JudgeSettings = { alpha: 0.01, beta: 0.01, maxRatio: 2, gatingMetrics: 1 };
const batch = (nC: number, eC: number, nS: number, eS: number): BatchCounts => ({ canary: { requests: nC, bad: eC }, stable: { requests: nS, bad: eS } });
const feed = (bs: BatchCounts[], s = S, share?: number) => bs.reduce<Evidence>((e, b) => addBatch(e, b, s, share), initialEvidence(s));
const repeat = <T>(n: number, x: T): T[] => Array.from({ length: n }, () => x);

describe('assess', () => {
  it('continues with no data: no evidence, an unbounded interval, no NaN in the gauges', () => {
    const a = assess(initialEvidence(S), S);
    expect(a.state).toBe('continue');
    expect(a.abort).toMatchObject({ evidence: 1, threshold: 100, progress: 0 });
    expect(a.pass).toMatchObject({ evidence: 1, threshold: 100, progress: 0 });
    expect(a.ratio.lower).toBe(0);
    expect(a.ratio.upper).toBe(Infinity);
    expect(a.ratio.estimate).toBeNaN();
    expect(a.needed?.reason).toMatch(/no requests/);
  });
  it('aborts a clearly worse canary, with the ratio interval above 1 and the evidence past M/alpha', () => {
    const a = assess(feed(repeat(4, batch(1000, 20, 4000, 8))), S);
    expect(a.state).toBe('abort');
    expect(a.abort.evidence).toBeGreaterThanOrEqual(100);
    expect(a.abort.progress).toBe(1);
    expect(a.ratio.estimate).toBeCloseTo(10);
    expect(a.ratio.lower).toBeGreaterThan(1);
    expect(a.ratio.upper).toBeGreaterThan(10);
    expect(a.needed).toBeUndefined();
  });
  it('needs M/alpha with M gating metrics: the same evidence aborts at M = 1 but not at M = 1000', () => {
    const bs = [batch(1000, 6, 4000, 2)];
    const one = assess(feed(bs), S);
    const many = { ...S, gatingMetrics: 1000 };
    const more = assess(feed(bs, many), many);
    expect(one.state).toBe('abort');
    expect(more.state).toBe('continue');
    expect(more.abort.threshold).toBe(100000);
    expect(more.abort.progress).toBeGreaterThan(0);
    expect(more.abort.progress).toBeLessThan(1);
  });
  it('passes a healthy canary once the mirrored evidence reaches M/beta and the exposure floor is met', () => {
    const e = feed(repeat(10, batch(2000, 20, 8000, 80)));
    const a = assess(e, S);
    expect(a.state).toBe('pass');
    expect(a.pass.evidence).toBeGreaterThanOrEqual(100);
    expect(a.ratio.lower).toBeLessThan(1);
    expect(a.ratio.upper).toBeGreaterThan(1);
    expect(a.ratio.upper).toBeLessThan(2);
  });
  it('never passes below the exposure floor, and says how many canary requests are still needed', () => {
    const s = { ...S, minCanaryRequests: 1_000_000 };
    const a = assess(feed(repeat(10, batch(2000, 20, 8000, 80)), s), s);
    expect(a.pass.evidence).toBeGreaterThanOrEqual(100);
    expect(a.state).toBe('continue');
    expect(a.needed?.canaryRequests).toBe(1_000_000 - 20_000);
    expect(a.needed?.reason).toMatch(/minimum exposure/);
  });
  it('never passes while stable has no bad event: "at most 2x of nothing" cannot be shown', () => {
    const e = feed(repeat(50, batch(10000, 0, 40000, 0)));
    expect(exposureFloor(e.totals, S)).toBe(Infinity);
    const a = assess(e, S);
    expect(a.state).toBe('continue');
    expect(a.needed?.reason).toMatch(/no bad event on stable/);
    expect(a.needed?.canaryRequests).toBeGreaterThan(0);
  });
  it('computes the zero-failure floor ln(M/beta) / -ln(1 - maxRatio x stable rate)', () => {
    // stable 0.5%: eps = 1%, ln(100)/-ln(0.99) = 458.2 -> 459 (reference §6.6)
    expect(exposureFloor(batch(10, 0, 1000, 5), S)).toBe(459);
    expect(exposureFloor(batch(10, 0, 1000, 5), { ...S, minCanaryRequests: 5000 })).toBe(5000);
  });
  it('estimates the exposure to a pass from the current rate and share', () => {
    const a = assess(feed([batch(200, 1, 800, 4)]), S);
    expect(a.state).toBe('continue');
    expect(a.needed?.canaryRequests).toBeGreaterThan(100);
    expect(a.needed?.reason).toMatch(/^needs ~\d+ more canary requests to pass/);
  });
  it('aborts rather than passes when both families cross (the safe side)', () => {
    // A canary 1.5x worse: eventually both "worse than stable" and "less than 2x worse" are shown.
    const a = assess(feed(repeat(20, batch(100000, 1500, 100000, 1000))), S);
    expect(a.abort.logPeak).toBeGreaterThan(Math.log(100));
    expect(a.pass.logPeak).toBeGreaterThan(Math.log(100));
    expect(a.state).toBe('abort');
  });
  it('keeps the true ratio inside the confidence sequence in nearly every run (anytime)', () => {
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    const s = { ...S, alpha: 0.1 };
    const truth = 3;
    let misses = 0;
    const runs = 200;
    for (let run = 0; run < runs; run++) {
      let e = initialEvidence(s);
      for (let b = 0; b < 30; b++) {
        const rho = 0.1 + 0.5 * rnd();
        const theta = (rho * truth) / (rho * truth + 1 - rho);
        let kC = 0;
        const bad = Math.floor(rnd() * 6);
        for (let i = 0; i < bad; i++) if (rnd() < theta) kC++;
        e = addBatch(e, batch(rho * 1e4, kC, (1 - rho) * 1e4, bad - kC), s);
        const r = assess(e, s).ratio;
        if (truth < r.lower || truth > r.upper) {
          misses++;
          break;
        }
      }
    }
    expect(misses / runs).toBeLessThanOrEqual(0.1);
  });
  it('flags a sample-ratio mismatch sequentially when told the configured share, not otherwise', () => {
    const ok = assess(feed(repeat(20, batch(200, 1, 800, 4)), S, 0.2), S, 0.2);
    expect(ok.share).toEqual({ realized: 0.2, configured: 0.2, mismatch: false });
    const starved = assess(feed(repeat(20, batch(20, 0, 980, 4)), S, 0.2), S, 0.2);
    expect(starved.share.mismatch).toBe(true);
    expect(starved.share.realized).toBeCloseTo(0.02);
    // Without the configured share per batch, the last batch alone is judged.
    expect(assess(feed(repeat(3, batch(20, 0, 980, 4))), S, 0.2).share.mismatch).toBe(true);
    expect(assess(feed(repeat(3, batch(200, 0, 800, 4))), S, 0.2).share.mismatch).toBe(false);
    expect(assess(feed(repeat(3, batch(200, 0, 800, 4))), S).share).toEqual({ realized: 0.2, mismatch: false });
  });
  it('restarts the realized-share window when the configured weight changes, keeping the evidence', () => {
    let e = feed(repeat(5, batch(100, 0, 900, 1)), S, 0.1);
    e = addBatch(e, batch(500, 0, 500, 1), S, 0.5);
    const a = assess(e, S, 0.5);
    expect(a.share).toEqual({ realized: 0.5, configured: 0.5, mismatch: false });
    expect(a.totals.canary.requests).toBe(1000);
  });
});

describe('combinedState', () => {
  it('aborts on any gating metric, passes only when all pass', () => {
    expect(combinedState(['pass', 'abort'])).toBe('abort');
    expect(combinedState(['pass', 'continue'])).toBe('continue');
    expect(combinedState(['pass', 'pass'])).toBe('pass');
    expect(combinedState([])).toBe('continue');
  });
});

describe('validateSettings', () => {
  it('accepts sensible settings', () => {
    expect(validateSettings(S)).toEqual([]);
    expect(validateSettings({ ...S, tolerance: 1.1, minCanaryRequests: 100 })).toEqual([]);
  });
  it('names the field and the value of each bad setting', () => {
    expect(validateSettings({ ...S, alpha: 0.7 })).toEqual(['alpha must be in (0, 0.5), got 0.7']);
    expect(validateSettings({ ...S, beta: 0 })).toEqual(['beta must be in (0, 0.5), got 0']);
    expect(validateSettings({ ...S, maxRatio: 1 })).toEqual(['maxRatio must be a number > 1, got 1']);
    expect(validateSettings({ ...S, gatingMetrics: 1.5 })).toEqual(['gatingMetrics must be an integer >= 1, got 1.5']);
    expect(validateSettings({ ...S, tolerance: 0.9 })).toEqual(['tolerance must be a number >= 1, got 0.9']);
    expect(validateSettings({ ...S, tolerance: 2 })).toEqual(['tolerance must be below maxRatio (2), got 2']);
    expect(validateSettings({ ...S, minCanaryRequests: -1 })).toEqual(['minCanaryRequests must be a number >= 0, got -1']);
    expect(validateSettings({ alpha: NaN, beta: 1, maxRatio: NaN, gatingMetrics: 0 })).toHaveLength(4);
  });
});
