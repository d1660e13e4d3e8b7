import { describe, expect, it } from '@jest/globals';
import { builtinChecks, judgeCarry, observeRuns, STEP_INDEX_LABEL, type AnalysisRunObject, type RunInput } from './analysis.ts';
import { BACKGROUND, PRE_PROMOTION } from './decide/types.ts';
import { POD_TEMPLATE_HASH_LABEL } from './hash.ts';

const ROLLOUT = 'uid-web';

function run(name: string, hash: string, step: string, phase: string | undefined, extra: { uid?: string; owner?: string; deleting?: boolean; terminate?: boolean } = {}): AnalysisRunObject {
  return {
    metadata: {
      name,
      uid: extra.uid ?? `uid-${name}`,
      labels: { [POD_TEMPLATE_HASH_LABEL]: hash, [STEP_INDEX_LABEL]: step },
      ownerReferences: [{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', name: 'web', uid: extra.owner ?? ROLLOUT, controller: true }],
      ...(extra.deleting === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    ...(extra.terminate === true ? { spec: { terminate: true } } : {}),
    ...(phase !== undefined ? { status: { phase } } : {}),
  };
}

describe('the runs a decision counts', () => {
  it('counts the current revision\'s own runs, by step, with their uids; an unstarted run reads Pending', () => {
    const seen = observeRuns([run('web-h2-pre-promotion', 'h2', 'pre-promotion', 'Running'), run('web-h2-0', 'h2', '0', undefined), run('other-h2-1', 'h2', '1', 'Failed', { owner: 'uid-other' })], ROLLOUT, 'h2', new Set());
    expect(seen.phases).toEqual({ [PRE_PROMOTION]: 'Running', 0: 'Pending' });
    expect(seen.uids).toEqual({ [PRE_PROMOTION]: 'uid-web-h2-pre-promotion', 0: 'uid-web-h2-0' });
    expect(seen.superseded).toEqual([]);
  });

  it('ignores a run being deleted and a run the controller deleted that a cache still holds; its successor counts', () => {
    const failed = run('web-h2-pre-promotion', 'h2', 'pre-promotion', 'Failed', { uid: 'first' });
    expect(observeRuns([failed], ROLLOUT, 'h2', new Set(['first'])).phases).toEqual({});
    expect(observeRuns([{ ...failed, metadata: { ...failed.metadata, uid: 'x', deletionTimestamp: '2026-01-01T00:00:00Z' } }], ROLLOUT, 'h2', new Set()).phases).toEqual({});
    const successor = run('web-h2-pre-promotion', 'h2', 'pre-promotion', 'Running', { uid: 'second' });
    expect(observeRuns([successor], ROLLOUT, 'h2', new Set(['first'])).phases).toEqual({ [PRE_PROMOTION]: 'Running' });
  });

  it('names the runs of superseded revisions still measuring, once (not those already told to end, finished, or not ours)', () => {
    const seen = observeRuns(
      [
        run('web-h1-background', 'h1', 'background', 'Running'),
        run('web-h1-0', 'h1', '0', undefined),
        run('web-h1-1', 'h1', '1', 'Running', { terminate: true }),
        run('web-h1-2', 'h1', '2', 'Successful'),
        run('web-h1-3', 'h1', '3', 'Running', { deleting: true }),
        run('other-h1-0', 'h1', '0', 'Running', { owner: 'uid-other' }),
        run('web-h2-background', 'h2', 'background', 'Running'),
      ],
      ROLLOUT,
      'h2',
      new Set(),
    );
    expect(seen.superseded).toEqual(['web-h1-background', 'web-h1-0']);
    expect(seen.phases).toEqual({ [BACKGROUND]: 'Running' });
  });
});

describe('the judge\'s metrics of a step', () => {
  const withState = (r: AnalysisRunObject, metric: string, state: object): AnalysisRunObject =>
    ({ ...r, status: { phase: 'Successful', metricResults: [{ name: metric, phase: 'Successful', measurements: [{ phase: 'Successful', metadata: { state: JSON.stringify(state) } }] }] } }) as AnalysisRunObject;

  it('carries the evidence of the latest earlier step of the same revision, without its counter baseline', () => {
    const state = { v: 1, startedAtMs: 5, seen: { k: 3 }, evidence: { v: 1 }, edgeMs: 50 };
    const runs = [
      withState(run('web-h2-1', 'h2', '1', 'Successful'), 'success-rate', { ...state, edgeMs: 10 }),
      withState(run('web-h2-3', 'h2', '3', 'Successful'), 'success-rate', state),
      withState(run('web-h1-4', 'h1', '4', 'Successful'), 'success-rate', { ...state, edgeMs: 99 }),
      withState(run('web-h2-7', 'h2', '7', 'Running'), 'success-rate', { ...state, edgeMs: 77 }),
    ];
    expect(judgeCarry(runs, ROLLOUT, 'h2', 5)).toEqual({ 'success-rate': { v: 1, evidence: { v: 1 }, edgeMs: 50 } });
    expect(judgeCarry(runs, ROLLOUT, 'h2', 1)).toEqual({});
    expect(judgeCarry(runs, ROLLOUT, 'h2', BACKGROUND)).toEqual({});
  });

  it('counts every comparison and guard in M, and gives a step (not the background run) its configured share', () => {
    const rollout = { metadata: { name: 'web' }, spec: { strategy: { canary: { trafficRouting: { istio: { virtualService: { name: 'web' } } } } } }, status: { stableRS: 'h1', canary: { weights: { canary: { weight: 20 } } } } };
    const input = (stepIndex: number) => ({
      ref: { name: 'web', namespace: 'ns', uid: ROLLOUT, rollout } as unknown as RunInput['ref'],
      templateHash: 'h2', stepIndex, templates: [], clusterTemplates: [],
      analysis: { judge: {}, successRate: { min: 99 }, latency: { maxMs: 500 }, prometheus: { address: 'http://127.0.0.1:9090' } },
    });
    const step = builtinChecks(input(3));
    expect(step.map((m) => m.name)).toEqual(['success-rate', 'latency-p99']);
    expect(step.map((m) => m.provider.judge?.tests)).toEqual([4, 4]);
    expect(step[0]?.provider.judge).toMatchObject({ router: 'istio', canary: 'web-h2', stable: 'web-h1', signal: 'errors', guardMaxBadRate: 0.01, configuredShare: 0.2, completeOnPass: true });
    expect(step[1]?.provider.judge).toMatchObject({ signal: 'latency', guardLatencyMs: 500, guardMaxBadRate: 0.01 });
    expect(step[0]?.interval).toBe('15s');
    const background = builtinChecks(input(BACKGROUND));
    expect(background[0]?.provider.judge?.configuredShare).toBeUndefined();
    expect(background[0]?.provider.judge?.completeOnPass).toBe(false);
  });

  it('Gateway API on Traefik: the canary and stable backend Services, so compareToStable works; Envoy cannot tell them apart', () => {
    const canary = { canaryService: 'web-canary', stableService: 'web-stable', trafficRouting: { gatewayAPI: { httpRoute: 'web' } } };
    const rollout = { metadata: { name: 'web' }, spec: { strategy: { canary } }, status: { stableRS: 'h1' } };
    const input = (gatewayAPIMetrics: 'envoy' | 'traefik') => ({
      ref: { name: 'web', namespace: 'ns', uid: ROLLOUT, rollout } as unknown as RunInput['ref'],
      templateHash: 'h2', stepIndex: 1, templates: [], clusterTemplates: [],
      analysis: { gatewayAPIMetrics, successRate: { min: 0 }, compareToStable: { maxSuccessRateDrop: 1 }, prometheus: { address: 'http://127.0.0.1:9090' } },
    });
    const [m] = builtinChecks(input('traefik'));
    expect(m?.provider.prometheus?.query).toContain('traefik_service_requests_total{service=~"ns-web-canary-http-[0-9]+@kubernetesgateway"}');
    expect(m?.provider.prometheus?.query).toContain('traefik_service_requests_total{service=~"ns-web-stable-http-[0-9]+@kubernetesgateway"}');
    expect(m?.successCondition).toBe('result[0] >= -1');
    expect(() => builtinChecks(input('envoy'))).toThrow(/compareToStable needs the stable revision's own metrics/);
  });
  it('the judge on the Gateway API reads Traefik\'s backend Services or Linkerd\'s template hashes, never one Envoy cluster', () => {
    const canary = { canaryService: 'web-canary', stableService: 'web-stable', trafficRouting: { gatewayAPI: { httpRoute: 'web' } } };
    const rollout = { metadata: { name: 'web' }, spec: { strategy: { canary } }, status: { stableRS: 'h1' } };
    const input = (gatewayAPIMetrics: 'envoy' | 'traefik' | 'linkerd') => ({
      ref: { name: 'web', namespace: 'ns', uid: ROLLOUT, rollout } as unknown as RunInput['ref'],
      templateHash: 'h2', stepIndex: 1, templates: [], clusterTemplates: [],
      analysis: { gatewayAPIMetrics, judge: {}, successRate: { min: 95 }, prometheus: { address: 'http://127.0.0.1:9090' } },
    });
    expect(builtinChecks(input('traefik'))[0]?.provider.judge).toMatchObject({ router: 'traefik', namespace: 'ns', canary: 'web-canary', stable: 'web-stable', signal: 'errors' });
    expect(builtinChecks(input('linkerd'))[0]?.provider.judge).toMatchObject({ router: 'linkerd', namespace: 'ns', canary: 'h2', stable: 'h1' });
    expect(() => builtinChecks(input('envoy'))).toThrow(/the judge compares the canary with stable on their own metrics/);
  });
});
