import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { backoffMs, decideSync, type SyncTrigger } from './decide.ts';

const C = 'c'.repeat(40);
const OLD = 'o'.repeat(40);
const T = Date.parse('2026-01-01T00:00:10Z');
const base: SyncTrigger = { commit: C, outOfSync: true, policy: { automated: {} }, lastOperation: undefined, manualRequest: false, backoff: { durationMs: 5000, factor: 2, maxDurationMs: 60_000 }, nowMs: T };
const op = (phase: 'Running' | 'Failed' | 'Succeeded', revision = C, finishedAt = '2026-01-01T00:00:08Z') => ({ phase, finishedAt, syncResult: { revision } });

describe('sync decision', () => {
  it('syncs a new commit when automated and out of sync; never without automated unless asked', () => {
    expect(decideSync(base).sync).toBe(true);
    expect(decideSync({ ...base, lastOperation: op('Succeeded', OLD) }).sync).toBe(true);
    expect(decideSync({ ...base, outOfSync: false }).sync).toBe(false);
    expect(decideSync({ ...base, policy: undefined }).sync).toBe(false);
    expect(decideSync({ ...base, policy: undefined, manualRequest: true, outOfSync: false }).sync).toBe(true);
  });
  it('reverts drift at an attempted commit only with selfHeal', () => {
    expect(decideSync({ ...base, lastOperation: op('Succeeded') }).sync).toBe(false);
    expect(decideSync({ ...base, policy: { automated: { selfHeal: true } }, lastOperation: op('Succeeded') }).sync).toBe(true);
  });
  it('continues a Running operation, even when everything is in sync', () => {
    expect(decideSync({ ...base, outOfSync: false, lastOperation: op('Running') })).toEqual({ sync: true, continuing: true });
  });
  it('retries a failed attempt only after the backoff, and only with selfHeal or a retry policy', () => {
    const failed = { ...base, lastOperation: op('Failed') };
    expect(decideSync(failed).sync).toBe(false);
    expect(decideSync({ ...failed, policy: { automated: { selfHeal: true } } })).toEqual({ sync: false, continuing: false, retryInMs: 3000 });
    expect(decideSync({ ...failed, policy: { automated: {}, retry: {} }, nowMs: T + 3000 }).sync).toBe(true);
  });
  it('grows the backoff by the factor per retry, capped, and stops after retry.limit retries', () => {
    expect([0, 1, 2, 3, 10].map((n) => backoffMs(base.backoff, n))).toEqual([5000, 10_000, 20_000, 40_000, 60_000]);
    const failed = (retryCount: number) => ({ ...op('Failed'), retryCount });
    // The third failure (retryCount 2) waits 20 s from its end before the next try.
    const third = { ...base, policy: { automated: {}, retry: { limit: 5 } }, lastOperation: failed(2) };
    expect(decideSync({ ...third, nowMs: T + 17_000 }).sync).toBe(false);
    expect(decideSync({ ...third, nowMs: T + 18_001 }).sync).toBe(true);
    // limit 2: two retries happened, no third; a new commit or a person still can.
    const spent = { ...base, policy: { automated: { selfHeal: true }, retry: { limit: 2 } }, lastOperation: failed(2), nowMs: T + 600_000 };
    expect(decideSync(spent)).toEqual({ sync: false, continuing: false });
    expect(decideSync({ ...spent, manualRequest: true }).sync).toBe(true);
    expect(decideSync({ ...spent, commit: OLD }).sync).toBe(true);
    // a negative limit never runs out
    expect(decideSync({ ...spent, policy: { automated: {}, retry: { limit: -1 } } }).sync).toBe(true);
  });

  it('property: without automated policy only a manual request syncs; a disabled-policy app never syncs on its own', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.constantFrom(undefined, 'Running', 'Failed', 'Succeeded'), fc.boolean(), (outOfSync, phase, sameCommit) => {
        const d = decideSync({ ...base, policy: undefined, outOfSync, lastOperation: phase === undefined ? undefined : op(phase, sameCommit ? C : OLD) });
        if (d.sync) expect(phase === 'Running' && sameCommit).toBe(true);
      }),
    );
  });
});
