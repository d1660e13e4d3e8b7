import { describe, expect, it } from '@jest/globals';
import { TokenBucket } from './ratelimit.ts';

describe('token bucket', () => {
  it('lets a burst through, then spaces requests at the rate', () => {
    let t = 0;
    const b = new TokenBucket(10, 3, () => t);
    expect([b.take(), b.take(), b.take()]).toEqual([0, 0, 0]);
    expect(b.take()).toBeCloseTo(100);
    expect(b.take()).toBeCloseTo(200);
    t = 1000; // a second later the debt (2 tokens) is paid and 8 more accrued, capped at the burst
    expect(b.take()).toBe(0);
  });

  it('refuses nonsense limits', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(/qps > 0/);
    expect(() => new TokenBucket(5, 0)).toThrow(/burst >= 1/);
  });
});
