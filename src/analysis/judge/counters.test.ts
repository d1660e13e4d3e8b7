import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { batchFromSeries, counterDelta, type SeriesSample } from './counters.ts';
import { CounterError } from './errors.ts';

const c = (key: string, arm: 'canary' | 'stable', role: SeriesSample['role'], value: number): SeriesSample => ({ key, arm, role, value });

describe('batchFromSeries', () => {
  it('takes the first look as a baseline: every delta 0, every series remembered', () => {
    const { batch, seen } = batchFromSeries(undefined, [c('a', 'canary', 'ok', 100), c('b', 'canary', 'bad', 5)]);
    expect(batch).toEqual({ canary: { requests: 0, bad: 0 }, stable: { requests: 0, bad: 0 } });
    expect(seen).toEqual({ a: 100, b: 5 });
  });
  it('sums per-series deltas per arm: requests = ok + bad, bad = bad', () => {
    const prev = { a: 100, b: 5, s1: 1000, s2: 10 };
    const { batch } = batchFromSeries(prev, [c('a', 'canary', 'ok', 150), c('b', 'canary', 'bad', 7), c('s1', 'stable', 'ok', 1400), c('s2', 'stable', 'bad', 11)]);
    expect(batch).toEqual({ canary: { requests: 52, bad: 2 }, stable: { requests: 401, bad: 1 } });
  });
  it('treats a drop as a counter reset: the new value is the delta since the restart', () => {
    expect(counterDelta(500, 20)).toBe(20);
    const { batch } = batchFromSeries({ a: 500, b: 9 }, [c('a', 'canary', 'ok', 20), c('b', 'canary', 'bad', 1)]);
    expect(batch.canary).toEqual({ requests: 21, bad: 1 });
  });
  it('counts a series new since the last look (a new pod) from 0; forgets series that went away', () => {
    const { batch, seen } = batchFromSeries({ old: 7, a: 10 }, [c('a', 'stable', 'ok', 12), c('new', 'stable', 'bad', 3)]);
    expect(batch.stable).toEqual({ requests: 5, bad: 3 });
    expect(seen).toEqual({ a: 12, new: 3 });
  });
  it('reads a histogram: requests from +Inf, bad = +Inf − le=edge', () => {
    const prev = { inf: 1000, le: 990 };
    const { batch } = batchFromSeries(prev, [c('inf', 'canary', 'total', 1100), c('le', 'canary', 'within', 1080)]);
    expect(batch.canary).toEqual({ requests: 100, bad: 10 });
  });
  it('clamps bad to [0, requests] when series disagree (a reset on one bucket only)', () => {
    const { batch } = batchFromSeries({ inf: 1000, le: 990 }, [c('inf', 'canary', 'total', 1010), c('le', 'canary', 'within', 5)]);
    expect(batch.canary).toEqual({ requests: 10, bad: 5 });
    const { batch: b2 } = batchFromSeries({ inf: 1000, le: 990 }, [c('inf', 'canary', 'total', 1010), c('le', 'canary', 'within', 1020)]);
    expect(b2.canary).toEqual({ requests: 10, bad: 0 });
  });
  it('refuses negative and non-finite values and duplicated keys, naming the series', () => {
    for (const v of [-1, NaN, Infinity]) {
      expect(() => batchFromSeries(undefined, [c('pod-1 5xx', 'canary', 'bad', v)])).toThrow(CounterError);
      expect(() => batchFromSeries(undefined, [c('pod-1 5xx', 'canary', 'bad', v)])).toThrow(/series pod-1 5xx/);
    }
    expect(() => batchFromSeries(undefined, [c('x', 'canary', 'ok', 1), c('x', 'stable', 'ok', 2)])).toThrow(/appears twice/);
  });
  it('telescopes: a monotone counter read at any looks sums to its total increase', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 1, maxLength: 30 }), fc.nat(1000), (incs, start) => {
        let v = start;
        let prev: Record<string, number> | undefined;
        let sum = 0;
        for (const inc of [0, ...incs]) {
          v += inc;
          const r = batchFromSeries(prev, [c('k', 'stable', 'ok', v)]);
          sum += r.batch.stable.requests;
          prev = r.seen;
        }
        return sum === v - start;
      }),
    );
  });
  it('loses only what a restarted pod served after its last scrape', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(100), fc.nat(100), fc.boolean()), { minLength: 1, maxLength: 20 }), (steps) => {
        // Each step: `lost` requests served then a restart (if restart), then `kept` served, then a scrape.
        let v = 0;
        let prev: Record<string, number> | undefined = batchFromSeries(undefined, [c('k', 'canary', 'ok', 0)]).seen;
        let seenSum = 0;
        let truth = 0;
        for (const [lost, kept, restart] of steps) {
          if (restart) v = 0;
          else {
            v += lost;
            truth += lost;
          }
          v += kept;
          truth += kept;
          const r = batchFromSeries(prev, [c('k', 'canary', 'ok', v)]);
          seenSum += r.batch.canary.requests;
          prev = r.seen;
        }
        // A restart whose new value is not below the old one hides the reset: counted short, never long.
        return seenSum <= truth;
      }),
    );
  });
});
