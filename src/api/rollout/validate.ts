// Semantic rules a zod schema cannot express. Pure: the result is a list of errors naming fields, which the
// controller turns into an InvalidSpec condition (errors are data).
import { durationError } from '../common/duration.ts';
import type { SpecError } from '../common/errors.ts';
import { fieldPath } from '../common/errors.ts';
import { selectorMatches } from '../common/meta.ts';
import { normalizeTrafficRouting } from './normalize.ts';
import { judgeErrors } from './judge.ts';
import { limitErrors } from './validate-limits.ts';
import { webhookErrors } from './validate-webhooks.ts';
import { experimentStepErrors } from './validate-experiment.ts';
import {
  ARGO_GATEWAY_API_PLUGIN,
  ROLLOUT_STEP_KINDS,
  gatewayApiSchema,
  type CanaryStep,
  type CanaryStrategy,
  type Rollout,
  type RolloutAnalysis,
  type TrafficRouting,
} from './schema.ts';

/** What exists in the cluster, for references a schema cannot check. Without it those checks are skipped. */
export interface RolloutValidationContext {
  /** AnalysisTemplate names in the Rollout's namespace. */
  analysisTemplates: ReadonlySet<string>;
  /** ClusterAnalysisTemplate names. */
  clusterAnalysisTemplates: ReadonlySet<string>;
}

export function validateRollout(rollout: Rollout, ctx?: RolloutValidationContext): SpecError[] {
  const errors: SpecError[] = [];
  const spec = rollout.spec;

  if (spec.template !== undefined && spec.workloadRef !== undefined) {
    errors.push({ field: 'spec', message: 'set exactly one of template and workloadRef, not both' });
  } else if (spec.template === undefined && spec.workloadRef === undefined) {
    errors.push({ field: 'spec', message: 'set exactly one of template and workloadRef' });
  }
  if (spec.workloadRef !== undefined) {
    for (const key of ['kind', 'name'] as const) {
      if (spec.workloadRef[key] === undefined || spec.workloadRef[key] === '') {
        errors.push({ field: `spec.workloadRef.${key}`, message: 'required' });
      }
    }
  }
  if (spec.template !== undefined) errors.push(...selectorErrors(rollout));

  const canary = spec.strategy?.canary;
  const blueGreen = spec.strategy?.blueGreen;
  if (canary !== undefined && blueGreen !== undefined) {
    errors.push({ field: 'spec.strategy', message: 'set exactly one of canary and blueGreen, not both' });
  } else if (canary === undefined && blueGreen === undefined) {
    errors.push({ field: 'spec.strategy', message: 'set exactly one of canary and blueGreen' });
  }

  if (canary !== undefined) errors.push(...canaryErrors(canary, ctx), ...webhookErrors('spec.strategy.canary', canary.webhooks));
  errors.push(...limitErrors(rollout));
  if (blueGreen !== undefined) {
    const base = 'spec.strategy.blueGreen';
    errors.push(...webhookErrors(base, blueGreen.webhooks));
    (blueGreen.webhooks ?? []).forEach((h, i) => {
      if (h.type === 'confirm-traffic-increase') errors.push({ field: `${fieldPath(base, 'webhooks', i)}.type`, message: 'confirm-traffic-increase holds a rising canary weight; a blue-green rollout has none (use confirm-rollout or confirm-promotion)' });
    });
    if (blueGreen.activeService === undefined || blueGreen.activeService === '') {
      errors.push({ field: `${base}.activeService`, message: 'required for a blue-green rollout' });
    } else if (blueGreen.previewService === blueGreen.activeService) {
      errors.push({ field: `${base}.previewService`, message: 'must differ from activeService' });
    }
    for (const key of ['prePromotionAnalysis', 'postPromotionAnalysis'] as const) {
      const analysis = blueGreen[key];
      errors.push(...analysisErrors(`${base}.${key}`, analysis, ctx, 'bluegreen'));
      // The builtin checks query a traffic router's metrics; a blue-green rollout switches Services and has none.
      for (const check of ['successRate', 'latency', 'compareToStable'] as const) {
        if (analysis?.[check] !== undefined) errors.push({ field: `${base}.${key}.${check}`, message: 'builtin checks need a traffic router (canary trafficRouting); use templates in a blue-green rollout' });
      }
    }
  }
  return errors;
}

function selectorErrors(rollout: Rollout): SpecError[] {
  const { selector, template } = rollout.spec;
  if (selector === undefined) return [{ field: 'spec.selector', message: 'required when spec.template is set' }];
  if (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0) {
    return [{ field: 'spec.selector', message: 'must not be empty: an empty selector would match every pod in the namespace' }];
  }
  const labels = template?.metadata?.labels ?? {};
  if (!selectorMatches(selector, labels)) {
    return [{ field: 'spec.selector', message: `does not match spec.template.metadata.labels ${JSON.stringify(labels)}` }];
  }
  return [];
}

/** The step kinds a step sets, in declaration order. */
export function stepKinds(step: CanaryStep): string[] {
  return ROLLOUT_STEP_KINDS.filter((k) => step[k] !== undefined);
}

function canaryErrors(canary: CanaryStrategy, ctx: RolloutValidationContext | undefined): SpecError[] {
  const base = 'spec.strategy.canary';
  const errors: SpecError[] = [];
  const tr = canary.trafficRouting === undefined ? undefined : normalizeTrafficRouting(canary.trafficRouting);
  const managed = new Set((tr?.managedRoutes ?? []).map((r) => r.name));

  // Istio subset-level splitting routes by DestinationRule subsets instead of two Services.
  const subsetSplit = tr?.istio?.destinationRule !== undefined;
  if (tr !== undefined && !subsetSplit) {
    for (const key of ['canaryService', 'stableService'] as const) {
      if (canary[key] === undefined || canary[key] === '') {
        errors.push({ field: `${base}.${key}`, message: 'required when trafficRouting is set (unless Istio routes by destinationRule subsets)' });
      }
    }
  }
  if (tr !== undefined) errors.push(...trafficRoutingErrors(`${base}.trafficRouting`, tr));
  if (canary.canaryService !== undefined && canary.canaryService === canary.stableService) {
    errors.push({ field: `${base}.stableService`, message: 'must differ from canaryService' });
  }

  const steps = canary.steps ?? [];
  steps.forEach((step, i) => {
    const at = fieldPath(base, 'steps', i);
    const kinds = stepKinds(step);
    if (kinds.length !== 1) {
      const found = kinds.length === 0 ? 'none' : kinds.join(', ');
      errors.push({ field: at, message: `a step must set exactly one of ${ROLLOUT_STEP_KINDS.join(', ')}; found ${found}` });
    }
    if (step.setWeight !== undefined && (step.setWeight < 0 || step.setWeight > 100)) {
      errors.push({ field: `${at}.setWeight`, message: `must be between 0 and 100, got ${step.setWeight}` });
    }
    const pauseErr = durationError(`${at}.pause.duration`, step.pause?.duration);
    if (pauseErr !== undefined) errors.push(pauseErr);
    if (step.setCanaryScale !== undefined) errors.push(...canaryScaleErrors(`${at}.setCanaryScale`, step.setCanaryScale, tr));
    if (step.analysis !== undefined) errors.push(...analysisErrors(`${at}.analysis`, step.analysis, ctx, routerOf(tr)));
    if (step.experiment !== undefined) errors.push(...experimentStepErrors(`${at}.experiment`, step.experiment, ctx, { router: routerOf(tr), weightInForce: steps.slice(0, i + 1).reduce((w, x) => x.setWeight ?? w, 0) }));
    if (step.setMirrorRoute !== undefined) {
      const pct = step.setMirrorRoute.percentage;
      if (pct !== undefined && (pct < 0 || pct > 100)) {
        errors.push({ field: `${at}.setMirrorRoute.percentage`, message: `must be between 0 and 100, got ${pct}` });
      }
    }
    for (const kind of ['setHeaderRoute', 'setMirrorRoute'] as const) {
      const route = step[kind];
      if (route !== undefined && !managed.has(route.name)) {
        errors.push({ field: `${at}.${kind}.name`, message: `route "${route.name}" must be listed in trafficRouting.managedRoutes` });
      }
    }
  });

  if (canary.analysis !== undefined) {
    errors.push(...analysisErrors(`${base}.analysis`, canary.analysis, ctx, routerOf(tr)));
    const start = canary.analysis.startingStep;
    if (start !== undefined && start > steps.length) {
      errors.push({ field: `${base}.analysis.startingStep`, message: `${start} is past the last step (${steps.length} steps)` });
    }
  }
  return errors;
}

function canaryScaleErrors(at: string, scale: NonNullable<CanaryStep['setCanaryScale']>, tr: TrafficRouting | undefined): SpecError[] {
  const errors: SpecError[] = [];
  const set = (['replicas', 'weight', 'matchTrafficWeight'] as const).filter((k) => scale[k] !== undefined);
  if (set.length !== 1) {
    errors.push({ field: at, message: `set exactly one of replicas, weight, matchTrafficWeight; found ${set.length === 0 ? 'none' : set.join(', ')}` });
  }
  if (scale.weight !== undefined && (scale.weight < 0 || scale.weight > 100)) {
    errors.push({ field: `${at}.weight`, message: `must be between 0 and 100, got ${scale.weight}` });
  }
  if (scale.replicas !== undefined && scale.replicas < 0) {
    errors.push({ field: `${at}.replicas`, message: `must not be negative, got ${scale.replicas}` });
  }
  // Without a router the canary's share of traffic is its share of pods, so scaling it apart means nothing.
  if (tr === undefined) errors.push({ field: at, message: 'needs spec.strategy.canary.trafficRouting' });
  return errors;
}

/** The router family whose metrics the builtin checks and the judge read. */
function routerOf(tr: TrafficRouting | undefined): 'istio' | 'nginx' | 'gatewayAPI' | 'none' {
  if (tr?.istio !== undefined) return 'istio';
  if (tr?.nginx !== undefined) return 'nginx';
  if (tr?.gatewayAPI !== undefined) return 'gatewayAPI';
  return 'none';
}

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Kubernetes' rules for label and annotation keys and label values, so a run is never refused at creation. */
function runMetadataErrors(at: string, meta: RolloutAnalysis['analysisRunMetadata']): SpecError[] {
  const errors: SpecError[] = [];
  for (const [kind, map] of [['labels', meta?.labels], ['annotations', meta?.annotations]] as const) {
    for (const [key, value] of Object.entries(map ?? {})) {
      const field = `${at}.${kind}["${key}"]`;
      if (!QUALIFIED_NAME.test(key)) errors.push({ field, message: 'not a valid key: an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or "."' });
      else if (kind === 'labels' && key.startsWith('sluice.dev/')) errors.push({ field, message: 'sluice.dev/ labels are Sluice\'s own: it sets them to find the run' });
      else if (kind === 'labels' && !LABEL_VALUE.test(value)) errors.push({ field, message: `not a valid label value: at most 63 letters, digits, "-", "_" or ".", got "${value}"` });
    }
  }
  return errors;
}

function analysisErrors(at: string, analysis: RolloutAnalysis | undefined, ctx: RolloutValidationContext | undefined, router: Parameters<typeof judgeErrors>[2]): SpecError[] {
  if (analysis === undefined) return [];
  const judged = judgeErrors(at, analysis, router);
  const templates = analysis.templates ?? [];
  const builtin = analysis.successRate !== undefined || analysis.latency !== undefined;
  if (templates.length === 0 && !builtin) return [{ field: `${at}.templates`, message: 'needs at least one template, or a builtin check (successRate, latency)' }, ...judged];
  const errors: SpecError[] = [...judged];
  if (analysis.interval !== undefined && !/^\d+(ms|s|m|h)$/.test(analysis.interval)) {
    errors.push({ field: `${at}.interval`, message: `must be a single-unit duration like "1m" or "30s", got "${analysis.interval}"` });
  }
  if (analysis.gatewayAPIMetrics !== undefined && router !== 'gatewayAPI') {
    errors.push({ field: `${at}.gatewayAPIMetrics`, message: 'names a Gateway API implementation: needs trafficRouting.gatewayAPI' });
  }
  errors.push(...runMetadataErrors(`${at}.analysisRunMetadata`, analysis.analysisRunMetadata));
  if (analysis.prometheus !== undefined && !/^https?:\/\//.test(analysis.prometheus.address)) {
    errors.push({ field: `${at}.prometheus.address`, message: `must be an http(s) URL, got "${analysis.prometheus.address}"` });
  }
  templates.forEach((t, j) => {
    if (ctx === undefined) return;
    const known = t.clusterScope === true ? ctx.clusterAnalysisTemplates : ctx.analysisTemplates;
    if (!known.has(t.templateName)) {
      const kind = t.clusterScope === true ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate';
      errors.push({ field: `${fieldPath(at, 'templates', j)}.templateName`, message: `${kind} "${t.templateName}" not found` });
    }
  });
  const seen = new Set<string>();
  (analysis.args ?? []).forEach((arg, j) => {
    if (seen.has(arg.name)) errors.push({ field: `${fieldPath(at, 'args', j)}.name`, message: `duplicate arg "${arg.name}"` });
    seen.add(arg.name);
    const from = arg.valueFrom;
    const sources = [arg.value !== undefined, from?.podTemplateHashValue !== undefined, from?.fieldRef !== undefined].filter(Boolean).length;
    if (sources > 1) errors.push({ field: fieldPath(at, 'args', j), message: 'set only one of value, valueFrom.podTemplateHashValue, valueFrom.fieldRef' });
  });
  return errors;
}

function trafficRoutingErrors(at: string, tr: TrafficRouting): SpecError[] {
  const errors: SpecError[] = [];
  const routers = (['istio', 'nginx', 'gatewayAPI'] as const).filter((k) => tr[k] !== undefined);
  const plugins = Object.entries(tr.plugins ?? {});
  if (routers.length === 0 && plugins.length === 0) {
    errors.push({ field: at, message: 'set a traffic router: istio, nginx or gatewayAPI' });
  }
  for (const [name, config] of plugins) {
    const field = fieldPath(`${at}.plugins`, name);
    if (name !== ARGO_GATEWAY_API_PLUGIN) {
      errors.push({ field, message: `traffic router plugin "${name}" is not supported; Sluice supports istio, nginx and gatewayAPI` });
    } else if (tr.gatewayAPI !== undefined) {
      errors.push({ field, message: 'conflicts with trafficRouting.gatewayAPI: set one of them' });
    } else {
      const parsed = gatewayApiSchema.safeParse(config);
      if (!parsed.success) errors.push({ field, message: `invalid Gateway API config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
    }
  }
  const istio = tr.istio;
  if (istio !== undefined) {
    if ((istio.virtualService === undefined) === (istio.virtualServices === undefined)) {
      errors.push({ field: `${at}.istio`, message: 'set exactly one of virtualService and virtualServices' });
    }
    const dr = istio.destinationRule;
    if (dr !== undefined) {
      for (const key of ['canarySubsetName', 'stableSubsetName'] as const) {
        if (dr[key] === undefined || dr[key] === '') errors.push({ field: `${at}.istio.destinationRule.${key}`, message: 'required with a destinationRule' });
      }
      if (dr.canarySubsetName !== undefined && dr.canarySubsetName === dr.stableSubsetName) {
        errors.push({ field: `${at}.istio.destinationRule.stableSubsetName`, message: 'must differ from canarySubsetName' });
      }
    }
  }
  if (tr.nginx !== undefined && (tr.nginx.stableIngress === undefined) === (tr.nginx.stableIngresses === undefined)) {
    errors.push({ field: `${at}.nginx`, message: 'set exactly one of stableIngress and stableIngresses' });
  }
  const gw = tr.gatewayAPI;
  if (gw !== undefined && (gw.httpRoute === undefined) === (gw.httpRoutes === undefined)) {
    errors.push({ field: `${at}.gatewayAPI`, message: 'set exactly one of httpRoute and httpRoutes' });
  }
  return errors;
}
