import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { ApplicationSetApplicationStatus, RollingSyncStep } from '../../api/applicationset/schema.ts';
import { applicationSetSchema } from '../../api/applicationset/schema.ts';
import { validateApplicationSet } from '../../api/applicationset/validate.ts';
import { credentialsRefFor, decideWave, gitSourcesToPin, maxUpdateOf, pinSpec, revisionKey, stepOf, type WaveApp } from './rollingsync.ts';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';
const env = (...values: string[]): RollingSyncStep => ({ matchExpressions: [{ key: 'env', operator: 'In', values }] });
const STEPS = [env('dev'), env('staging'), env('prod')];
/** An Application of env `e`, by default up to date, observed, Synced and Healthy. */
const app = (name: string, e: string, over: Partial<WaveApp> = {}): WaveApp => ({ name, labels: { env: e }, changed: false, observed: true, sync: 'Synced', health: 'Healthy', ...over });
const fleet = (over: Record<string, Partial<WaveApp>> = {}): WaveApp[] => [app('dev', 'dev', over.dev), app('staging', 'staging', over.staging), app('prod', 'prod', over.prod)];
const statusOf = (d: ReturnType<typeof decideWave>, name: string): ApplicationSetApplicationStatus | undefined => d.statuses.find((s) => s.application === name);

describe('RollingSync steps', () => {
  it('selects by In and NotIn (NotIn matches a missing label, as Kubernetes does); the first matching step wins', () => {
    const steps: RollingSyncStep[] = [{ matchExpressions: [{ key: 'env', operator: 'In', values: ['dev', 'qa'] }, { key: 'region', operator: 'NotIn', values: ['eu'] }] }, env('dev', 'prod')];
    expect(stepOf(steps, { env: 'dev' })).toBe(0);
    expect(stepOf(steps, { env: 'dev', region: 'eu' })).toBe(1);
    expect(stepOf(steps, { env: 'other' })).toBe(2);
  });

  it('maxUpdate: default all, an integer, a percentage rounded down but at least one, 0 holds', () => {
    expect(maxUpdateOf(undefined, 7)).toBe(7);
    expect(maxUpdateOf({ maxUpdate: 2 }, 7)).toBe(2);
    expect(maxUpdateOf({ maxUpdate: '50%' }, 7)).toBe(3);
    expect(maxUpdateOf({ maxUpdate: '10%' }, 3)).toBe(1);
    expect(maxUpdateOf({ maxUpdate: '0%' }, 3)).toBe(0);
    expect(maxUpdateOf({ maxUpdate: 0 }, 3)).toBe(0);
  });
});

describe('decideWave', () => {
  it('a release goes dev, then staging, then prod: each step only once the previous one is Synced and Healthy', () => {
    // Released: every Application has a change. Only dev is updated.
    let d = decideWave(STEPS, fleet({ dev: { changed: true }, staging: { changed: true }, prod: { changed: true } }), [], T0);
    expect(d.update).toEqual(['dev']);
    expect(d.statuses.map((s) => [s.application, s.status, s.step])).toEqual([['dev', 'Pending', '1'], ['prod', 'Waiting', '3'], ['staging', 'Waiting', '2']]);
    expect(statusOf(d, 'staging')?.message).toBe('waiting for step 1 (dev) to be Healthy');
    expect(d.condition).toMatchObject({ status: 'True', reason: 'ApplicationSetModified' });
    expect(d.condition.message).toContain('not released yet: staging, prod');
    // dev updated but its Application controller has not looked yet: still Pending, nothing else moves.
    const prev = d.statuses;
    d = decideWave(STEPS, fleet({ dev: { observed: false }, staging: { changed: true }, prod: { changed: true } }), prev, T1);
    expect(d.update).toEqual([]);
    expect(statusOf(d, 'dev')).toMatchObject({ status: 'Pending', lastTransitionTime: T0 });
    // Its canary runs: Progressing (a Rollout mid-canary is not Healthy), staging still waits.
    d = decideWave(STEPS, fleet({ dev: { health: 'Suspended', healthMessage: 'paused at step 1' }, staging: { changed: true }, prod: { changed: true } }), d.statuses, T1);
    expect(d.update).toEqual([]);
    expect(statusOf(d, 'dev')).toMatchObject({ status: 'Progressing', message: 'health Suspended (paused at step 1)', lastTransitionTime: T1 });
    // dev Healthy: staging is updated, prod waits for it.
    d = decideWave(STEPS, fleet({ staging: { changed: true }, prod: { changed: true } }), d.statuses, T1);
    expect(d.update).toEqual(['staging']);
    expect(statusOf(d, 'prod')?.message).toBe('waiting for step 2 (staging) to be Healthy');
    d = decideWave(STEPS, fleet({ prod: { changed: true } }), d.statuses, T1);
    expect(d.update).toEqual(['prod']);
    d = decideWave(STEPS, fleet(), d.statuses, T1);
    expect(d.update).toEqual([]);
    expect(d.statuses.every((s) => s.status === 'Healthy')).toBe(true);
    expect(d.condition).toMatchObject({ status: 'False', reason: 'ApplicationSetRolloutComplete' });
  });

  it('a Degraded Application (an aborted canary) halts the wave there: later steps keep their previous spec', () => {
    const d = decideWave(STEPS, fleet({ staging: { health: 'Degraded', healthMessage: 'RolloutAborted: analysis failed' }, prod: { changed: true, targetRevisions: ['v2-commit'] } }), [], T0);
    expect(statusOf(d, 'prod')?.targetRevisions).toEqual(['v2-commit']);
    expect(d.update).toEqual([]);
    expect(statusOf(d, 'prod')).toMatchObject({ status: 'Waiting', message: 'waiting for step 2 (staging) to be Healthy' });
    expect(d.condition).toEqual({ status: 'True', reason: 'RolloutHalted', message: 'stopped at step 2 of 3: staging: health Degraded (RolloutAborted: analysis failed); not released yet: prod' });
  });

  it('an OutOfSync or not yet observed Application is not done, whatever its health says', () => {
    expect(decideWave(STEPS, fleet({ dev: { sync: 'OutOfSync' }, staging: { changed: true } }), [], T0).update).toEqual([]);
    expect(decideWave(STEPS, fleet({ dev: { observed: false }, staging: { changed: true } }), [], T0).update).toEqual([]);
  });

  it('maxUpdate bounds the Applications in flight within a step; 0 holds the step and everything after it', () => {
    const prod = (n: number, over: Partial<WaveApp> = {}): WaveApp[] => Array.from({ length: n }, (_, i) => app(`prod-${i}`, 'prod', over));
    const steps = [env('dev'), { ...env('prod'), maxUpdate: '50%' }];
    const first = decideWave(steps, [app('dev', 'dev'), ...prod(4, { changed: true })], [], T0);
    expect(first.update).toEqual(['prod-0', 'prod-1']);
    // One of the two still progressing: one more slot.
    const apps = [app('dev', 'dev'), app('prod-0', 'prod'), app('prod-1', 'prod', { health: 'Progressing' }), app('prod-2', 'prod', { changed: true }), app('prod-3', 'prod', { changed: true })];
    expect(decideWave(steps, apps, first.statuses, T1).update).toEqual(['prod-2']);
    const held = decideWave([env('dev'), { ...env('staging'), maxUpdate: 0 }, env('prod')], fleet({ staging: { changed: true }, prod: { changed: true } }), [], T0);
    expect(held.update).toEqual([]);
    expect(statusOf(held, 'staging')?.message).toBe('step 2 has maxUpdate 0: not updated');
  });

  it('Applications no step selects are updated last, once every step is Healthy', () => {
    const apps = [...fleet({ prod: { changed: true } }), app('qa', 'qa', { changed: true })];
    const d = decideWave(STEPS, apps, [], T0);
    expect(d.update).toEqual(['prod']);
    expect(statusOf(d, 'qa')).toMatchObject({ status: 'Waiting', step: '0', message: 'waiting for step 3 (prod) to be Healthy' });
    expect(decideWave(STEPS, [...fleet(), app('qa', 'qa', { changed: true })], [], T0).update).toEqual(['qa']);
  });

  it('property: an Application is updated only when every Application of every earlier step is done, and never more than maxUpdate per step', () => {
    const appArb = fc.record({ e: fc.constantFrom('dev', 'staging', 'prod', 'x'), changed: fc.boolean(), observed: fc.boolean(), sync: fc.constantFrom('Synced', 'OutOfSync'), health: fc.constantFrom('Healthy', 'Progressing', 'Degraded', 'Suspended') });
    fc.assert(
      fc.property(fc.array(appArb, { maxLength: 10 }), fc.array(fc.oneof(fc.constant(undefined), fc.nat(3), fc.constantFrom('0%', '30%', '100%')), { minLength: 3, maxLength: 3 }), (raw, maxes) => {
        const steps = STEPS.map((s, i) => (maxes[i] === undefined ? s : { ...s, maxUpdate: maxes[i] }));
        const apps = raw.map((a, i) => app(`a${i}`, a.e, { changed: a.changed, observed: a.observed, sync: a.sync, health: a.health }));
        const d = decideWave(steps, apps, [], T0);
        const done = (a: WaveApp): boolean => !a.changed && a.observed && a.sync === 'Synced' && a.health === 'Healthy';
        for (const name of d.update) {
          const a = apps.find((x) => x.name === name) as WaveApp;
          expect(a.changed).toBe(true);
          const mine = stepOf(steps, a.labels);
          expect(apps.filter((x) => stepOf(steps, x.labels) < mine).every(done)).toBe(true);
        }
        for (let i = 0; i < steps.length; i++) {
          const members = apps.filter((x) => stepOf(steps, x.labels) === i);
          const inFlight = members.filter((x) => !x.changed && !done(x)).length + d.update.filter((n) => members.some((m) => m.name === n)).length;
          expect(d.update.filter((n) => members.some((m) => m.name === n)).length === 0 || inFlight <= maxUpdateOf(steps[i], members.length)).toBe(true);
        }
        expect(d.statuses.length).toBe(apps.length);
      }),
    );
  });
});

describe('revision pinning', () => {
  it('pins Git sources (not charts, not commits) and leaves the rest', () => {
    const sha = 'a'.repeat(40);
    const specs = [{ source: { repoURL: 'r1', targetRevision: 'main' } }, { sources: [{ repoURL: 'r1', targetRevision: 'main' }, { repoURL: 'charts', chart: 'c', targetRevision: '1.x' }, { repoURL: 'r2' }, { repoURL: 'r3', targetRevision: sha }] }];
    expect(gitSourcesToPin(specs)).toEqual([['r1', 'main'], ['r2', undefined]]);
    const commits = new Map([[revisionKey('r1', 'main'), 'b'.repeat(40)], [revisionKey('r2', undefined), 'c'.repeat(40)]]);
    expect(pinSpec(specs[1] as Record<string, unknown>, commits)).toEqual({ sources: [{ repoURL: 'r1', targetRevision: 'b'.repeat(40) }, { repoURL: 'charts', chart: 'c', targetRevision: '1.x' }, { repoURL: 'r2', targetRevision: 'c'.repeat(40) }, { repoURL: 'r3', targetRevision: sha }] });
  });
  it('resolves a private repository with the credentials its Applications name', () => {
    const specs = [{ source: { repoURL: 'public' } }, { source: { repoURL: 'private' }, credentials: { secretRef: { name: 'git-creds' } } }, { sources: [{ repoURL: 'other' }], credentials: { secretRef: { name: 'x', namespace: 'ops' } } }];
    expect(credentialsRefFor(specs, 'private')).toEqual({ name: 'git-creds' });
    expect(credentialsRefFor(specs, 'other')).toEqual({ name: 'x', namespace: 'ops' });
    expect(credentialsRefFor(specs, 'public')).toBeUndefined();
    expect(credentialsRefFor([{ source: { repoURL: 'private' }, credentials: { secretRef: { name: '' } } }], 'private')).toBeUndefined();
  });
});

describe('strategy validation', () => {
  const set = (strategy: object) =>
    applicationSetSchema.parse({ apiVersion: 'sluice.dev/v1alpha1', kind: 'ApplicationSet', metadata: { name: 's' }, spec: { generators: [{ list: { elements: [] } }], template: { metadata: { name: 'x' }, spec: {} }, strategy } });
  it('names an unknown operator, a malformed maxUpdate, an unknown type and a RollingSync without steps', () => {
    const errors = validateApplicationSet(set({ type: 'RollingSync', rollingSync: { steps: [{ matchExpressions: [{ key: 'env', operator: 'Exists', values: ['a'] }], maxUpdate: 'ten' }, { matchExpressions: [{ key: 'env', operator: 'In', values: [] }], maxUpdate: '150%' }, { maxUpdate: -1 }] } }));
    expect(errors).toEqual([
      { field: 'spec.strategy.rollingSync.steps[0].matchExpressions[0].operator', message: '"Exists" is not supported: In or NotIn' },
      { field: 'spec.strategy.rollingSync.steps[0].maxUpdate', message: '"ten" is not a count (0 or more) or a percentage ("0%" to "100%")' },
      { field: 'spec.strategy.rollingSync.steps[1].matchExpressions[0].values', message: 'must hold at least one value' },
      { field: 'spec.strategy.rollingSync.steps[1].maxUpdate', message: '"150%" is not a count (0 or more) or a percentage ("0%" to "100%")' },
      { field: 'spec.strategy.rollingSync.steps[2].maxUpdate', message: '-1 is not a count (0 or more) or a percentage ("0%" to "100%")' },
    ]);
    expect(validateApplicationSet(set({ type: 'Rolling' })).map((e) => e.field)).toEqual(['spec.strategy.type']);
    expect(validateApplicationSet(set({ type: 'RollingSync' })).map((e) => e.field)).toEqual(['spec.strategy.rollingSync.steps']);
    expect(validateApplicationSet(set({ type: 'RollingSync', rollingSync: { steps: [{ ...env('dev'), maxUpdate: '25%' }, { ...env('prod'), maxUpdate: 1 }] } }))).toEqual([]);
  });
  it('names a deletionOrder that is not AllAtOnce or Reverse, and Reverse without RollingSync', () => {
    const steps = { rollingSync: { steps: [env('dev')] } };
    expect(validateApplicationSet(set({ type: 'RollingSync', ...steps, deletionOrder: 'Reverse' }))).toEqual([]);
    expect(validateApplicationSet(set({ type: 'RollingSync', ...steps, deletionOrder: 'reverse' }))).toEqual([{ field: 'spec.strategy.deletionOrder', message: '"reverse" is not a deletion order: AllAtOnce or Reverse' }]);
    expect(validateApplicationSet(set({ type: 'AllAtOnce', deletionOrder: 'Reverse' }))).toEqual([{ field: 'spec.strategy.deletionOrder', message: 'Reverse deletes step by step: it needs strategy.type RollingSync' }]);
  });
});
