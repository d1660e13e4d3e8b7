import { describe, expect, it } from '@jest/globals';
import { decideLease, microTime } from './leader.ts';

const clock = (monotonicMs: number, observedChangeAtMs: number) => ({ monotonicMs, observedChangeAtMs, wallMs: Date.UTC(2026, 0, 1) });

describe('leader election decisions', () => {
  it('stamps MicroTime with six fractional digits', () => {
    expect(microTime(Date.UTC(2026, 10, 22, 5, 0, 0, 123))).toBe('2026-11-22T05:00:00.123000Z');
  });

  it('takes a free lease (none, or released with an empty holder) and counts the transition', () => {
    expect(decideLease(undefined, 'a', clock(0, 0), 15_000)).toMatchObject({ acquire: true, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 1 } });
    expect(decideLease({ holderIdentity: '', leaseTransitions: 4, leaseDurationSeconds: 1 }, 'a', clock(0, 0), 15_000).spec?.leaseTransitions).toBe(5);
  });

  it('leaves a lease another holder renewed within its duration, judged on our own clock', () => {
    const held = { holderIdentity: 'b', leaseDurationSeconds: 15, renewTime: '2000-01-01T00:00:00.000000Z' }; // an old-looking stamp does not matter
    expect(decideLease(held, 'a', clock(20_000, 10_000), 15_000).acquire).toBe(false);
    expect(decideLease(held, 'a', clock(25_000, 10_000), 15_000).acquire).toBe(false);
    expect(decideLease(held, 'a', clock(25_001, 10_000), 15_000)).toMatchObject({ acquire: true, spec: { holderIdentity: 'a' } });
  });

  it('renews its own lease, keeping the acquire time and the transition count', () => {
    const mine = { holderIdentity: 'a', acquireTime: '2026-01-01T00:00:00.000000Z', leaseTransitions: 3, leaseDurationSeconds: 15 };
    const d = decideLease(mine, 'a', clock(1, 0), 15_000);
    expect(d.spec).toMatchObject({ holderIdentity: 'a', acquireTime: mine.acquireTime, leaseTransitions: 3 });
    expect(d.spec?.renewTime).toBe('2026-01-01T00:00:00.000000Z');
  });
});
