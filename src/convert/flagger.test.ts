import { describe, expect, it } from '@jest/globals';
import { weightLadder } from './flagger.ts';
import { find, findings, inline, printed } from './testing.ts';

describe('Flagger weights', () => {
  it('steps up by stepWeight until maxWeight is reached, passing it as Flagger does; stepWeights as listed', () => {
    expect(weightLadder(undefined, 10, 50)).toEqual([10, 20, 30, 40, 50]);
    expect(weightLadder(undefined, 20, 50)).toEqual([20, 40, 60]);
    expect(weightLadder(undefined, 30, undefined)).toEqual([30, 60, 90, 100]);
    expect(weightLadder([1, 2, 10, 80], undefined, undefined)).toEqual([1, 2, 10, 80]);
    expect(weightLadder(undefined, undefined, 50)).toEqual([]);
  });
});

describe('convert: Flagger service metadata', () => {
  it('reports service.primary metadata when the stable Service is the apex one (nginx)', () => {
    const r = inline('apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: a}\nspec:\n  provider: nginx\n  targetRef: {kind: Deployment, name: a}\n  ingressRef: {name: a}\n  service:\n    port: 80\n    primary: {labels: {tier: stable}}\n    canary: {labels: {tier: canary}}\n  analysis: {interval: 1m, stepWeight: 50}\n');
    expect(findings(r, 'unmapped')).toEqual(['10 spec.service.primary']);
    expect(find(r, 'Service', 'a-canary').metadata.labels).toEqual({ tier: 'canary' });
  });
});

describe('convert: Flagger A/B', () => {
  it('turns the header match of an A/B Canary into a header route step for `iterations` intervals', () => {
    const r = inline(`apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: ab}
spec:
  provider: istio
  targetRef: {kind: Deployment, name: ab}
  service: {port: 80}
  analysis:
    interval: 1m
    threshold: 2
    iterations: 10
    match:
      - headers:
          x-canary: {exact: insider}
          cookie: {suffix: "; beta=1"}
      - sourceLabels: {app: tester}
    metrics:
      - {name: request-success-rate, thresholdRange: {min: 99}, interval: 1m}
`);
    expect(findings(r, 'unmapped')).toEqual(['16 spec.analysis.match[1]']);
    const canary = (find(r, 'Rollout', 'ab').spec as { strategy: { canary: Record<string, unknown> } }).strategy.canary;
    expect(canary.trafficRouting).toEqual({ istio: { virtualService: { name: 'ab' } }, managedRoutes: [{ name: 'ab-test' }] });
    expect(canary.steps).toEqual([
      { setCanaryScale: { weight: 100 } },
      { setHeaderRoute: { name: 'ab-test', match: [{ headerName: 'x-canary', headerValue: { exact: 'insider' } }, { headerName: 'cookie', headerValue: { regex: '.*; beta=1$' } }] } },
      { pause: { duration: '10m' } },
      { setHeaderRoute: { name: 'ab-test' } },
    ]);
    expect(printed(r).errors).toEqual([]);
  });
});
