import { describe, expect, it } from '@jest/globals';
import { checkRollout, INVALID_SPEC, specStatus, specStatusChanged } from './spec.ts';

const T0 = '2026-01-01T00:00:00Z';

const rollout = (steps: unknown[]) => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'web', namespace: 'shop', generation: 3 },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:1' }] } },
    strategy: { canary: { steps } },
  },
});

describe('rollout spec check', () => {
  it('accepts a valid rollout', () => {
    const c = checkRollout(rollout([{ setWeight: 20 }, { pause: {} }]));
    expect(c.ok).toBe(true);
    expect(specStatus(undefined, c, 3, T0)).toEqual({ observedGeneration: '3', conditions: [] });
  });

  it('names each bad field in one InvalidSpec condition and reports Degraded', () => {
    const c = checkRollout(rollout([{ setWeight: 20, pause: {} }, { setWeight: 120 }]));
    expect(c.ok).toBe(false);
    const s = specStatus(undefined, c, 3, T0);
    expect(s.phase).toBe('Degraded');
    expect(s.conditions).toHaveLength(1);
    expect(s.conditions[0]).toMatchObject({ type: INVALID_SPEC, status: 'True', reason: INVALID_SPEC });
    expect(s.conditions[0]?.message).toContain('spec.strategy.canary.steps[0]');
    expect(s.conditions[0]?.message).toContain('spec.strategy.canary.steps[1].setWeight');
    expect(s.message).toMatch(/^InvalidSpec: /);
  });

  it('reports a structurally wrong object instead of throwing', () => {
    const c = checkRollout({ ...rollout([]), spec: { replicas: 'three' } });
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.errors.map((e) => e.field)).toContain('spec.replicas');
  });

  it('clears InvalidSpec once fixed, and needs no write when nothing changed', () => {
    const bad = specStatus(undefined, checkRollout(rollout([{ setWeight: 120 }])), 3, T0);
    const good = specStatus({ ...bad, observedGeneration: '3' }, checkRollout(rollout([{ setWeight: 20 }])), 4, T0);
    expect(good).toEqual({ observedGeneration: '4', conditions: [] });
    expect(specStatusChanged({ ...bad }, good)).toBe(true);
    expect(specStatusChanged({ observedGeneration: '4', conditions: [] }, good)).toBe(false);
    expect(specStatusChanged({ observedGeneration: 4, conditions: [], phase: 'Healthy' }, good)).toBe(false); // not our phase
    expect(specStatusChanged(bad, bad)).toBe(false);
  });
});
