import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { snapshotOf } from '../cli/view/snapshot.ts';
import { appPage, appRow, eventViews, podsByHash, rolloutPage, rolloutRow } from './core.ts';
import { WeightHistory } from './history.ts';

const rollout = (status: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'web', namespace: 'shop', uid: 'u1' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:v2' }] } },
    strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }] } },
    ...spec,
  },
  status,
});

describe('overview rows', () => {
  it('shows a paused canary with its weight and step, and says it needs attention', () => {
    const row = rolloutRow(rollout({ phase: 'Paused', currentStepIndex: 1, pauseConditions: [{ reason: 'CanaryPauseStep' }], canary: { weights: { canary: { weight: 20 } } } }));
    expect(row).toEqual({ kind: 'Rollout', namespace: 'shop', name: 'web', uid: 'u1', phase: 'Paused', health: 'Progressing', weight: 20, step: '1/3', message: 'CanaryPauseStep', attention: ['paused'] });
    expect(rolloutRow(rollout({ phase: 'Degraded', abort: true })).attention).toEqual(['degraded', 'aborted']);
    expect(rolloutRow(rollout({ phase: 'Healthy', currentStepIndex: 3 })).attention).toEqual([]);
  });

  it('never throws on an unreadable object: it becomes a row that says so', () => {
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        const r = rolloutRow({ metadata: { name: 'x', namespace: 'n' }, status: junk });
        expect(typeof r.phase).toBe('string');
        expect(Array.isArray(appRow(junk).attention)).toBe(true);
      }),
    );
  });

  it('flags an out-of-sync or failed Application', () => {
    const app = { metadata: { name: 'site', namespace: 'ops', uid: 'a' }, status: { sync: { status: 'OutOfSync' }, health: { status: 'Healthy' }, operationState: { phase: 'Failed', message: 'apply failed' } } };
    expect(appRow(app)).toMatchObject({ phase: 'OutOfSync', health: 'Healthy', message: 'apply failed', attention: ['out of sync', 'sync failed'] });
  });
});

describe('the Rollout page', () => {
  it('marks the current step, lists ReplicaSets newest first with their role, and keeps numeric measurements with thresholds', () => {
    const rs = (hash: string, created: string, image: string) => ({
      metadata: { name: `web-${hash}`, namespace: 'shop', creationTimestamp: created, labels: { 'rollouts-pod-template-hash': hash }, ownerReferences: [{ uid: 'u1', controller: true }] },
      spec: { replicas: 2, template: { spec: { containers: [{ name: 'app', image }] } } },
      status: { replicas: 2, readyReplicas: 1 },
    });
    const run = {
      metadata: { name: 'web-run', namespace: 'shop', creationTimestamp: '2026-01-01T00:02:00Z', labels: { 'sluice.dev/step-index': '2' }, ownerReferences: [{ uid: 'u1', controller: true }] },
      spec: { metrics: [{ name: 'errors', successCondition: 'result < 0.05' }] },
      status: { phase: 'Running', metricResults: [{ name: 'errors', phase: 'Running', successful: 1, measurements: [{ phase: 'Successful', value: '0.01', finishedAt: '2026-01-01T00:03:00Z' }, { phase: 'Error', value: 'NaN?' }] }] },
    };
    const snap = snapshotOf(rollout({ phase: 'Progressing', currentStepIndex: 1, stableRS: 'aaa', currentPodHash: 'bbb' }), [rs('aaa', '2026-01-01T00:00:00Z', 'web:v1'), rs('bbb', '2026-01-01T00:01:00Z', 'web:v2')], [run]);
    const page = rolloutPage(snap, [], []);
    expect(page.steps.map((s) => s.state)).toEqual(['done', 'current', 'pending']);
    expect(page.replicaSets.map((r) => [r.name, r.role, r.revision, r.images, r.ready])).toEqual([
      ['web-bbb', 'canary', 2, 'web:v2', 1],
      ['web-aaa', 'stable', 1, 'web:v1', 1],
    ]);
    expect(page.analysisRuns[0]).toMatchObject({ name: 'web-run', step: '2', metrics: [{ name: 'errors', successCondition: 'result < 0.05', values: [{ value: 0.01, phase: 'Successful' }] }] });
  });

  it('orders events newest first and reads every timestamp field', () => {
    const ev = eventViews([
      { type: 'Normal', reason: 'A', message: 'a', lastTimestamp: '2026-01-01T00:00:01Z' },
      { type: 'Warning', reason: 'B', message: 'b', eventTime: '2026-01-01T00:00:05Z' },
    ]);
    expect(ev.map((e) => e.reason)).toEqual(['B', 'A']);
  });
});

describe('the Application page', () => {
  it('groups resources by wave in apply order and shows history newest first', () => {
    const page = appPage({
      metadata: { name: 'site', namespace: 'ops' },
      spec: { source: { repoURL: 'https://git.example/site.git', path: 'app', targetRevision: 'main' } },
      status: {
        sync: { status: 'Synced', revision: 'c2' },
        health: { status: 'Healthy' },
        resources: [
          { kind: 'Deployment', group: 'apps', name: 'web', namespace: 'ops', status: 'Synced', syncWave: 1, health: { status: 'Healthy' } },
          { kind: 'ConfigMap', name: 'cfg', namespace: 'ops', status: 'OutOfSync', syncWave: -1 },
        ],
        history: [
          { id: 0, revision: 'c1', deployedAt: '2026-01-01T00:00:00Z' },
          { id: 1, revision: 'c2', deployedAt: '2026-01-02T00:00:00Z' },
        ],
      },
    });
    expect(page.waves.map((w) => [w.wave, w.resources.map((r) => `${r.kind}:${r.sync}`)])).toEqual([
      [-1, ['ConfigMap:OutOfSync']],
      [1, ['Deployment:Synced']],
    ]);
    expect(page.history.map((h) => h.revision)).toEqual(['c2', 'c1']);
    expect(page.source).toBe('https://git.example/site.git app@main');
  });
});

describe('weight history', () => {
  it('keeps only changes, at most maxPoints per Rollout and maxSeries Rollouts, forgetting the least recent', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 3 })), { maxLength: 200 }), (events) => {
        const h = new WeightHistory({ maxPoints: 5, maxSeries: 3 });
        events.forEach(([uid, w], t) => h.record(uid, { t, weight: w * 25, step: w, phase: 'Progressing' }));
        expect(h.size).toBeLessThanOrEqual(3);
        for (const uid of ['a', 'b', 'c', 'd']) {
          const s = h.get(uid);
          expect(s.length).toBeLessThanOrEqual(5);
          for (let i = 1; i < s.length; i++) expect(s[i]?.weight).not.toBe(s[i - 1]?.weight);
        }
        const last = events.at(-1);
        if (last !== undefined) expect(h.get(last[0]).at(-1)?.weight).toBe(last[1] * 25);
      }),
    );
  });

  it('groups pods under their ReplicaSet by pod-template hash, with readiness, phase and restarts', () => {
    const pod = (name: string, hash: string, ready: boolean, extra: Record<string, unknown> = {}): unknown => ({
      metadata: { name, labels: { 'rollouts-pod-template-hash': hash }, ...extra },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], containerStatuses: [{ restartCount: name === 'b' ? 2 : 0 }] },
    });
    const by = podsByHash([pod('b', 'h1', true), pod('a', 'h1', false), pod('c', 'h2', true, { deletionTimestamp: '2026-01-01T00:00:00Z' }), { metadata: { name: 'no-hash' } }, 'junk']);
    expect(by.get('h1')).toEqual([
      { name: 'a', phase: 'Running', ready: false, restarts: 0 },
      { name: 'b', phase: 'Running', ready: true, restarts: 2 },
    ]);
    expect(by.get('h2')).toEqual([{ name: 'c', phase: 'Terminating', ready: true, restarts: 0 }]);
    expect(by.size).toBe(2);
  });
});
