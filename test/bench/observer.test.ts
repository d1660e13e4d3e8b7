import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../../src/kube/client.ts';
import { Timeline } from './observer.ts';

const IMG = 'registry.invalid/bench/app:v2';
const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();

const ro = (status: Record<string, unknown>): KubeObject => ({ metadata: { name: 'r1' }, status });
const rs = (name: string, image: string, replicas: number): KubeObject =>
  ({ metadata: { name, ownerReferences: [{ apiVersion: 'x/v1', kind: 'Rollout', name: 'r1', uid: 'u' }] }, spec: { replicas, template: { spec: { containers: [{ image }] } } } });
const vs = (canary: number): KubeObject =>
  ({ metadata: { name: 'r1' }, spec: { http: [{ name: 'primary', route: [{ destination: { host: 'r1-stable' }, weight: 100 - canary }, { destination: { host: 'r1-canary' }, weight: canary }] }] } });
const paused = (idx: number, at: number): Record<string, unknown> => ({ phase: 'Paused', observedGeneration: '2', currentStepIndex: idx, pauseConditions: [{ reason: 'CanaryPauseStep', startTime: iso(at) }] });

describe('Timeline (the observer\'s bookkeeping)', () => {
  it('replica ratios: measures each pause expiry → the next ReplicaSet scale, and Healthy/settled only for the expected generation', () => {
    const t = new Timeline('rollouts', 4, IMG);
    t.expect('r1', 2);
    t.onReplicaSet(rs('old', 'v1', 4), T0, false);
    t.onReplicaSet(rs('new', IMG, 1), T0 + 100, false);
    t.onRollout(ro(paused(1, T0 + 200)), T0 + 210);
    t.onReplicaSet(rs('new', IMG, 2), T0 + 5_450, false); // 250 ms after the first pause's expiry
    t.onRollout(ro(paused(3, T0 + 5_500)), T0 + 5_510);
    t.onReplicaSet(rs('new', IMG, 4), T0 + 10_900, false); // promotion 400 ms after expiry
    // An old status (observedGeneration 1) is not the Healthy we wait for.
    t.onRollout(ro({ phase: 'Healthy', observedGeneration: 1, stableRS: 'a', currentPodHash: 'a' }), T0 + 10_950);
    expect(t.count('healthy')).toBe(0);
    t.onRollout(ro({ phase: 'Healthy', observedGeneration: 2, stableRS: 'b', currentPodHash: 'b' }), T0 + 11_000);
    expect(t.count('healthy')).toBe(1);
    expect(t.count('settled')).toBe(0); // the old ReplicaSet still has pods
    t.onReplicaSet(rs('old', 'v1', 0), T0 + 11_500, false);
    expect(t.count('settled')).toBe(1);
    expect(t.lastAt('settled')).toBe(T0 + 11_500);
    expect(t.latencies()).toEqual({ step: [250], promote: [400], missing: 0 });
  });

  it('istio: measures the VirtualService weights; a step never seen counts as missing', () => {
    const t = new Timeline('istio', 4, IMG);
    t.expect('r1', 2);
    t.onVirtualService(vs(20), T0);
    t.onRollout(ro(paused(1, T0 + 100)), T0 + 110);
    t.onVirtualService(vs(50), T0 + 5_130);
    t.onRollout(ro(paused(3, T0 + 5_200)), T0 + 5_210);
    expect(t.latencies()).toEqual({ step: [30], promote: [], missing: 1 });
    t.onVirtualService(vs(0), T0 + 10_700);
    expect(t.latencies()).toEqual({ step: [30], promote: [500], missing: 0 });
  });

  it('a step that does not change the canary\'s pod count is not observable, not missing', () => {
    const t = new Timeline('rollouts', 2, IMG); // 20% and 50% of 2 pods are both 1 pod
    t.expect('r1', 2);
    t.onRollout(ro(paused(1, T0)), T0);
    expect(t.latencies()).toEqual({ step: [], promote: [], missing: 0 });
  });
});
