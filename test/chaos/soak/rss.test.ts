import { describe, expect, it } from '@jest/globals';
import { readRssMiB, slopeMiBPerHour, type RssSample } from './rss.ts';
import { slim } from './observer.ts';

const at = (minute: number, rssMiB: number): RssSample => ({ minute, rssMiB, atIso: '' });

describe('soak RSS', () => {
  it('reads this process resident set from /proc, and names the file when the process is gone', () => {
    const mib = readRssMiB(process.pid);
    expect(mib).toBeGreaterThan(10);
    expect(mib).toBeLessThan(64 * 1024);
    expect(() => readRssMiB(2 ** 22 + 12345)).toThrow(`/proc/${2 ** 22 + 12345}/status`);
  });

  it('fits the slope in MiB per hour over the samples after the warm-up only', () => {
    // A warm-up climbing 100 MiB, then +6 MiB an hour (0.1 per minute).
    const samples = [at(0, 100), at(5, 150), at(9, 200), ...Array.from({ length: 60 }, (_v, i) => at(10 + i, 200 + 0.1 * i))];
    const fit = slopeMiBPerHour(samples, 10);
    expect(fit.used).toBe(60);
    expect(fit.slope).toBeCloseTo(6, 6);
    // Flat after the warm-up: no trend, whatever the start-up did.
    expect(slopeMiBPerHour([at(0, 50), at(10, 200), at(11, 200), at(12, 200)], 10)).toEqual({ slope: 0, used: 3 });
    // A falling RSS is a negative slope, not an error.
    expect(slopeMiBPerHour([at(10, 200), at(40, 190), at(70, 180)], 10).slope).toBeCloseTo(-20, 6);
  });

  it('has no slope with fewer than 3 samples after the warm-up', () => {
    expect(slopeMiBPerHour([at(0, 1), at(1, 2), at(2, 3)], 10)).toEqual({ slope: null, used: 0 });
    expect(slopeMiBPerHour([at(10, 1), at(11, 2)], 10)).toEqual({ slope: null, used: 2 });
  });
});

describe('the soak observer keeps what the invariants read', () => {
  it('drops managedFields and the pod template, keeps names, labels, selectors, routes and status', () => {
    const obj = {
      metadata: { name: 'web', resourceVersion: '7', generation: 3, labels: { a: 'b' }, annotations: { c: 'd' }, managedFields: [{ manager: 'x' }], uid: 'u' },
      spec: { selector: { app: 'web' }, strategy: { canary: {} }, template: { spec: { containers: [] } } },
      status: { availableReplicas: 2 },
    };
    expect(slim(obj)).toEqual({
      metadata: { name: 'web', resourceVersion: '7', generation: 3, labels: { a: 'b' }, annotations: { c: 'd' } },
      spec: { selector: { app: 'web' }, strategy: { canary: {} } },
      status: { availableReplicas: 2 },
    });
  });
});
