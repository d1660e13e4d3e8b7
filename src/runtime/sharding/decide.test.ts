import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { microTime } from '../leader.ts';
import { ASSIGNED_ANNOTATION, decideObject, desiredOwners, DRAIN_LABEL, hashKey, isKeyRoot, memberState, OWNER_LABEL, type ParentLookup } from './decide.ts';
import { Ring } from './ring.ts';

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

  const ref = (kind: string, name: string, controller = true) => ({ apiVersion: 'sluice.dev/v1alpha1', kind, name, uid: `uid-${name}`, controller });
  const obj = (name: string, ...owners: ReturnType<typeof ref>[]) => ({ metadata: { namespace: 'ns', name, ...(owners.length > 0 ? { ownerReferences: owners } : {}) } });
  /** The sharder's view: the Experiments it knows, by name. */
  const lookup = (known: Record<string, ReturnType<typeof obj>>): ParentLookup => (kind, namespace, name) => (kind === 'Experiment' && namespace === 'ns' ? known[name] : undefined);

  it('hashes an AnalysisRun on the Rollout that controls it', () => {
    const none = lookup({});
    expect(hashKey(obj('web-abc-2', ref('Rollout', 'web')), none)).toBe('ns/web');
    expect(hashKey(obj('web'), none)).toBe('ns/web');
    expect(hashKey(obj('standalone'), none)).toBe('ns/standalone');
    // Only a controller of ours counts: another group's, or an owner that is not the controller, does not.
    expect(hashKey(obj('run', { ...ref('Rollout', 'web'), apiVersion: 'argoproj.io/v1alpha1' }), none)).toBe('ns/run');
    expect(hashKey(obj('run', ref('Rollout', 'web', false)), none)).toBe('ns/run');
  });

  it('hashes an Experiment\'s AnalysisRuns with their Experiment, and so with the Rollout that controls it', () => {
    const standalone = obj('split');
    const stepExperiment = obj('web-abc-3', ref('Rollout', 'web'));
    const known = lookup({ split: standalone, 'web-abc-3': stepExperiment });
    // A standalone Experiment and its runs: one key, the Experiment's.
    expect(hashKey(standalone, known)).toBe('ns/split');
    expect(hashKey(obj('split-compare', ref('Experiment', 'split')), known)).toBe('ns/split');
    // A Rollout's Experiment goes with the Rollout; its runs follow the chain up to the Rollout too.
    expect(hashKey(stepExperiment, known)).toBe('ns/web');
    expect(hashKey(obj('web-abc-3-compare', ref('Experiment', 'web-abc-3')), known)).toBe('ns/web');
    // An Experiment not known (yet, or any more): no key, so the run is left where it is.
    expect(hashKey(obj('gone-compare', ref('Experiment', 'gone')), known)).toBeUndefined();
    // A cycle typed by hand ends after a few steps on a key, never loops.
    const loop = lookup({ x: obj('x', ref('Experiment', 'y')), y: obj('y', ref('Experiment', 'x')) });
    expect(hashKey(obj('run', ref('Experiment', 'x')), loop)).toMatch(/^ns\/[xy]$/);
  });

  it('tells the object a key is named after from those that go with it', () => {
    const known = lookup({ 'web-abc-3': obj('web-abc-3', ref('Rollout', 'web')) });
    for (const [o, root] of [[obj('web'), true], [obj('web-abc-3', ref('Rollout', 'web')), false], [obj('web-abc-3-compare', ref('Experiment', 'web-abc-3')), false]] as const) {
      expect(isKeyRoot(o, hashKey(o, known) ?? '')).toBe(root);
    }
  });

  it('moves a child placed on another shard to its parent, never the parent to the child, whatever the order', () => {
    const ring = new Ring(['a', 'b', 'c']);
    const placed = (o: ReturnType<typeof obj>, shard: string) => ({ ...o, metadata: { ...o.metadata, labels: { [OWNER_LABEL]: shard }, annotations: { [ASSIGNED_ANNOTATION]: shard } } });
    const known = lookup({ split: obj('split') });
    // The run was placed on its own key (before runs followed their Experiment): today it sits on c, the Experiment on a.
    const objects = [placed(obj('split-compare', ref('Experiment', 'split')), 'c'), placed(obj('split'), 'a')].map((o) => ({ obj: o, key: hashKey(o, known) ?? '' }));
    for (const order of [objects, [...objects].reverse()]) {
      expect(desiredOwners(order, ring)).toEqual(new Map([['ns/split', 'a']]));
      expect(decideObject(order.find((x) => x.obj.metadata.name === 'split-compare')?.obj.metadata.labels, 'a', new Set(['a', 'b', 'c']))).toEqual({ kind: 'drain', from: 'c' });
    }
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
