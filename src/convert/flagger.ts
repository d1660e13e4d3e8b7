// Flagger Canary → Sluice Rollout (plus the Services, route and AnalysisTemplates Flagger generated or read).
// A Canary drives an unmodified Deployment (targetRef); the Rollout does the same with workloadRef, scaling the
// Deployment down once the Rollout is Healthy (scaleDown: onsuccess; Flagger scales it to 0 as it takes over).
// Flagger's progressive canary (a weight step every analysis interval up to maxWeight, checks on every tick,
// rollback after `threshold` failed checks) becomes explicit steps (setWeight, then a pause of one interval) and a
// background analysis from the first weight on, failing after threshold failures (failureLimit = threshold - 1).
import { z } from 'zod';
import type { CanaryStep, RolloutAnalysis } from '../api/rollout/schema.ts';
import { typeErrors } from '../lint/related.ts';
import type { PathSegment } from '../lint/source.ts';
import { convertMetrics } from './flagger-metrics.ts';
import { emitRouting, providerOf, type FlaggerProvider } from './flagger-routing.ts';
import { convertWebhooks } from './flagger-webhooks.ts';
import { SLUICE_API, copyMetadata, type ConvertContext } from './types.ts';

/** Why Sluice has no equivalent, for the Canary fields it reports (the last path segment names them). */
const WHY: Readonly<Record<string, string>> = {
  webhooks: 'with skipAnalysis Flagger calls no webhook either',
  alerts: 'Sluice reports through Kubernetes Events and conditions, not chat alerts',
  sessionAffinity: 'sticky canary sessions are not supported by Sluice',
  mirror: 'use a setMirrorRoute step (Istio, Gateway API) instead of Flagger\'s mirror stage',
  mirrorWeight: 'use a setMirrorRoute step (Istio, Gateway API) instead of Flagger\'s mirror stage',
  stepWeightPromotion: 'Sluice promotes in one step once the last step completes',
  primaryReadyThreshold: 'Sluice waits for every pod of a ReplicaSet to be available',
  canaryReadyThreshold: 'Sluice waits for every pod of a ReplicaSet to be available',
  match: 'A/B routing by match is mapped for Istio, NGINX and the Gateway API (header matches of the first entry only)',
  revertOnDeletion: 'Sluice does not revert routes when a Rollout is deleted',
  upstreamRef: 'Gloo is not a Sluice router',
  routeRef: 'APISIX is not a Sluice router',
  trafficPolicy: 'Sluice generates no DestinationRules for host-split routing: put the traffic policy on a DestinationRule of your own',
  headless: 'the generated Services are ClusterIP',
  unmanagedMetadata: 'Sluice does not edit Service metadata',
  delegation: 'delegate VirtualServices are not generated',
  backendTimeout: 'not supported on the generated HTTPRoute',
  trafficDistribution: 'not set on the generated Services',
};

const DEFAULT_INTERVAL = '1m';

/** What the conversion reads from the target Deployment when it is among the converted files. */
const containerPortSchema = z.looseObject({ name: z.string().optional(), containerPort: z.int(), protocol: z.string().optional() });
const deploymentSchema = z.looseObject({
  spec: z
    .looseObject({
      replicas: z.int().optional(),
      selector: z.looseObject({ matchLabels: z.record(z.string(), z.string()).optional() }).optional(),
      template: z.looseObject({ spec: z.looseObject({ containers: z.array(z.looseObject({ name: z.string(), ports: z.array(containerPortSchema).optional() })).optional() }).optional() }).optional(),
    })
    .optional(),
});
type Deployment = z.infer<typeof deploymentSchema>;
/** The managed route an A/B Canary's header match becomes. */
export const AB_ROUTE = 'ab-test';

export function convertCanary(ctx: ConvertContext): void {
  const f = ctx.fields;
  const name = f.string('metadata', 'name') ?? '';
  const metadata = copyMetadata(ctx, name);
  const namespace = metadata.namespace as string | undefined;

  const kind = f.string('spec', 'targetRef', 'kind') ?? 'Deployment';
  const target = f.string('spec', 'targetRef', 'name');
  const targetApi = f.string('spec', 'targetRef', 'apiVersion');
  if (targetApi !== undefined && targetApi !== 'apps/v1') ctx.report(['spec', 'targetRef', 'apiVersion'], 'note', `read as apps/v1 (was ${targetApi})`);
  if (kind !== 'Deployment' || target === undefined) {
    ctx.report(['spec', 'targetRef'], 'error', `Sluice canaries Deployments (workloadRef): a ${kind} target cannot be converted`);
    f.take();
    return;
  }

  const providerName = f.string('spec', 'provider');
  const provider = providerOf(providerName);
  if (provider === undefined) {
    ctx.report(['spec', 'provider'], 'unmapped', `provider "${providerName ?? ''}" is not a Sluice router (Istio, NGINX, Gateway API, Linkerd): the canary runs on replica ratios`);
  } else if (providerName === undefined) {
    ctx.report(['spec'], 'note', 'no spec.provider: Flagger then uses its --mesh-provider flag (default istio); converted for Istio');
  }

  // The pods' labels: from the Deployment when it is converted along, else Flagger's default selector label.
  const deploymentDoc = ctx.index.find('apps/', 'Deployment', namespace ?? '', target);
  const parsedDeployment = deploymentDoc === undefined ? undefined : deploymentSchema.safeParse(deploymentDoc.value);
  if (parsedDeployment?.success === false && deploymentDoc !== undefined) {
    const e = typeErrors(parsedDeployment.error, deploymentDoc.value)[0];
    ctx.report(['spec', 'targetRef'], 'error', `Deployment "${target}" (${deploymentDoc.file}:${deploymentDoc.locate(e?.path ?? []).line}): ${e?.field ?? ''}: ${e?.message ?? 'invalid'}`);
    f.take();
    return;
  }
  const deployment = parsedDeployment?.data;
  const matchLabels = deployment?.spec?.selector?.matchLabels;
  if (matchLabels === undefined) ctx.report(['spec', 'targetRef'], 'note', `Deployment "${target}" is not in the converted files: the generated Services select app=${target} and the Rollout has 1 replica unless you set spec.replicas`);
  const selector = matchLabels ?? { app: target };

  const routing = emitRouting(ctx, provider ?? 'kubernetes', name, namespace, selector, discoveredPorts(ctx, deployment, deploymentDoc !== undefined, target));
  if (routing === undefined) {
    f.take();
    return;
  }
  const a: PathSegment[] = ['spec', f.peek('spec', 'analysis') !== undefined ? 'analysis' : 'canaryAnalysis'];
  const interval = f.string(...a, 'interval') ?? DEFAULT_INTERVAL;
  const threshold = f.number(...a, 'threshold') ?? 1;
  const metricsServer = f.string('spec', 'metricsServer');
  // Not consumed here: emitRouting reads it for nginx, and reports it (unmapped) for the other providers.
  const ingressRef = f.peek('spec', 'ingressRef', 'name');
  const ingressName = typeof ingressRef === 'string' ? ingressRef : undefined;
  const skip = f.boolean('spec', 'skipAnalysis') === true;
  const routed = provider !== undefined && provider !== 'kubernetes';
  const metrics = convertMetrics(ctx, {
    base: a,
    canary: name,
    namespace,
    target,
    service: f.string('spec', 'service', 'name') ?? target,
    interval,
    failureLimit: Math.max(0, threshold - 1),
    metricsServer,
    builtinsSupported: routed,
    route: ingressName ?? (provider === 'gatewayapi' || provider === 'linkerd' ? f.string('spec', 'service', 'name') ?? target : undefined),
  });
  const analysis: RolloutAnalysis = {
    ...(metrics.templates.length > 0 ? { templates: metrics.templates.map((templateName) => ({ templateName })) } : {}),
    ...(metrics.successRate !== undefined ? { successRate: metrics.successRate } : {}),
    ...(metrics.latency !== undefined ? { latency: metrics.latency } : {}),
  };
  // Webhooks: pre-rollout ones become a first analysis step, rollout ones a template of the background analysis.
  const hooks = !skip && f.peek(...a, 'webhooks') !== undefined ? convertWebhooks(ctx, [...a, 'webhooks'], { canary: name, namespace, interval, failureLimit: Math.max(0, threshold - 1) }) : {};
  if (hooks.rollout !== undefined) analysis.templates = [...(analysis.templates ?? []), { templateName: hooks.rollout }];
  const checks = Object.keys(analysis).length > 0;
  if (metrics.successRate !== undefined || metrics.latency !== undefined) {
    analysis.interval = metrics.builtinInterval ?? interval;
    analysis.failureLimit = Math.max(0, threshold - 1);
    if (metricsServer !== undefined) analysis.prometheus = { address: metricsServer };
    // Linkerd's proxies tell the revisions apart by their pods' labels; an HTTPRoute's Envoy cluster would not.
    if (provider === 'linkerd') analysis.gatewayAPIMetrics = 'linkerd';
    ctx.report(a, 'note', 'Sluice\'s builtin checks pause the canary when there is no traffic to measure, where Flagger counts a failed check');
  }

  const steps: CanaryStep[] = [];
  const iterations = f.number(...a, 'iterations');
  const weights = weightLadder(f.typed(z.array(z.number()), ...a, 'stepWeights'), f.number(...a, 'stepWeight'), f.number(...a, 'maxWeight'));
  if (skip) {
    ctx.report(['spec', 'skipAnalysis'], 'note', 'skipAnalysis: no steps and no analysis, so a new revision is promoted at once');
  } else if (weights.length > 0) {
    for (const w of weights) steps.push({ setWeight: w }, { pause: { duration: interval } });
  } else if (iterations !== undefined && iterations > 0 && routing.trafficRouting !== undefined && f.peek(...a, 'match') !== undefined) {
    // A/B: requests that match go to the canary (at full size) for `iterations` checks, then it is promoted.
    const match = headerMatch(ctx, [...a, 'match']);
    if (match.length > 0) {
      routing.trafficRouting.managedRoutes = [{ name: AB_ROUTE }];
      steps.push({ setCanaryScale: { weight: 100 } }, { setHeaderRoute: { name: AB_ROUTE, match } }, { pause: { duration: multiply(interval, iterations) } }, { setHeaderRoute: { name: AB_ROUTE } });
      ctx.report([...a, 'match'], 'note', `Flagger's A/B run: matching requests go to the canary through header route "${AB_ROUTE}" for ${iterations} × ${interval}, then it is promoted`);
    } else {
      steps.push({ setCanaryScale: { weight: 100 } }, { pause: { duration: multiply(interval, iterations) } });
    }
  } else if (iterations !== undefined && iterations > 0 && routing.trafficRouting !== undefined) {
    // Blue-green through the router: the canary at full size without traffic for `iterations` checks, then all of it.
    steps.push({ setCanaryScale: { weight: 100 } }, { pause: { duration: multiply(interval, iterations) } });
    ctx.report([...a, 'iterations'], 'note', `Flagger's blue-green run: the canary is scaled up without traffic for ${iterations} × ${interval}, then promoted`);
  } else if (iterations !== undefined && iterations > 0) {
    steps.push({ pause: { duration: multiply(interval, iterations) } });
    ctx.report([...a, 'iterations'], 'note', `without a router the canary holds its replica share for ${iterations} × ${interval}, then is promoted`);
  }

  if (hooks.preRollout !== undefined) steps.unshift({ analysis: { templates: [{ templateName: hooks.preRollout }] } });
  const first = hooks.preRollout !== undefined ? 1 : 0;
  const canary: Record<string, unknown> = {
    canaryService: routing.canaryService,
    stableService: routing.stableService,
    ...(routing.trafficRouting !== undefined ? { trafficRouting: routing.trafficRouting } : {}),
    steps,
    ...(hooks.gates !== undefined ? { webhooks: hooks.gates } : {}),
  };
  // The background analysis starts once the first weight is set (after the pre-rollout step, if any).
  if (checks && !skip) canary.analysis = steps.length - first > 1 ? { ...analysis, startingStep: first + 1 } : first > 0 ? { ...analysis, startingStep: first } : analysis;
  const spec: Record<string, unknown> = {
    ...(deployment?.spec?.replicas !== undefined ? { replicas: deployment.spec.replicas } : {}),
    ...(matchLabels !== undefined ? { selector: { matchLabels } } : {}),
    workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target, scaleDown: 'onsuccess' },
  };
  const deadline = f.number('spec', 'progressDeadlineSeconds');
  // Flagger rolls back when the deadline passes; so does a Rollout with progressDeadlineAbort.
  spec.progressDeadlineSeconds = deadline ?? 600;
  spec.progressDeadlineAbort = true;
  if (f.boolean('spec', 'suspend') === true) spec.paused = true;
  spec.strategy = { canary };
  retargetAutoscaler(ctx, name, namespace);

  for (const path of f.drainUnread()) {
    const why = WHY[String(path[path.length - 1])] ?? WHY[String(path[path.length - 2])];
    ctx.report(path, 'unmapped', `${why ?? 'not supported by Sluice'}: left out`);
  }
  ctx.emit({ apiVersion: SLUICE_API, kind: 'Rollout', metadata, spec });
}

/**
 * service.portDiscovery: Flagger exposes every container port of the Deployment on the Services it generates; so do
 * the generated Services here (named as the container names them, else tcp-<port>), besides service.port.
 */
function discoveredPorts(ctx: ConvertContext, deployment: Deployment | undefined, found: boolean, target: string): z.infer<typeof containerPortSchema>[] {
  const at: PathSegment[] = ['spec', 'service', 'portDiscovery'];
  if (ctx.fields.boolean(...at) !== true) return [];
  if (!found) {
    ctx.report(at, 'unmapped', `Deployment "${target}" is not in the converted files, so its container ports are unknown (convert them together): only service.port is exposed`);
    return [];
  }
  const ports = (deployment?.spec?.template?.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  ctx.report(at, 'note', `the generated Services also expose the Deployment's container ports${ports.length > 0 ? ` (${ports.map((p) => p.containerPort).join(', ')})` : ' (it declares none)'}`);
  return ports;
}

/**
 * autoscalerRef: Flagger points a copy of the HPA at its primary Deployment. A Rollout has a scale subresource, so
 * the HPA itself is retargeted at it: rewritten in the output when it is among the files, else a note says how.
 */
function retargetAutoscaler(ctx: ConvertContext, rollout: string, namespace: string | undefined): void {
  const f = ctx.fields;
  const at: PathSegment[] = ['spec', 'autoscalerRef'];
  const hpaName = f.string(...at, 'name');
  f.take(...at, 'apiVersion');
  f.take(...at, 'kind');
  if (hpaName === undefined) return;
  const target = { apiVersion: SLUICE_API, kind: 'Rollout', name: rollout };
  const doc = ctx.index.find('autoscaling/', 'HorizontalPodAutoscaler', namespace ?? '', hpaName);
  const hpa = doc?.value as { apiVersion?: string; metadata?: Record<string, unknown>; spec?: Record<string, unknown> } | undefined;
  if (doc === undefined || hpa?.spec === undefined || typeof hpa.apiVersion !== 'string') {
    ctx.report(at, 'note', `HorizontalPodAutoscaler "${hpaName}" is not in the converted files: set its spec.scaleTargetRef to ${JSON.stringify(target)} (a Rollout has a scale subresource)`);
    return;
  }
  ctx.supersede(doc);
  ctx.emit({ ...hpa, apiVersion: hpa.apiVersion, kind: 'HorizontalPodAutoscaler', metadata: { ...hpa.metadata, name: hpaName }, spec: { ...hpa.spec, scaleTargetRef: target } });
  ctx.report(at, 'note', `HorizontalPodAutoscaler "${hpaName}" (${doc.file}:${doc.locate([]).line}) now scales Rollout "${rollout}" instead of the Deployment`);
}

/** Flagger's weights: stepWeights as listed (capped at 100), or stepWeight increments until maxWeight is reached. */
export function weightLadder(stepWeights: readonly number[] | undefined, stepWeight: number | undefined, maxWeight: number | undefined): number[] {
  if (stepWeights !== undefined && stepWeights.length > 0) return stepWeights.map((w) => Math.min(100, w));
  if (stepWeight === undefined || stepWeight <= 0) return [];
  const max = maxWeight !== undefined && maxWeight > 0 ? maxWeight : 100;
  const out: number[] = [];
  // Flagger advances while the weight is below the maximum, so the last step may pass it (max 50, step 20 → 60).
  for (let w = stepWeight; ; w += stepWeight) {
    out.push(Math.min(100, w));
    if (w >= max || w >= 100) return out;
  }
}

/** `interval` × n as a duration Sluice reads ("1m" × 5 → "5m"; "30s" × 3 → "90s"). */
function multiply(interval: string, n: number): string {
  const m = /^(\d+)(ms|s|m|h)$/.exec(interval);
  return m === null ? interval : `${Number(m[1]) * n}${m[2] as string}`;
}

export type { FlaggerProvider };

/** A MetricTemplate has no output of its own; each Canary metric that references it becomes an AnalysisTemplate. */
export function convertMetricTemplate(ctx: ConvertContext): void {
  const f = ctx.fields;
  f.string('spec', 'provider', 'type');
  f.string('spec', 'provider', 'address');
  f.boolean('spec', 'provider', 'insecureSkipVerify');
  f.string('spec', 'query');
  f.take('metadata');
  f.take('apiVersion');
  f.take('kind');
  f.take('status');
  ctx.report([], 'note', 'a MetricTemplate has no threshold of its own: each Canary metric that references it becomes an AnalysisTemplate <canary>-<metric> (convert them together)');
  for (const path of f.drainUnread()) {
    const why = path.includes('secretRef') ? 'Sluice\'s Prometheus provider takes headers, not a Secret' : undefined;
    ctx.report(path, 'unmapped', `${why ?? 'not supported by Sluice'}: left out`);
  }
}

type HeaderValue = { exact?: string; prefix?: string; regex?: string };

/** Flagger's (Istio's) first match entry as Sluice header matches; a suffix becomes a regex; the rest is reported. */
function headerMatch(ctx: ConvertContext, at: PathSegment[]): { headerName: string; headerValue: HeaderValue }[] {
  const f = ctx.fields;
  const out: { headerName: string; headerValue: HeaderValue }[] = [];
  for (const i of f.keys(...at).slice(1)) {
    f.consume([...at, i]);
    ctx.report([...at, i], 'unmapped', 'a Sluice header route has one set of matches (all must hold); only match[0] is mapped: left out');
  }
  for (const name of f.keys(...at, 0, 'headers')) {
    const h: PathSegment[] = [...at, 0, 'headers', name];
    const exact = f.string(...h, 'exact');
    const prefix = f.string(...h, 'prefix');
    const regex = f.string(...h, 'regex');
    const suffix = f.string(...h, 'suffix');
    const value: HeaderValue | undefined =
      exact !== undefined ? { exact } : prefix !== undefined ? { prefix } : regex !== undefined ? { regex } : suffix !== undefined ? { regex: `.*${suffix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` } : undefined;
    if (value !== undefined) out.push({ headerName: String(name), headerValue: value });
  }
  if (out.length === 0) ctx.report([...at, 0], 'unmapped', 'no header match Sluice can route on (headers with exact, prefix, regex or suffix): the A/B run is left out');
  return out;
}
