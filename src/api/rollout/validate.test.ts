import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { fixtureNames, loadFixture } from '../../../test/fixtures/api/fixtures.ts';
import { ROLLOUT_STEP_KINDS, rolloutSchema, type CanaryStep, type Rollout } from './schema.ts';
import { validateRollout, type RolloutValidationContext } from './validate.ts';

function fixture(name: string): Rollout {
  return rolloutSchema.parse(loadFixture(name));
}
const canaryOf = (r: Rollout) => r.spec.strategy?.canary as NonNullable<NonNullable<Rollout['spec']['strategy']>['canary']>;
const fields = (r: Rollout, ctx?: RolloutValidationContext) => validateRollout(r, ctx).map((e) => e.field);

const ctx: RolloutValidationContext = {
  analysisTemplates: new Set(['success-rate', 'smoke-tests']),
  clusterAnalysisTemplates: new Set(['latency-p99']),
};

describe('validateRollout', () => {
  it.each(fixtureNames().filter((n) => n.startsWith('rollout-')))('finds nothing wrong in %s', (name) => {
    expect(validateRollout(fixture(name), ctx)).toEqual([]);
  });

  it('needs exactly one of template and workloadRef', () => {
    const both = fixture('rollout-canary-nginx.yaml');
    both.spec.workloadRef = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' };
    expect(validateRollout(both)).toContainEqual({ field: 'spec', message: expect.stringContaining('not both') as unknown });
    const neither = fixture('rollout-canary-nginx.yaml');
    delete neither.spec.template;
    expect(validateRollout(neither)).toEqual([{ field: 'spec', message: 'set exactly one of template and workloadRef' }]);
  });

  it('needs workloadRef kind and name', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    delete r.spec.template;
    r.spec.workloadRef = { apiVersion: 'apps/v1', kind: 'Deployment' };
    expect(fields(r)).toEqual(['spec.workloadRef.name']);
  });

  it('needs exactly one strategy', () => {
    const both = fixture('rollout-canary-nginx.yaml');
    both.spec.strategy = { ...both.spec.strategy, blueGreen: { activeService: 'a' } };
    expect(fields(both)).toEqual(['spec.strategy']);
    const neither = fixture('rollout-canary-nginx.yaml');
    neither.spec.strategy = {};
    expect(validateRollout(neither)).toEqual([{ field: 'spec.strategy', message: 'set exactly one of canary and blueGreen' }]);
  });

  it('checks an experiment step: templates, weight (NGINX cannot route it), duration and the analyses\' templates, by field', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    canaryOf(r).steps = [
      { setWeight: 10 },
      { pause: {} },
      {
        experiment: {
          duration: 'soon',
          templates: [{ name: 'baseline', specRef: 'stable', weight: 5 }, { name: 'baseline', specRef: 'canary' }],
          analyses: [{ name: 'a', templateName: 'success-rate' }, { name: 'b', templateName: 'missing' }],
        },
      },
      { experiment: { templates: [] } },
    ];
    expect(validateRollout(r, ctx).map((e) => `${e.field}: ${e.message}`)).toEqual([
      'spec.strategy.canary.steps[2].experiment.templates[0].weight: traffic to an experiment template needs trafficRouting istio or gatewayAPI (NGINX Ingress splits between two Services only): remove weight, or route with one of them',
      'spec.strategy.canary.steps[2].experiment.templates[1].name: duplicate name "baseline"',
      'spec.strategy.canary.steps[2].experiment.duration: invalid duration "soon": unexpected "soon" (units: ns, us, ms, s, m, h)',
      'spec.strategy.canary.steps[2].experiment.analyses[1].templateName: AnalysisTemplate "missing" not found',
      'spec.strategy.canary.steps[3].experiment.templates: needs at least one template (specRef: canary or stable)',
    ]);
  });

  it('allows template weights on Istio and the Gateway API, within what the canary leaves, and checks Service names', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    const c = canaryOf(r);
    c.trafficRouting = { gatewayAPI: { httpRoute: 'web' } };
    c.steps = [
      { setWeight: 50 },
      { experiment: { templates: [{ name: 'baseline', specRef: 'stable', weight: 25 }, { name: 'canary', specRef: 'canary', weight: 25, service: { name: 'Canary_Svc' } }] } },
      { experiment: { templates: [{ name: 'baseline', specRef: 'stable', weight: 30 }, { name: 'canary', specRef: 'canary', weight: 30 }] } },
      { experiment: { templates: [{ name: 'big', specRef: 'canary', weight: 101 }] } },
    ];
    expect(validateRollout(r).map((e) => `${e.field}: ${e.message}`)).toEqual([
      'spec.strategy.canary.steps[1].experiment.templates[1].service.name: must be a lowercase DNS label (a Service name), got "Canary_Svc"',
      'spec.strategy.canary.steps[2].experiment.templates: the templates\' weights (60) and the canary\'s weight in force at this step (50) add up to more than 100',
      'spec.strategy.canary.steps[3].experiment.templates[0].weight: must be between 0 and 100, got 101',
      'spec.strategy.canary.steps[3].experiment.templates: the templates\' weights (101) and the canary\'s weight in force at this step (50) add up to more than 100',
    ]);
    delete c.trafficRouting;
    delete c.canaryService;
    delete c.stableService;
    c.steps = [{ experiment: { templates: [{ name: 'baseline', specRef: 'stable', weight: 10 }] } }];
    expect(validateRollout(r).map((e) => e.message)).toContainEqual(expect.stringContaining('the Rollout has no trafficRouting'));
  });

  it('checks analysisRunMetadata keys and label values by Kubernetes\' rules, and keeps sluice.dev/ labels Sluice\'s', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    canaryOf(r).steps = [{ setWeight: 10 }, { analysis: { successRate: { min: 99 }, analysisRunMetadata: { labels: { team: 'a', 'sluice.dev/rollout': 'x', 'bad key': 'v', ok: 'not valid!' }, annotations: { 'example.com/note': 'any text at all', '-x': 'v' } } } }];
    expect(validateRollout(r).map((e) => `${e.field}: ${e.message}`)).toEqual([
      'spec.strategy.canary.steps[1].analysis.analysisRunMetadata.labels["sluice.dev/rollout"]: sluice.dev/ labels are Sluice\'s own: it sets them to find the run',
      'spec.strategy.canary.steps[1].analysis.analysisRunMetadata.labels["bad key"]: not a valid key: an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or "."',
      'spec.strategy.canary.steps[1].analysis.analysisRunMetadata.labels["ok"]: not a valid label value: at most 63 letters, digits, "-", "_" or ".", got "not valid!"',
      'spec.strategy.canary.steps[1].analysis.analysisRunMetadata.annotations["-x"]: not a valid key: an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or "."',
    ]);
  });

  it('reports a step with two kinds by index, naming the kinds found', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    canaryOf(r).steps = [{ setWeight: 10 }, { setWeight: 20, pause: {} }];
    const errors = validateRollout(r);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.field).toBe('spec.strategy.canary.steps[1]');
    expect(errors[0]?.message).toContain('found setWeight, pause');
  });

  it('reports any step with other than one kind (property)', () => {
    const stepValues: Record<(typeof ROLLOUT_STEP_KINDS)[number], unknown> = {
      setWeight: 10,
      pause: {},
      setCanaryScale: { replicas: 1 },
      analysis: { templates: [{ templateName: 'success-rate' }] },
      experiment: { templates: [{ name: 'canary', specRef: 'canary' }] },
      setHeaderRoute: { name: 'header-canary' },
      setMirrorRoute: { name: 'header-canary' },
    };
    const base = fixture('rollout-canary-istio.yaml');
    fc.assert(
      fc.property(fc.array(fc.subarray([...ROLLOUT_STEP_KINDS]), { minLength: 1, maxLength: 6 }), (kindSets) => {
        const r = structuredClone(base);
        canaryOf(r).steps = kindSets.map((kinds) => Object.fromEntries(kinds.map((k) => [k, stepValues[k]])) as CanaryStep);
        const reported = new Set(validateRollout(r, ctx).filter((e) => /^spec\.strategy\.canary\.steps\[\d+\]$/.test(e.field)).map((e) => e.field));
        const expected = new Set(kindSets.flatMap((kinds, i) => (kinds.length === 1 ? [] : [`spec.strategy.canary.steps[${i}]`])));
        expect(reported).toEqual(expected);
      }),
    );
  });

  it.each([-1, 101])('keeps setWeight within 0..100 (%d)', (w) => {
    const r = fixture('rollout-canary-nginx.yaml');
    canaryOf(r).steps = [{ setWeight: 0 }, { setWeight: 100 }, { setWeight: w }];
    expect(fields(r)).toEqual(['spec.strategy.canary.steps[2].setWeight']);
  });

  it('needs exactly one option in setCanaryScale', () => {
    const r = fixture('rollout-canary-istio.yaml');
    canaryOf(r).steps = [{ setCanaryScale: { replicas: 1, weight: 20 } }, { setCanaryScale: {} }];
    expect(fields(r)).toEqual(['spec.strategy.canary.steps[0].setCanaryScale', 'spec.strategy.canary.steps[1].setCanaryScale']);
  });

  it('needs trafficRouting for setCanaryScale', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    delete canaryOf(r).trafficRouting;
    delete canaryOf(r).scaleDownDelaySeconds;
    canaryOf(r).steps = [{ setCanaryScale: { weight: 20 } }];
    expect(validateRollout(r)).toEqual([{ field: 'spec.strategy.canary.steps[0].setCanaryScale', message: 'needs spec.strategy.canary.trafficRouting' }]);
  });

  it('keeps the mirror percentage within 0..100', () => {
    const r = fixture('rollout-canary-scale-analysis.yaml');
    canaryOf(r).steps = [{ setMirrorRoute: { name: 'mirror-canary', percentage: 120 } }];
    expect(fields(r, ctx)).toEqual(['spec.strategy.canary.steps[0].setMirrorRoute.percentage']);
  });

  it('needs header and mirror routes listed in managedRoutes', () => {
    const r = fixture('rollout-canary-istio.yaml');
    canaryOf(r).steps = [{ setHeaderRoute: { name: 'unlisted' } }];
    expect(fields(r)).toEqual(['spec.strategy.canary.steps[0].setHeaderRoute.name']);
  });

  it('reports a pause duration that does not parse', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    canaryOf(r).steps = [{ pause: { duration: '5 minutes' } }];
    expect(validateRollout(r)).toEqual([{ field: 'spec.strategy.canary.steps[0].pause.duration', message: expect.stringContaining('"5 minutes"') as unknown }]);
  });

  it('needs canaryService and stableService for a traffic-routed canary', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    delete canaryOf(r).canaryService;
    delete canaryOf(r).stableService;
    expect(fields(r)).toEqual(['spec.strategy.canary.canaryService', 'spec.strategy.canary.stableService']);
  });

  it('takes gatewayAPIMetrics only with a Gateway API router', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    canaryOf(r).analysis = { successRate: { min: 99 }, gatewayAPIMetrics: 'traefik' };
    expect(fields(r)).toEqual(['spec.strategy.canary.analysis.gatewayAPIMetrics']);
    canaryOf(r).trafficRouting = { gatewayAPI: { httpRoute: 'web' } };
    expect(fields(r)).toEqual([]);
  });

  it('needs no Services when Istio splits by DestinationRule subsets', () => {
    const r = fixture('rollout-canary-istio.yaml');
    delete canaryOf(r).canaryService;
    delete canaryOf(r).stableService;
    const istio = canaryOf(r).trafficRouting?.istio;
    expect(istio?.destinationRule).toBeDefined(); // the fixture splits by subsets
    expect(validateRollout(r, ctx)).toEqual([]);
    delete istio?.destinationRule;
    expect(fields(r, ctx)).toEqual(['spec.strategy.canary.canaryService', 'spec.strategy.canary.stableService']);
  });

  it('needs both subset names on an Istio destinationRule', () => {
    const r = fixture('rollout-canary-istio.yaml');
    const dr = canaryOf(r).trafficRouting?.istio?.destinationRule;
    if (dr === undefined) throw new Error('fixture lost its destinationRule');
    delete dr.stableSubsetName;
    expect(fields(r)).toEqual(['spec.strategy.canary.trafficRouting.istio.destinationRule.stableSubsetName']);
  });

  it('reports unsupported traffic-router plugins and a plugin that conflicts with gatewayAPI', () => {
    const r = fixture('rollout-canary-gatewayapi-plugin.yaml');
    const tr = canaryOf(r).trafficRouting;
    if (tr === undefined) throw new Error('fixture lost its trafficRouting');
    tr.plugins = { ...tr.plugins, 'argoproj-labs/contour': {} };
    expect(fields(r)).toEqual(['spec.strategy.canary.trafficRouting.plugins["argoproj-labs/contour"]']);
    tr.gatewayAPI = { httpRoute: 'x' };
    expect(fields(r)).toContain('spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"]');
  });

  it('reports analysis templates that do not exist, only when it knows what exists', () => {
    const r = fixture('rollout-canary-scale-analysis.yaml');
    const known = { analysisTemplates: new Set<string>(), clusterAnalysisTemplates: new Set(['success-rate']) };
    expect(validateRollout(r, known)).toEqual([
      { field: 'spec.strategy.canary.steps[3].analysis.templates[0].templateName', message: 'AnalysisTemplate "success-rate" not found' },
      { field: 'spec.strategy.canary.steps[3].analysis.templates[1].templateName', message: 'ClusterAnalysisTemplate "latency-p99" not found' },
    ]);
    expect(validateRollout(r)).toEqual([]);
    const bg = fixture('rollout-bluegreen.yaml');
    expect(fields(bg, { ...ctx, analysisTemplates: new Set(['success-rate']) })).toEqual(['spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName']);
  });

  it('needs activeService for blue-green', () => {
    const r = fixture('rollout-bluegreen.yaml');
    delete r.spec.strategy?.blueGreen?.activeService;
    expect(fields(r)).toEqual(['spec.strategy.blueGreen.activeService']);
  });

  it('rejects builtin checks in blue-green analyses: they read a traffic router a blue-green rollout does not have', () => {
    const r = fixture('rollout-bluegreen.yaml');
    const bg = r.spec.strategy?.blueGreen;
    if (bg === undefined) throw new Error('fixture is not blue-green');
    bg.postPromotionAnalysis = { successRate: { min: 99 } };
    expect(validateRollout(r, ctx)).toEqual([
      { field: 'spec.strategy.blueGreen.postPromotionAnalysis.successRate', message: expect.stringContaining('need a traffic router') as unknown },
    ]);
  });

  it('needs a selector that matches the template labels', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    r.spec.selector = { matchLabels: { app: 'other' } };
    expect(validateRollout(r)).toEqual([{ field: 'spec.selector', message: expect.stringContaining('does not match spec.template.metadata.labels') as unknown }]);
    r.spec.selector = {};
    expect(fields(r)).toEqual(['spec.selector']);
    delete r.spec.selector;
    expect(validateRollout(r)).toEqual([{ field: 'spec.selector', message: 'required when spec.template is set' }]);
  });
});

describe('validateRollout: the limits Argo enforces', () => {
  it('refuses maxSurge and maxUnavailable both 0, naming spec.strategy.canary.maxSurge (ints, percentages, strings)', () => {
    for (const [surge, unavailable] of [[0, 0], ['0%', 0], [0, '0%'], ['0', '0%']] as const) {
      const r = fixture('rollout-canary-nginx.yaml');
      Object.assign(canaryOf(r), { maxSurge: surge, maxUnavailable: unavailable });
      expect(validateRollout(r)).toEqual([{ field: 'spec.strategy.canary.maxSurge', message: expect.stringContaining('must not both be 0') as unknown }]);
    }
    const one = fixture('rollout-canary-nginx.yaml');
    Object.assign(canaryOf(one), { maxSurge: 0, maxUnavailable: 1 });
    expect(validateRollout(one)).toEqual([]);
    // The defaults (25% each) are fine; only one set to 0 leaves the other's default.
    const half = fixture('rollout-canary-nginx.yaml');
    canaryOf(half).maxUnavailable = 0;
    expect(validateRollout(half)).toEqual([]);
  });

  it('refuses a surge that is neither a count nor a percentage, and maxUnavailable over 100%', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    Object.assign(canaryOf(r), { maxSurge: 'lots', maxUnavailable: '150%' });
    expect(fields(r)).toEqual(['spec.strategy.canary.maxSurge', 'spec.strategy.canary.maxUnavailable']);
  });

  it('needs progressDeadlineSeconds above minReadySeconds (the default deadline counts)', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    r.spec.minReadySeconds = 30;
    r.spec.progressDeadlineSeconds = 30;
    expect(validateRollout(r)).toEqual([{ field: 'spec.progressDeadlineSeconds', message: 'must be greater than minReadySeconds (30), got 30' }]);
    delete r.spec.progressDeadlineSeconds;
    r.spec.minReadySeconds = 600;
    expect(validateRollout(r)).toEqual([{ field: 'spec.progressDeadlineSeconds', message: 'must be greater than minReadySeconds (600), got 600 (the default)' }]);
    r.spec.minReadySeconds = 599;
    expect(validateRollout(r)).toEqual([]);
  });

  it('needs a router for dynamicStableScale, and refuses it with scaleDownDelaySeconds', () => {
    const r = fixture('rollout-canary-nginx.yaml');
    canaryOf(r).dynamicStableScale = true;
    expect(fields(r)).toEqual(['spec.strategy.canary.dynamicStableScale']);
    delete canaryOf(r).scaleDownDelaySeconds;
    expect(validateRollout(r)).toEqual([]);
    delete canaryOf(r).trafficRouting;
    delete canaryOf(r).canaryService;
    delete canaryOf(r).stableService;
    expect(validateRollout(r)).toEqual([{ field: 'spec.strategy.canary.dynamicStableScale', message: 'needs spec.strategy.canary.trafficRouting' }]);
  });

  it('needs exactly one of exact, regex, prefix in header and mirror matches', () => {
    const r = fixture('rollout-canary-istio.yaml');
    const steps = canaryOf(r).steps ?? [];
    const at = steps.findIndex((s) => s.setHeaderRoute !== undefined);
    const route = steps[at]?.setHeaderRoute as NonNullable<CanaryStep['setHeaderRoute']>;
    route.match = [{ headerName: 'x', headerValue: { exact: 'a', prefix: 'b' } }, { headerName: 'y', headerValue: {} }];
    expect(validateRollout(r, ctx)).toEqual([
      { field: `spec.strategy.canary.steps[${at}].setHeaderRoute.match[0].headerValue`, message: 'set exactly one of exact, regex, prefix; found exact, prefix' },
      { field: `spec.strategy.canary.steps[${at}].setHeaderRoute.match[1].headerValue`, message: 'set exactly one of exact, regex, prefix; found none' },
    ]);
  });
});
