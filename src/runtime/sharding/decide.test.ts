import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { microTime } from '../leader.ts';
import { decideObject, DRAIN_LABEL, hashKey, memberState, OWNER_LABEL } from './decide.ts';

const lease = (name: string, holder: string | undefined, renewMs: number, seconds = 15) => ({
  metadata: { name },
  spec: { holderIdentity: holder, renewTime: microTime(renewMs), leaseDurationSeconds: seconds },
});

describe('shard decisions', () => {
  it('judges a membership Lease: ready, expired past its duration, dead when released or taken over', () => {
    const now = Date.parse('2026-01-01T00:00:30Z');
    expect(memberState(lease('sluice-shard-a', 'a', now - 5_000), now)).toEqual({ id: 'a', state: 'ready' });
    expect(memberState(lease('sluice-shard-a', 'a', now - 16_000), now)).toEqual({ id: 'a', state: 'expired' });
    expect(memberState(lease('sluice-shard-a', '', now), now)).toEqual({ id: 'a', state: 'dead' });
    expect(memberState(lease('sluice-shard-a', 'sluice-sharder', now), now)).toEqual({ id: 'a', state: 'dead' });
    expect(memberState({ metadata: { name: 'sluice-shard-a' }, spec: { holderIdentity: 'a' } }, now).state).toBe('expired');
  });

  it('hashes an AnalysisRun on the Rollout that controls it', () => {
    const run = { metadata: { namespace: 'ns', name: 'web-abc-2', ownerReferences: [{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', name: 'web', uid: 'u', controller: true }] } };
    expect(hashKey(run)).toBe('ns/web');
    expect(hashKey({ metadata: { namespace: 'ns', name: 'web' } })).toBe('ns/web');
    expect(hashKey({ metadata: { namespace: 'ns', name: 'standalone' } })).toBe('ns/standalone');
  });

  it('assigns an unowned object, or one whose owner is not live (dead shard, hand-typed label)', () => {
    const live = new Set(['a', 'b']);
    expect(decideObject(undefined, 'a', live)).toEqual({ kind: 'assign', to: 'a' });
    expect(decideObject({ [OWNER_LABEL]: 'gone' }, 'a', live)).toEqual({ kind: 'assign', to: 'a', from: 'gone' });
    expect(decideObject({ [OWNER_LABEL]: 'gone', [DRAIN_LABEL]: 'true' }, 'b', live)).toEqual({ kind: 'assign', to: 'b', from: 'gone' });
  });

  it('drains from a live owner first, and waits while the drain is pending', () => {
    const live = new Set(['a', 'b']);
    expect(decideObject({ [OWNER_LABEL]: 'a' }, 'b', live)).toEqual({ kind: 'drain', from: 'a' });
    expect(decideObject({ [OWNER_LABEL]: 'a', [DRAIN_LABEL]: 'true' }, 'b', live)).toEqual({ kind: 'none' });
    expect(decideObject({ [OWNER_LABEL]: 'a', [DRAIN_LABEL]: 'true' }, 'a', live)).toEqual({ kind: 'none' });
    expect(decideObject({ [OWNER_LABEL]: 'a' }, 'a', live)).toEqual({ kind: 'none' });
    expect(decideObject({ [OWNER_LABEL]: 'a' }, undefined, new Set())).toEqual({ kind: 'none' });
  });

  it('never writes a new owner over a live one (the invariant behind "never two owners")', () => {
    const id = fc.constantFrom('a', 'b', 'c', 'gone');
    fc.assert(
      fc.property(fc.option(id, { nil: undefined }), fc.boolean(), fc.option(id, { nil: undefined }), fc.subarray(['a', 'b', 'c']), (owner, draining, desired, liveList) => {
        const live = new Set(liveList);
        const labels = { ...(owner !== undefined ? { [OWNER_LABEL]: owner } : {}), ...(draining ? { [DRAIN_LABEL]: 'true' } : {}) };
        const action = decideObject(labels, desired !== undefined && live.has(desired) ? desired : undefined, live);
        if (action.kind === 'assign') expect(owner === undefined || !live.has(owner)).toBe(true);
        if (action.kind === 'drain') expect(owner !== undefined && live.has(owner) && !draining).toBe(true);
      }),
    );
  });
});
