import { describe, expect, it } from '@jest/globals';
import { fixtureNames, loadFixture, readArgoFixture } from '../../../test/fixtures/api/fixtures.ts';
import { normalizeRollout, normalizeTrafficRouting } from './normalize.ts';
import { rolloutSchema, rolloutStatusSchema } from './schema.ts';

const rolloutFixtures = fixtureNames().filter((n) => n.startsWith('rollout-'));

describe('rolloutSchema', () => {
  it('has Rollout fixtures to parse', () => {
    expect(rolloutFixtures.length).toBeGreaterThanOrEqual(5);
  });

  it.each(rolloutFixtures)('parses the Argo manifest %s without losing a field', (name) => {
    const manifest = loadFixture(name);
    const parsed = rolloutSchema.parse(manifest);
    // Every field the fixtures use is supported, so nothing may be stripped.
    expect(parsed).toEqual(manifest);
  });

  it('keeps the pod template whole, unknown fields included', () => {
    const parsed = rolloutSchema.parse(loadFixture('rollout-bluegreen.yaml'));
    expect(parsed.spec.template).toMatchObject({ spec: { containers: [{ readinessProbe: { httpGet: { path: '/healthz' } } }] } });
  });

  it('drops spec fields Sluice does not support instead of failing, so newer Argo fields never break a parse', () => {
    const m = loadFixture('rollout-canary-nginx.yaml');
    const spec = m.spec as { strategy: { canary: Record<string, unknown> } };
    spec.strategy.canary.antiAffinity = { requiredDuringSchedulingIgnoredDuringExecution: {} };
    const parsed = rolloutSchema.parse(m);
    expect(parsed.spec.strategy?.canary).not.toHaveProperty('antiAffinity');
    expect(parsed.spec.strategy?.canary?.steps).toHaveLength(6);
  });

  it('refuses wrong types with the path of the field', () => {
    const m = loadFixture('rollout-canary-nginx.yaml');
    (m.spec as Record<string, unknown>).replicas = 'three';
    const result = rolloutSchema.safeParse(m);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['spec', 'replicas']);
  });

  it('accepts the status Argo writes: observedGeneration as a string, weights, pause conditions', () => {
    const status = {
      phase: 'Paused',
      observedGeneration: '4',
      currentStepIndex: 1,
      pauseConditions: [{ reason: 'CanaryPauseStep', startTime: '2025-03-01T10:00:00Z' }],
      controllerPause: true,
      canary: { weights: { canary: { weight: 20, podTemplateHash: '7d9f', serviceName: 'c' }, stable: { weight: 80 } } },
      conditions: [{ type: 'Paused', status: 'True', reason: 'CanaryPauseStep' }],
      selector: 'app=checkout',
    };
    expect(rolloutStatusSchema.parse(status)).toEqual(status);
    expect(rolloutStatusSchema.parse({ observedGeneration: 4 }).observedGeneration).toBe(4);
    expect(rolloutStatusSchema.safeParse({ phase: 'Finished' }).success).toBe(false);
  });
});

describe('normalizeTrafficRouting', () => {
  it("maps Argo's argoproj-labs/gatewayAPI plugin onto gatewayAPI and drops the plugin entry", () => {
    expect(readArgoFixture('rollout-canary-gatewayapi-plugin.yaml').kind).toBe('Rollout');
    const rollout = normalizeRollout(rolloutSchema.parse(loadFixture('rollout-canary-gatewayapi-plugin.yaml')));
    expect(rollout.spec.strategy?.canary?.trafficRouting).toEqual({ gatewayAPI: { httpRoute: 'catalog', namespace: 'shop' } });
  });

  it('keeps other plugins and leaves a routing without the plugin as the same object', () => {
    const tr = { plugins: { 'argoproj-labs/gatewayAPI': { httpRoutes: [{ name: 'a' }] }, 'acme/other': { x: 1 } } };
    expect(normalizeTrafficRouting(tr)).toEqual({ gatewayAPI: { httpRoutes: [{ name: 'a' }] }, plugins: { 'acme/other': { x: 1 } } });
    const plain = { nginx: { stableIngress: 'web' } };
    expect(normalizeTrafficRouting(plain)).toBe(plain);
  });

  it('does not override an explicit gatewayAPI or map an unparsable plugin config', () => {
    const both = { gatewayAPI: { httpRoute: 'a' }, plugins: { 'argoproj-labs/gatewayAPI': { httpRoute: 'b' } } };
    expect(normalizeTrafficRouting(both)).toBe(both);
    const bad = { plugins: { 'argoproj-labs/gatewayAPI': { httpRoute: 42 } } };
    expect(normalizeTrafficRouting(bad)).toBe(bad);
  });
});
