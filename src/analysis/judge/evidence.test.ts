import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { BatchCounts } from './counters.ts';
import { CounterError, EvidenceMismatchError, JudgeSettingsError } from './errors.ts';
import { addBatch, initialEvidence, splitLogFactor, type Evidence } from './evidence.ts';
import { logMeanExp } from './logmath.ts';
import { parseEvidence } from './schema.ts';
import type { JudgeSettings } from './settings.ts';

const S: JudgeSettings = { alpha: 0.01, beta: 0.01, maxRatio: 2, gatingMetrics: 1 };
const batch = (nC: number, eC: number, nS: number, eS: number): BatchCounts => ({ canary: { requests: nC, bad: eC }, stable: { requests: nS, bad: eS } });
const lnAbort = (e: Evidence) => logMeanExp(e.logAbort);
const lnPass = (e: Evidence) => logMeanExp(e.logPass);

const lnFact: number[] = [0];
for (let i = 1; i <= 2000; i++) lnFact.push((lnFact[i - 1] ?? 0) + Math.log(i));
const lnChoose = (n: number, k: number) => (lnFact[n] ?? NaN) - (lnFact[k] ?? NaN) - (lnFact[n - k] ?? NaN);

/** E[exp(logFactor(k))] with k, the canary's bad events, hypergeometric (H0: the same bad probability per request). */
function hyperMean(nC: number, nS: number, bad: number, logFactor: (k: number) => number): number {
  let m = 0;
  for (let k = Math.max(0, bad - nS); k <= Math.min(bad, nC); k++) {
    m += Math.exp(lnChoose(nC, k) + lnChoose(nS, bad - k) - lnChoose(nC + nS, bad) + logFactor(k));
  }
  return m;
}
function binomMean(n: number, p: number, logFactor: (k: number) => number): number {
  let m = 0;
  for (let k = 0; k <= n; k++) m += Math.exp(lnChoose(n, k) + k * Math.log(p) + (n - k) * Math.log1p(-p) + logFactor(k));
  return m;
}

const arbBatch = fc.record({ nC: fc.integer({ min: 1, max: 300 }), nS: fc.integer({ min: 1, max: 1000 }), bad: fc.integer({ min: 0, max: 40 }) })
  .filter((b) => b.bad <= b.nC + b.nS);

describe('the split e-process: validity', () => {
  it('every abort-grid factor and the mixture has mean <= 1 under the exact (hypergeometric) null, any split', () => {
    fc.assert(
      fc.property(arbBatch, ({ nC, nS, bad }) => {
        const memo = new Map<number, Evidence>();
        const after = (k: number) => {
          let e = memo.get(k);
          if (e === undefined) memo.set(k, (e = addBatch(initialEvidence(S), batch(nC, k, nS, bad - k), S)));
          return e;
        };
        const mix = hyperMean(nC, nS, bad, (k) => lnAbort(after(k)));
        const each = after(0).logAbort.map((_, g) => hyperMean(nC, nS, bad, (k) => after(k).logAbort[g] ?? NaN));
        return mix <= 1 + 1e-9 && each.every((m) => m <= 1 + 1e-9);
      }),
      { numRuns: 60 },
    );
  });
  it('is exactly a martingale in the Poisson model (bad events split Binomial(e, share)) and under ratio = tolerance', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.integer({ min: 0, max: 60 }), fc.double({ min: 1, max: 3, noNaN: true }), (rho, bad, tol) => {
        const s = { ...S, tolerance: tol, maxRatio: tol + 1 };
        const theta = (rho * tol) / (rho * tol + 1 - rho);
        const m = binomMean(bad, theta, (k) => lnAbort(addBatch(initialEvidence(s), batch(rho * 1e6, k, (1 - rho) * 1e6, bad - k), s)));
        return Math.abs(m - 1) < 1e-9;
      }),
      { numRuns: 60 },
    );
  });
  it('the mirrored (pass) family has mean <= 1 whenever the canary is at least maxRatio worse', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 3, noNaN: true }), (rho, bad, extra) => {
        const r = S.maxRatio * (1 + extra);
        const theta = (rho * r) / (rho * r + 1 - rho);
        const m = binomMean(bad, theta, (k) => lnPass(addBatch(initialEvidence(S), batch(rho * 1e6, k, (1 - rho) * 1e6, bad - k), S)));
        return m <= 1 + 1e-9;
      }),
      { numRuns: 60 },
    );
  });
  it('keeps false aborts under alpha in A/A runs with random weights changing every batch and random batch sizes', () => {
    // A deterministic simulation over many seeds: per run, a random baseline rate and a share that changes every batch.
    const alpha = 0.05;
    const s = { ...S, alpha };
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    const binom = (n: number, p: number) => {
      let k = 0;
      for (let i = 0; i < n; i++) if (rnd() < p) k++;
      return k;
    };
    const runs = 800;
    let aborts = 0;
    for (let run = 0; run < runs; run++) {
      const p = 0.02 + 0.2 * rnd();
      let e = initialEvidence(s);
      for (let b = 0; b < 40; b++) {
        const n = Math.floor(rnd() * 60);
        const nC = binom(n, 0.02 + 0.9 * rnd());
        e = addBatch(e, batch(nC, binom(nC, p), n - nC, binom(n - nC, p)), s);
        if (e.peak.abort >= Math.log(1 / alpha)) {
          aborts++;
          break;
        }
      }
    }
    // Binomial tolerance: 3 standard deviations above alpha.
    expect(aborts / runs).toBeLessThanOrEqual(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs));
  });
});

describe('the split e-process: shape', () => {
  it('grows monotonically with the canary bad events (and the pass family shrinks)', () => {
    fc.assert(
      fc.property(arbBatch, fc.integer({ min: 1, max: 300 }), ({ nC, nS, bad }, more) => {
        fc.pre(bad < nC);
        const k = Math.min(nC, bad);
        const a = addBatch(initialEvidence(S), batch(nC, k, nS, 0), S);
        const b = addBatch(initialEvidence(S), batch(nC, Math.min(nC, k + 1 + (more % 3)), nS, 0), S);
        return (
          lnAbort(b) > lnAbort(a) &&
          lnPass(b) < lnPass(a) &&
          b.logAbort.every((x, g) => x > (a.logAbort[g] ?? Infinity))
        );
      }),
    );
  });
  it('agrees exactly whether a batch arrives whole, split into sub-batches at the same share, or event by event', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 50 }), fc.array(fc.tuple(fc.nat(5), fc.nat(5)), { minLength: 1, maxLength: 12 }), (a, b, parts) => {
        const total = parts.reduce(([x, y], [p, q]) => [x + p, y + q], [0, 0]);
        const k = parts.length;
        const whole = addBatch(initialEvidence(S), batch(a * k * 10, total[0] ?? 0, b * k * 10, total[1] ?? 0), S);
        let split = initialEvidence(S);
        for (const [p, q] of parts) split = addBatch(split, batch(a * 10, p, b * 10, q), S);
        // The per-event form: each bad event alone, at the batch's share.
        const rho = a / (a + b);
        const perEvent = whole.logAbort.map(() => 0);
        const grid = whole.logAbort.map((_, g) => g);
        for (const g of grid) {
          const r = Math.exp(Math.log(1.25) + (g * Math.log(80)) / 31);
          for (let i = 0; i < (total[0] ?? 0); i++) perEvent[g] = (perEvent[g] ?? 0) + splitLogFactor(r, 1, rho, 1, 0);
          for (let i = 0; i < (total[1] ?? 0); i++) perEvent[g] = (perEvent[g] ?? 0) + splitLogFactor(r, 1, rho, 0, 1);
        }
        const close = (x: readonly number[], y: readonly number[]) => x.every((v, i) => Math.abs(v - (y[i] ?? NaN)) <= 1e-9 * (1 + Math.abs(v)));
        return (
          close(whole.logAbort, split.logAbort) &&
          close(whole.logPass, split.logPass) &&
          close(whole.logLik, split.logLik) &&
          close(whole.logAbort, perEvent) &&
          JSON.stringify(whole.totals) === JSON.stringify(split.totals)
        );
      }),
    );
  });
  it('does not depend on the order of batches', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.nat(5), fc.integer({ min: 0, max: 800 }), fc.nat(5)), { minLength: 1, maxLength: 10 }), (bs) => {
        const fold = (xs: typeof bs) => xs.reduce((e, [nC, eC, nS, eS]) => addBatch(e, batch(nC, eC, nS, eS), S), initialEvidence(S));
        const x = fold(bs);
        const y = fold([...bs].reverse());
        return x.logAbort.every((v, i) => Math.abs(v - (y.logAbort[i] ?? NaN)) <= 1e-9 * (1 + Math.abs(v)));
      }),
    );
  });
  it('takes a batch with no requests on an arm, or no bad events, as factor 1: no NaN', () => {
    const e0 = initialEvidence(S);
    for (const b of [batch(0, 0, 100, 5), batch(100, 5, 0, 0), batch(0, 0, 0, 0), batch(100, 0, 400, 0)]) {
      const e = addBatch(e0, b, S);
      expect(e.logAbort).toEqual(e0.logAbort);
      expect(e.logPass).toEqual(e0.logPass);
      expect(e.logLik.every(Number.isFinite)).toBe(true);
      expect(e.batches).toBe(1);
    }
    expect(addBatch(e0, batch(0, 0, 100, 5), S).totals.stable).toEqual({ requests: 100, bad: 5 });
  });
  it('is pure and JSON-round-trips', () => {
    const e0 = initialEvidence(S);
    const frozen = JSON.stringify(e0);
    const e1 = addBatch(e0, batch(200, 3, 800, 2), S, 0.2);
    expect(JSON.stringify(e0)).toBe(frozen);
    const e2 = parseEvidence(JSON.parse(JSON.stringify(e1)));
    expect(() => parseEvidence({ ...e1, logAbort: ['x'] })).toThrow(/logAbort/);
    expect(() => parseEvidence({ ...e1, v: 2 })).toThrow();
    expect(addBatch(e2, batch(200, 3, 800, 2), S, 0.2)).toEqual(addBatch(e1, batch(200, 3, 800, 2), S, 0.2));
    expect(JSON.stringify(e1).length).toBeLessThan(4000);
  });
  it('refuses bad counts, bad settings and evidence from other settings', () => {
    const e0 = initialEvidence(S);
    expect(() => addBatch(e0, batch(-1, 0, 10, 0), S)).toThrow(CounterError);
    expect(() => addBatch(e0, batch(10, NaN, 10, 0), S)).toThrow(/batch.canary.bad/);
    expect(() => initialEvidence({ ...S, alpha: 0.7 })).toThrow(JudgeSettingsError);
    expect(() => addBatch(e0, batch(1, 0, 1, 0), { ...S, maxRatio: 3 })).toThrow(EvidenceMismatchError);
    expect(addBatch(e0, batch(10, 50, 10, 0), S).totals.canary).toEqual({ requests: 10, bad: 10 });
  });
});
