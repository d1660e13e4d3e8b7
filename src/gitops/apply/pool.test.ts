import { describe, expect, it } from '@jest/globals';
import { forEachBounded } from './pool.ts';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('forEachBounded', () => {
  it('runs every item with at most `limit` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachBounded([...Array(20).keys()], 4, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await tick(n % 3);
      seen.push(n);
      inFlight--;
    });
    expect(peak).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
  });

  it('starts nothing new after a failure, lets in-flight tasks finish, and throws the earliest item\'s error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = forEachBounded([...Array(10).keys()], 3, async (n) => {
      started.push(n);
      if (n === 2) {
        await tick(5);
        throw new Error('two');
      }
      if (n === 1) {
        await tick(1);
        throw new Error('one');
      }
      await tick(20);
      finished.push(n);
    });
    await expect(run).rejects.toThrow('one');
    expect(started).toEqual([0, 1, 2]);
    expect(finished).toEqual([0]);
  });

  it('handles an empty list', async () => {
    await expect(forEachBounded([], 8, () => Promise.reject(new Error('never')))).resolves.toBeUndefined();
  });
});
