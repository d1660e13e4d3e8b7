import { describe, expect, it } from '@jest/globals';
import { describeStep, renderRollout, snapshotOf, weightBar } from './rollout.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const owner = [{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', name: 'web', uid: 'u1', controller: true }];

function rs(hash: string, created: string, image: string, replicas: number, ready: number, owners = owner): unknown {
  return {
    metadata: { name: `web-${hash}`, namespace: 'ns', creationTimestamp: created, labels: { 'rollouts-pod-template-hash': hash }, ownerReferences: owners },
    spec: { replicas, template: { spec: { containers: [{ name: 'app', image }] } } },
    status: { replicas, readyReplicas: ready, availableReplicas: ready },
  };
}

const canary = {
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'web', namespace: 'ns', uid: 'u1' },
  spec: {
    replicas: 4,
    strategy: { canary: { steps: [{ setWeight: 25 }, { pause: {} }, { analysis: { templates: [{ templateName: 'rate' }] } }, { pause: { duration: '30s' } }] } },
  },
  status: {
    phase: 'Paused',
    message: 'CanaryPauseStep',
    currentStepIndex: 1,
    currentPodHash: 'bbb',
    stableRS: 'aaa',
    pauseConditions: [{ reason: 'CanaryPauseStep', startTime: '2026-01-01T00:00:00Z' }],
    canary: { weights: { canary: { weight: 25 }, stable: { weight: 75 } } },
    replicas: 5,
    updatedReplicas: 1,
    readyReplicas: 5,
    availableReplicas: 5,
  },
};

const run = {
  metadata: { name: 'web-bbb-2', creationTimestamp: '2026-01-01T00:01:00Z', labels: { 'sluice.dev/step-index': '2' }, ownerReferences: owner },
  spec: {},
  status: {
    phase: 'Running',
    metricResults: [
      {
        name: 'rate',
        phase: 'Running',
        successful: 3,
        failed: 1,
        measurements: [
          { phase: 'Successful', value: '0.99' },
          { phase: 'Failed', value: '0.5' },
          { phase: 'Successful', value: '0.98' },
          { phase: 'Successful', value: '0.97' },
        ],
      },
    ],
  },
};

describe('rollout view', () => {
  it('draws the weight as a bar', () => {
    expect(weightBar(25, 8)).toBe('[██░░░░░░] 25%');
    expect(weightBar(0, 4)).toBe('[░░░░] 0%');
    expect(weightBar(100, 4)).toBe('[████] 100%');
  });

  it('describes each kind of step', () => {
    expect(describeStep({ setWeight: 5 })).toBe('setWeight: 5');
    expect(describeStep({ pause: {} })).toBe('pause (until promoted)');
    expect(describeStep({ pause: { duration: 60 } })).toBe('pause: 60s');
    expect(describeStep({ analysis: { successRate: { min: 99 }, latency: { maxMs: 500 } } })).toBe('analysis: successRate ≥ 99%, latency ≤ 500ms');
    expect(describeStep({ setCanaryScale: { replicas: 2 } })).toBe('setCanaryScale: 2 replicas');
    expect(describeStep({ experiment: { duration: '5m', templates: [{ name: 'baseline', specRef: 'stable' }, { name: 'canary', specRef: 'canary' }], analyses: [{ name: 'a', templateName: 'mann-whitney' }] } })).toBe('experiment: baseline (stable), canary (canary) for 5m; analysis: mann-whitney');
  });

  it('shows a paused canary: steps with the current marked, weights, ReplicaSets with roles and counts, runs with measurements', () => {
    const snap = snapshotOf(canary, [rs('bbb', '2026-01-01T00:00:30Z', 'web:2', 1, 1), rs('aaa', '2026-01-01T00:00:00Z', 'web:1', 4, 4), rs('zzz', '2026-01-01T00:00:00Z', 'x', 1, 1, [])], [run]);
    expect(snap.replicaSets.map((r) => r.metadata.name)).toEqual(['web-aaa', 'web-bbb']); // not owned: left out
    const text = renderRollout(snap, { now: T0 + 10_000, barWidth: 8 });
    expect(text).toContain('Status:        ॥ Paused\n');
    expect(text).toContain('Step:          1/4\n');
    expect(text).toContain('Canary:        [██░░░░░░] 25%\n');
    expect(text).toContain('Images:        web:2 (canary), web:1 (stable)\n');
    expect(text).toMatch(/ {2}✔ 0 {2}setWeight: 25\n {2}▶ 1 {2}pause \(until promoted\) \(paused: CanaryPauseStep\)\n {4}2 {2}analysis: rate\n/);
    expect(text).toMatch(/REVISION +NAME +ROLE +READY +AVAILABLE +IMAGES\n +2 +web-bbb +canary +1\/1 +1 +web:2\n +1 +web-aaa +stable +4\/4 +4 +web:1\n/);
    expect(text).toContain('  web-bbb-2 (step 2): Running\n');
    expect(text).toContain('      rate: Running (3✔ 1✖)  last: 0.5 ✖, 0.98 ✔, 0.97 ✔\n');
  });

  it('names the experiment templates that take traffic, with their shares', () => {
    const routed = { ...canary, status: { ...canary.status, canary: { weights: { canary: { weight: 25 }, stable: { weight: 25 }, additional: [{ serviceName: 'web-bbb-2-baseline', weight: 25 }, { serviceName: 'web-bbb-2-canary', weight: 25 }] } } } };
    const text = renderRollout(snapshotOf(routed, [], []), { now: T0, barWidth: 8 });
    expect(text).toContain('Experiment:    web-bbb-2-baseline 25%, web-bbb-2-canary 25%\n');
    expect(renderRollout(snapshotOf(canary, [], []), { now: T0, barWidth: 8 })).not.toContain('Experiment:');
  });

  it('says which webhook gate holds the rollout', () => {
    const held = { ...canary, status: { ...canary.status, pauseConditions: undefined, currentStepIndex: 4, message: 'waiting for gate approve (confirm-promotion): HTTP 403', gates: { waiting: { name: 'approve', type: 'confirm-promotion', since: '2026-01-01T00:00:05Z', message: 'HTTP 403' } } } };
    const text = renderRollout(snapshotOf(held, [], []), { now: T0 + 10_000, barWidth: 8 });
    expect(text).toContain('Gate:          waiting for gate approve (confirm-promotion): HTTP 403 (since 2026-01-01T00:00:05Z)\n');
  });

  it('counts down a timed pause', () => {
    const timed = { ...canary, status: { ...canary.status, currentStepIndex: 3 } };
    const text = renderRollout(snapshotOf(timed, [], []), { now: T0 + 12_000 });
    expect(text).toContain('▶ 3  pause: 30s (paused: 18s left)\n');
    expect(text).toContain('✔ 2  analysis: rate\n');
  });

  it('shows active and preview for blue-green from the status selectors', () => {
    const bg = {
      ...canary,
      spec: { replicas: 2, strategy: { blueGreen: { activeService: 'a', previewService: 'p' } } },
      status: { phase: 'Paused', stableRS: 'aaa', currentPodHash: 'bbb', blueGreen: { activeSelector: 'aaa', previewSelector: 'bbb' } },
    };
    const text = renderRollout(snapshotOf(bg, [rs('aaa', '2026-01-01T00:00:00Z', 'web:1', 2, 2), rs('bbb', '2026-01-01T00:01:00Z', 'web:2', 2, 1)], []), { now: T0 });
    expect(text).toContain('Strategy:      BlueGreen\n');
    expect(text).toContain('Active:        aaa  web:1\n');
    expect(text).toContain('Preview:       bbb  web:2\n');
    expect(text).toMatch(/web-bbb +preview +1\/2/);
    expect(text).toMatch(/web-aaa +active +2\/2/);
    expect(text).not.toContain('Steps:');
  });

  it('names the field of a malformed object', () => {
    expect(() => snapshotOf({ ...canary, spec: { replicas: 'x' } }, [], [])).toThrow(/Rollout: spec.replicas/);
  });
});
