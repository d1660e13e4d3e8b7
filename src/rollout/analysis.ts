// AnalysisRuns for analysis steps: the templates' metrics and args merged into one run, owned by the Rollout and
// labelled with the revision and step, so the engine finds the run of the current step and GC removes it with the Rollout.
import type { RolloutAnalysis } from '../api/rollout/schema.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import { BACKGROUND, POST_PROMOTION, PRE_PROMOTION, type AnalysisRunPhase, type AnalysisRunRef } from './decide/types.ts';
import { R, type ResourceType } from '../kube/resource.ts';
import type { Metric } from '../api/analysis/schema.ts';
import { builtinMetrics, type Scope } from '../analysis/builtin/builtin.ts';
import { judgeMetrics } from '../analysis/builtin/judge-metrics.ts';
import type { LookState } from '../analysis/builtin/judging.ts';
import { STATE_KEY } from '../analysis/decide/decide.ts';
import { resolveJudge } from '../api/rollout/judge.ts';
import { replicaSetName, type RolloutRef } from './effects.ts';
import { canaryIngressName } from './traffic/nginx.ts';
import { POD_TEMPLATE_HASH_LABEL } from './hash.ts';
import { mergeTemplates, type TemplateObject } from '../analysis/templates.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';

export const STEP_INDEX_LABEL = 'sluice.dev/step-index';
export const ROLLOUT_LABEL = 'sluice.dev/rollout';

export type AnalysisRunObject = KubeObject & { spec?: { terminate?: boolean }; status?: { phase?: string; message?: string } };

export interface ObservedRuns {
  /** The phase of each step's run, as the engines read it. */
  phases: Record<number, AnalysisRunPhase>;
  /** The name and message of each step's run, for the status. */
  refs: Record<number, AnalysisRunRef>;
  /** The uid of each step's run: a delete removes that run, never a successor of the same name. */
  uids: Record<number, string>;
  /** Names of this Rollout's runs of other revisions still measuring: superseded, to be ended. */
  superseded: string[];
}

/**
 * The runs a Rollout's decision counts: its own (owner uid), of the current revision, not being deleted, and none
 * the controller deleted itself (`gone`, by uid) that a cache still holds. A retry's failed run therefore cannot
 * abort it again, whatever the cache lag; the successor, same name but a new uid, counts.
 */
export function observeRuns(all: readonly AnalysisRunObject[], rolloutUid: string, templateHash: string, gone: ReadonlySet<string>): ObservedRuns {
  const out: ObservedRuns = { phases: {}, refs: {}, uids: {}, superseded: [] };
  for (const run of all) {
    const m = run.metadata;
    if (m?.ownerReferences?.some((o) => o.uid === rolloutUid) !== true) continue;
    if (m.deletionTimestamp !== undefined || gone.has(m.uid ?? '')) continue;
    const step = stepOfLabel(m.labels?.[STEP_INDEX_LABEL]);
    if (step === undefined) continue;
    const phase = (run.status?.phase as AnalysisRunPhase | undefined) ?? 'Pending';
    if (m.labels?.[POD_TEMPLATE_HASH_LABEL] === templateHash) {
      out.phases[step] = phase;
      out.refs[step] = { name: m.name ?? '', ...(run.status?.message !== undefined ? { message: run.status.message } : {}) };
      if (m.uid !== undefined) out.uids[step] = m.uid;
    } else if ((phase === 'Running' || phase === 'Pending') && run.spec?.terminate !== true && m.name !== undefined) {
      out.superseded.push(m.name);
    }
  }
  return out;
}

export type { TemplateObject };

export interface RunInput {
  ref: RolloutRef;
  templateHash: string;
  stepIndex: number;
  analysis: RolloutAnalysis;
  templates: TemplateObject[];
  clusterTemplates: TemplateObject[];
  /** The operator's --prometheus-address, for builtin checks that name none. */
  defaultPrometheus?: string;
  /** The Rollout's runs as cached: a step's judge carries the evidence of the previous step's judge. */
  runs?: readonly AnalysisRunObject[];
}

/**
 * The builtin checks as metrics: the queries follow the Rollout's router and count the canary revision's traffic
 * (Istio: its ReplicaSet as the destination workload; NGINX: the canary Ingress; Gateway API: the HTTPRoute).
 */
export function builtinChecks(o: RunInput): Metric[] {
  const a = o.analysis;
  const address = a.prometheus?.address ?? o.defaultPrometheus;
  if (address === undefined) throw new Error('builtin checks need a Prometheus: set analysis.prometheus.address, or run the operator with --prometheus-address');
  const tr = o.ref.rollout.spec.strategy?.canary?.trafficRouting;
  const ns = o.ref.namespace;
  let scope: Scope;
  let stable: Scope | undefined;
  const stableHash = o.ref.rollout.status?.stableRS;
  if (tr?.istio !== undefined) {
    scope = { router: 'istio', namespace: ns, workload: replicaSetName(o.ref.name, o.templateHash) };
    if (stableHash !== undefined) stable = { router: 'istio', namespace: ns, workload: replicaSetName(o.ref.name, stableHash) };
  } else if (tr?.nginx !== undefined) {
    const stableIngress = tr.nginx.stableIngress ?? tr.nginx.stableIngresses?.[0] ?? '';
    scope = { router: 'nginx', namespace: ns, ingress: canaryIngressName(o.ref.name, stableIngress) };
    stable = { router: 'nginx', namespace: ns, ingress: stableIngress };
  } else if (tr?.gatewayAPI !== undefined && a.gatewayAPIMetrics === 'traefik') {
    // Traefik counts each backend Service apart: the canary Service's traffic is the canary revision's.
    const c = o.ref.rollout.spec.strategy?.canary;
    scope = { router: 'traefik', namespace: ns, service: c?.canaryService ?? '' };
    if (c?.stableService !== undefined) stable = { router: 'traefik', namespace: ns, service: c.stableService };
  } else if (tr?.gatewayAPI !== undefined && a.gatewayAPIMetrics === 'linkerd') {
    // Linkerd's proxies carry their pod's labels: each revision is its pod-template hash.
    scope = { router: 'linkerd', namespace: ns, podTemplateHash: o.templateHash };
    if (stableHash !== undefined) stable = { router: 'linkerd', namespace: ns, podTemplateHash: stableHash };
  } else if (tr?.gatewayAPI !== undefined) {
    scope = { router: 'gatewayAPI', namespace: ns, route: tr.gatewayAPI.httpRoute ?? tr.gatewayAPI.httpRoutes?.[0]?.name ?? '' };
  } else throw new Error('builtin checks read the metrics of a traffic router: set strategy.canary.trafficRouting (blue-green rollouts have none: use templates)');
  if (a.judge !== undefined) {
    if (scope.router === 'gatewayAPI' || stable === undefined) throw new Error('the judge compares the canary with stable on their own metrics: available with Istio, NGINX Ingress, Traefik and Linkerd, not with one Envoy cluster per HTTPRoute rule');
    const name = (s: Scope): string => (s.router === 'istio' ? s.workload : s.router === 'nginx' ? s.ingress : s.router === 'traefik' ? s.service : s.router === 'linkerd' ? s.podTemplateHash : '');
    const weight = o.ref.rollout.status?.canary?.weights?.canary?.weight;
    return judgeMetrics({ ...(a.successRate ? { successRate: a.successRate } : {}), ...(a.latency ? { latency: a.latency } : {}) }, { router: scope.router, namespace: ns, canary: name(scope), stable: name(stable) }, {
      address,
      judge: resolveJudge(a.judge),
      // A step's run measures at one weight; a background run sees every weight, so it has no one share to check.
      ...(weight !== undefined && o.stepIndex >= 0 ? { configuredShare: weight / 100 } : {}),
      completeOnPass: o.stepIndex >= 0,
      carry: judgeCarry(o.runs ?? [], o.ref.uid, o.templateHash, o.stepIndex),
    });
  }
  const compare = a.compareToStable;
  if (compare !== undefined && stable === undefined) {
    throw new Error('compareToStable needs the stable revision\'s own metrics: available with Istio, NGINX Ingress, Traefik and Linkerd (gatewayAPIMetrics), not with one Envoy cluster per HTTPRoute rule');
  }
  return builtinMetrics({ ...(a.successRate ? { successRate: a.successRate } : {}), ...(a.latency ? { latency: a.latency } : {}) }, scope, {
    address,
    ...(a.interval !== undefined ? { interval: a.interval } : {}),
    ...(a.count !== undefined ? { count: a.count } : {}),
    ...(a.failureLimit !== undefined ? { failureLimit: a.failureLimit } : {}),
    ...(compare !== undefined && stable !== undefined
      ? { compareTo: { scope: stable, ...(compare.maxSuccessRateDrop !== undefined ? { maxSuccessRateDrop: compare.maxSuccessRateDrop } : {}), ...(compare.maxLatencyIncreaseMs !== undefined ? { maxLatencyIncreaseMs: compare.maxLatencyIncreaseMs } : {}) } }
      : {}),
  });
}

type RunWithResults = AnalysisRunObject & { status?: { metricResults?: { name: string; measurements?: { metadata?: Record<string, string> }[] }[] } };

/**
 * The evidence a step's judge starts from: what the judge of the latest earlier analysis step of the same revision
 * had gathered (its counters baseline is not carried: the new run takes its own, so no batch spans two steps).
 */
export function judgeCarry(runs: readonly AnalysisRunObject[], rolloutUid: string, templateHash: string, stepIndex: number): Record<string, Partial<LookState>> {
  if (stepIndex < 0) return {};
  let best: { step: number; run: RunWithResults } | undefined;
  for (const run of runs as readonly RunWithResults[]) {
    const m = run.metadata;
    if (m?.ownerReferences?.some((o) => o.uid === rolloutUid) !== true || m.labels?.[POD_TEMPLATE_HASH_LABEL] !== templateHash) continue;
    const step = stepOfLabel(m.labels[STEP_INDEX_LABEL]);
    if (step === undefined || step < 0 || step >= stepIndex || (best !== undefined && best.step > step)) continue;
    best = { step, run };
  }
  const out: Record<string, Partial<LookState>> = {};
  for (const r of best?.run.status?.metricResults ?? []) {
    const raw = r.measurements?.findLast((x) => x.metadata?.[STATE_KEY] !== undefined)?.metadata?.[STATE_KEY];
    if (raw === undefined) continue;
    try {
      const { seen: _seen, startedAtMs: _started, ...rest } = JSON.parse(raw) as LookState;
      out[r.name] = rest;
    } catch {
      // A mangled state is not carried: the step starts from no evidence, which is never less safe.
    }
  }
  return out;
}

export async function createStepAnalysisRun(
  client: KubeClient,
  o: RunInput,
): Promise<void> {
  const { metrics, args } = mergeTemplates(o.analysis.templates ?? [], o.templates, o.clusterTemplates);
  if (o.analysis.successRate !== undefined || o.analysis.latency !== undefined) metrics.push(...builtinChecks(o));
  // Values the Rollout passes win over the templates' defaults.
  for (const a of o.analysis.args ?? []) {
    const value = a.value ?? (a.valueFrom?.podTemplateHashValue === 'Stable' ? o.ref.rollout.status?.stableRS : a.valueFrom?.podTemplateHashValue === 'Latest' ? o.templateHash : undefined);
    args.set(a.name, { name: a.name, ...(value !== undefined ? { value } : {}) });
  }
  const name = analysisRunName(o.ref.name, o.templateHash, o.stepIndex);
  const extra = o.analysis.analysisRunMetadata;
  try {
    await client.create(R.analysisRun, {
      metadata: {
        name,
        namespace: o.ref.namespace,
        ...(extra?.annotations !== undefined ? { annotations: extra.annotations } : {}),
        labels: { ...(extra?.labels ?? {}), [ROLLOUT_LABEL]: o.ref.name, [POD_TEMPLATE_HASH_LABEL]: o.templateHash, [STEP_INDEX_LABEL]: stepLabel(o.stepIndex), ...(o.ref.shard !== undefined ? { [OWNER_LABEL]: o.ref.shard } : {}) },
        ownerReferences: [{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', name: o.ref.name, uid: o.ref.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { metrics, args: [...args.values()] },
    });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

/** Label values of the runs that belong to no step: a canary's background analysis, a blue-green rollout's
 * pre- and post-promotion analyses. */
const NAMED_RUNS = new Map<string, number>([['background', BACKGROUND], ['pre-promotion', PRE_PROMOTION], ['post-promotion', POST_PROMOTION]]);

/** The label value of a run's step: its index, or one of NAMED_RUNS. */
export const stepLabel = (stepIndex: number): string => [...NAMED_RUNS].find(([, i]) => i === stepIndex)?.[0] ?? String(stepIndex);
export const stepOfLabel = (value: string | undefined): number | undefined =>
  value === undefined ? undefined : (NAMED_RUNS.get(value) ?? (/^\d+$/.test(value) ? Number(value) : undefined));
export const analysisRunName = (rollout: string, hash: string, stepIndex: number): string => `${rollout}-${hash}-${stepLabel(stepIndex)}`;

/** spec.terminate ends a run at its next reconcile (Argo's semantics: Successful unless a limit was already breached). */
export async function terminateAnalysisRun(client: KubeClient, namespace: string, name: string): Promise<void> {
  try {
    await client.mergePatch(R.analysisRun, namespace, name, { spec: { terminate: true } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Deletes a run (or, with `kind`, an experiment step's Experiment); with `uid`, only that one (a successor of the
 * same name stays: the precondition fails). */
export async function deleteAnalysisRun(client: KubeClient, namespace: string, name: string, uid?: string, kind: ResourceType = R.analysisRun): Promise<void> {
  try {
    await client.delete(kind, namespace, name, { propagationPolicy: 'Background', ...(uid !== undefined ? { uid } : {}) });
  } catch (err) {
    if (!isNotFound(err) && !(uid !== undefined && isConflict(err))) throw err;
  }
}
