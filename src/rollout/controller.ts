// The Rollout controller's shell: read the caches, judge the spec, ask the step engine, perform its actions, write
// status once (conditional on the resourceVersion read). Decisions live in spec.ts and decide/.
import { removeCondition, setCondition } from '../api/common/conditions.ts';
import { jsonEqual } from '../api/common/equal.ts';
import type { Rollout, RolloutStatus } from '../api/rollout/schema.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { writeStatusAt } from '../kube/status.ts';
import type { Controller, ReconcileRequest, ReconcileResult } from '../runtime/controller.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Manager } from '../runtime/manager.ts';
import { runsBeyondHistory } from './run-history.ts';
import { analysisRunName, createStepAnalysisRun, deleteAnalysisRun, observeRuns, STEP_INDEX_LABEL, terminateAnalysisRun, type AnalysisRunObject, type TemplateObject } from './analysis.ts';
import { decideBlueGreen } from './decide/bluegreen.ts';
import { decideCanary } from './decide/canary.ts';
import { GateCalls } from './gate-calls.ts';
import { workloadReplicas } from './decide/workload.ts';
import type { Decision, ReplicaSetView } from './decide/types.ts';
import { perform, podsBefore, SCALE_DOWN_DEADLINE } from './effects.ts';
import { callGates, notifyHooks, type GateTarget } from './gates.ts';
import { POD_TEMPLATE_HASH_LABEL, podTemplateHash, stepsHash } from './hash.ts';
import { revisionsOf } from './revision.ts';
import { createStepExperiment, experimentName, observeExperimentTemplates, reportExperiment, terminateExperiment } from './experiment.ts';
import { checkRollout, INVALID_SPEC, specStatus, specStatusChanged } from './spec.ts';
import { ROUTER_FIELD_MANAGER } from './traffic/router.ts';
import { routerFor } from './traffic/routers.ts';
import { RolloutChildren } from './shard.ts';

/** One field manager for everything the Rollout controller writes (status, Services, routes, ReplicaSets). */
export const ROLLOUT_FIELD_MANAGER = ROUTER_FIELD_MANAGER;
/** Set while an action keeps failing (a missing Service, a routing object without the expected routes). */
export const RECONCILE_ERROR = 'ReconcileError';

type RolloutObject = KubeObject & { spec?: Rollout['spec']; status?: RolloutStatus };
type ReplicaSetObject = KubeObject & { spec?: { replicas?: number }; status?: { availableReplicas?: number; readyReplicas?: number } };
type ServiceObject = KubeObject & { spec?: { selector?: Record<string, string> } };
type DeploymentObject = KubeObject & { spec?: { replicas?: number; template?: Record<string, unknown> } };

const OWNER_INDEX = 'controller-uid';
// The cuts the caches keep (the informer freezes what they return; the metadata is trimmed before).
const slimReplicaSet = (rs: ReplicaSetObject): ReplicaSetObject => ({ apiVersion: rs.apiVersion, kind: rs.kind, metadata: rs.metadata, spec: { replicas: rs.spec?.replicas }, ...(rs.status !== undefined ? { status: rs.status } : {}) });
const slimService = (svc: ServiceObject): ServiceObject => ({ apiVersion: svc.apiVersion, kind: svc.kind, metadata: svc.metadata, spec: { ...(svc.spec?.selector !== undefined ? { selector: svc.spec.selector } : {}) } });
const slimDeployment = (d: DeploymentObject): DeploymentObject => ({ apiVersion: d.apiVersion, kind: d.kind, metadata: d.metadata, spec: { replicas: d.spec?.replicas, ...(d.spec?.template !== undefined ? { template: d.spec.template } : {}) } });

/** Names of the templates a Rollout references, as namespace/name or cluster:name keys. */
function referencedTemplates(r: RolloutObject): string[] {
  const spec = r.spec;
  const analyses = [
    spec?.strategy?.canary?.analysis,
    ...(spec?.strategy?.canary?.steps ?? []).map((s) => s.analysis),
    ...(spec?.strategy?.canary?.steps ?? []).map((s) => ({ templates: s.experiment?.analyses })),
    spec?.strategy?.blueGreen?.prePromotionAnalysis,
    spec?.strategy?.blueGreen?.postPromotionAnalysis,
  ];
  return analyses.flatMap((a) => (a?.templates ?? []).map((t) => (t.clusterScope === true ? `cluster:${t.templateName}` : `${r.metadata?.namespace}/${t.templateName}`)));
}

export function registerRolloutController(manager: Manager, deps: { client: KubeClient; events: EventRecorder; workers: number; rolloutWorkers?: number; prometheusAddress?: string }): Controller {
  const { client, events } = deps;
  const rollouts = manager.cache<RolloutObject>(R.rollout);
  const templates = manager.cache<TemplateObject>(R.analysisTemplate);
  const clusterTemplates = manager.cache<TemplateObject>(R.clusterAnalysisTemplate);
  // Only what decisions need: ReplicaSets carrying a revision hash (without their pod templates), the Services'
  // selectors, our AnalysisRuns, the Deployments' templates (workloadRef).
  // With sharding (`children`), only those labelled with this shard: see shard.ts.
  const replicaSets = manager.cache<ReplicaSetObject>(R.replicaSet, { labelSelector: POD_TEMPLATE_HASH_LABEL, transform: { id: 'rollout-rs', fn: slimReplicaSet }, children: true });
  replicaSets.addIndex(OWNER_INDEX, (rs) => (rs.metadata?.ownerReferences ?? []).filter((o) => o.controller === true).map((o) => o.uid));
  const services = manager.cache<ServiceObject>(R.service, { transform: { id: 'rollout-svc', fn: slimService }, children: true });
  const runs = manager.cache<AnalysisRunObject>(R.analysisRun, { labelSelector: STEP_INDEX_LABEL, children: true });
  // Experiment steps' Experiments: the same labels and status shape as the step's runs (observeRuns reads both).
  const experiments = manager.cache<AnalysisRunObject>(R.experiment, { labelSelector: STEP_INDEX_LABEL });
  const deployments = manager.cache<DeploymentObject>(R.deployment, { transform: { id: 'rollout-deploy', fn: slimDeployment }, children: true });
  const children = new RolloutChildren({ client, shard: manager.shard, rollouts, replicaSets, runs });
  /** Webhook gates, called outside the reconcile; their answers enqueue the rollout again. */
  const gateCalls = new GateCalls(callGates, (key) => controller.enqueue(key));
  /** Runs this controller deleted (uid → namespace), until the cache no longer holds them: they count for nothing. */
  const deletedRuns = new Map<string, string>();
  const deletedExperiments = new Map<string, string>();

  const byTemplate = (key: string): string[] =>
    rollouts.list().filter((r) => referencedTemplates(r).includes(key)).map((r) => `${r.metadata?.namespace}/${r.metadata?.name}`);
  const byService = (svc: KubeObject): string[] =>
    rollouts
      .list(svc.metadata?.namespace)
      .filter((r) => {
        const { canary, blueGreen } = r.spec?.strategy ?? {};
        return [canary?.canaryService, canary?.stableService, blueGreen?.activeService, blueGreen?.previewService].includes(svc.metadata?.name);
      })
      .map((r) => `${r.metadata?.namespace}/${r.metadata?.name}`);

  const byWorkload = (d: KubeObject): string[] =>
    rollouts
      .list(d.metadata?.namespace)
      .filter((r) => r.spec?.workloadRef?.name === d.metadata?.name && (r.spec?.workloadRef?.kind ?? 'Deployment') === 'Deployment')
      .map((r) => `${r.metadata?.namespace}/${r.metadata?.name}`);

  const writeStatus = async (req: ReconcileRequest, raw: RolloutObject, status: RolloutStatus): Promise<void> => {
    // The whole status, conditional on the version we decided from: nothing a person wrote meanwhile is lost.
    controller.expectations.expect(req.key, await writeStatusAt(client, R.rollout, raw, status, ROLLOUT_FIELD_MANAGER));
  };

  const reconcile = async (req: ReconcileRequest): Promise<ReconcileResult | void> => {
    const raw = rollouts.get(req.namespace, req.name);
    if (raw === undefined || raw.metadata?.deletionTimestamp !== undefined) {
      gateCalls.forget(req.key);
      return;
    }
    const ctx = {
      analysisTemplates: new Set(templates.list(req.namespace).map((t) => t.metadata?.name ?? '')),
      clusterAnalysisTemplates: new Set(clusterTemplates.list().map((t) => t.metadata?.name ?? '')),
    };
    const check = checkRollout(raw, ctx);
    const now = Date.now();
    const judged = specStatus(raw.status, check, raw.metadata?.generation ?? 0, new Date(now).toISOString());
    if (!check.ok) {
      // Invalid: report the spec check only.
      if (!specStatusChanged(raw.status, judged)) return;
      await writeStatus(req, raw, { ...raw.status, ...judged });
      req.log.warn({ errors: check.errors }, 'invalid spec');
      if (judged.message !== raw.status?.message) void events.record(raw, 'Warning', INVALID_SPEC, judged.message ?? '');
      return;
    }
    let rollout = check.value;
    const uid = raw.metadata?.uid ?? '';
    // Sharded: a Rollout that just arrived here brings its ReplicaSets and runs along before anything is decided.
    if (!(await children.takeOver(raw, req.signal))) return { requeueAfterMs: 250 };
    // workloadRef: the pod template lives in a Deployment; the Rollout runs it as if it were its own.
    const ref0 = rollout.spec.workloadRef;
    const workload = ref0?.name !== undefined ? await children.referenced(deployments, req.namespace, ref0.name, req.name) : undefined;
    if (ref0 !== undefined) {
      if (workload?.spec?.template === undefined) {
        const missing: RolloutStatus = { ...(raw.status ?? {}), observedGeneration: judged.observedGeneration, conditions: setCondition(judged.conditions, { type: RECONCILE_ERROR, status: 'True', reason: 'WorkloadNotFound', message: `spec.workloadRef: Deployment ${req.namespace ?? ''}/${ref0.name ?? ''} not found` }, new Date(now).toISOString()) };
        if (!jsonEqual(missing, raw.status)) await writeStatus(req, raw, missing);
        return; // the Deployment cache wakes us when it appears
      }
      rollout = { ...rollout, spec: { ...rollout.spec, template: structuredClone(workload.spec.template) } };
    }
    const owned = replicaSets.byIndex(OWNER_INDEX, uid);
    const revisions = revisionsOf(owned);
    const views: ReplicaSetView[] = owned.map((rs) => {
      const deadline = rs.metadata?.annotations?.[SCALE_DOWN_DEADLINE];
      return {
        name: rs.metadata?.name ?? '',
        hash: rs.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL] ?? '',
        replicas: rs.spec?.replicas ?? 0,
        available: rs.status?.availableReplicas ?? 0,
        ready: rs.status?.readyReplicas ?? 0,
        ...(deadline !== undefined && !Number.isNaN(Date.parse(deadline)) ? { scaleDownAt: Date.parse(deadline) } : {}),
        ...(rs.metadata?.creationTimestamp !== undefined ? { createdAt: Date.parse(rs.metadata.creationTimestamp) } : {}),
        ...(revisions.has(rs.metadata?.name ?? '') ? { revision: revisions.get(rs.metadata?.name ?? '') } : {}),
      };
    });
    const canary = rollout.spec.strategy?.canary ?? {};
    const { canary: cs, blueGreen: bs } = rollout.spec.strategy ?? {};
    const named = new Map<string, ServiceObject | undefined>();
    for (const n of [cs?.canaryService, cs?.stableService, bs?.activeService, bs?.previewService]) if (n !== undefined && !named.has(n)) named.set(n, await children.referenced(services, req.namespace, n, req.name));
    const selectorOf = (name: string | undefined): string | undefined => (name === undefined ? undefined : named.get(name)?.spec?.selector?.[POD_TEMPLATE_HASH_LABEL]);
    const templateHash = podTemplateHash(rollout.spec.template);
    const nsRuns = runs.list(req.namespace);
    const cached = new Set(nsRuns.map((r) => r.metadata?.uid));
    for (const [u, n] of deletedRuns) if (n === (req.namespace ?? '') && !cached.has(u)) deletedRuns.delete(u);
    const seenRuns = observeRuns(nsRuns, uid, templateHash, new Set(deletedRuns.keys()));
    const stepAnalysis = seenRuns.phases;
    const nsExperiments = experiments.list(req.namespace);
    const cachedExperiments = new Set(nsExperiments.map((r) => r.metadata?.uid));
    for (const [u, n] of deletedExperiments) if (n === (req.namespace ?? '') && !cachedExperiments.has(u)) deletedExperiments.delete(u);
    const seenExperiments = observeRuns(nsExperiments, uid, templateHash, new Set(deletedExperiments.keys()));
    const router = routerFor(rollout, { client });
    const target = router !== undefined ? { namespace: req.namespace ?? '', rollout: req.name, canaryService: canary.canaryService ?? '', stableService: canary.stableService ?? '' } : undefined;
    // Subset-split routers pin revisions in their own object; everyone else through the Services' selectors.
    // Pods are never cached (there can be many); they are listed only while a restart is pending.
    const ref = { name: req.name, namespace: req.namespace ?? '', uid, rollout, ...(manager.shard !== undefined ? { shard: manager.shard } : {}) };
    const restartAt = rollout.spec.restartAt;
    let restartPending: Record<string, number> | undefined;
    if (restartAt !== undefined && (raw.status?.restartedAt === undefined || Date.parse(raw.status.restartedAt) < Date.parse(restartAt))) {
      restartPending = {};
      for (const v of views.filter((x) => x.replicas > 0)) restartPending[v.hash] = (await podsBefore(client, ref, v.hash, restartAt)).length;
    }
    const status: RolloutStatus = { ...(raw.status ?? {}), observedGeneration: judged.observedGeneration, conditions: removeCondition(judged.conditions, RECONCILE_ERROR) };
    /** The decision could not be carried out: say what failed (keeping everything else) and retry with backoff. */
    const failWith = async (what: string, err: unknown): Promise<never> => {
      const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
      const failed: RolloutStatus = { ...status, conditions: setCondition(status.conditions, { type: RECONCILE_ERROR, status: 'True', reason: 'ActionFailed', message }, new Date(now).toISOString()) };
      if (!jsonEqual(failed, raw.status)) await writeStatus(req, raw, failed).catch(() => undefined);
      throw err;
    };
    const observed = { now, spec: rollout.spec, status, templateHash, replicaSets: views, stepAnalysis, experiments: seenExperiments.phases, experimentTemplates: observeExperimentTemplates(nsExperiments, uid, templateHash), analysisRunRefs: seenRuns.refs, ...(restartPending !== undefined ? { restartPending } : {}) };
    const blueGreen = rollout.spec.strategy?.blueGreen;
    let decision: Decision;
    const hooks = (blueGreen !== undefined ? blueGreen.webhooks : canary.webhooks) ?? [];
    const gateTarget: GateTarget = { name: req.name, namespace: req.namespace ?? '', checksum: templateHash };
    // A retry asks every gate afresh: the answers that aborted the revision must not abort it again.
    if (status.abort !== true && status.abortedAt !== undefined) gateCalls.forget(req.key);
    const gates = gateCalls.answers(req.key, gateTarget, hooks);
    if (blueGreen !== undefined) {
      decision = decideBlueGreen({ ...observed, gates, serviceSelectors: { active: selectorOf(blueGreen.activeService), preview: selectorOf(blueGreen.previewService) } });
    } else {
      const pins = router?.readPins !== undefined && target !== undefined
        ? await router.readPins(target).catch((err: unknown) => failWith(`reading ${router.type} routing`, err))
        : { canary: selectorOf(canary.canaryService), stable: selectorOf(canary.stableService) };
      decision = decideCanary({ ...observed, gates, stepsHash: stepsHash(canary.steps), serviceSelectors: pins });
    }
    // The gates it consulted without a fresh answer are called in the background; their answers enqueue it again.
    if (hooks.length > 0) gateCalls.request(req.key, gateTarget, hooks, decision.needGates ?? []);
    if (req.signal.aborted) return;
    const managedRoutes = (canary.trafficRouting?.managedRoutes ?? []).map((m) => m.name);
    for (const action of decision.actions) {
      if (req.signal.aborted) return; // leadership lost: stop acting at once
      try {
        await perform(ref, action, {
          client,
          router,
          target,
          managedRoutes,
          createAnalysisRun: (stepIndex, analysis) => createStepAnalysisRun(client, { ref, templateHash, stepIndex, analysis, templates: templates.list(req.namespace), clusterTemplates: clusterTemplates.list(), defaultPrometheus: deps.prometheusAddress, runs: nsRuns }),
          terminateAnalysisRun: (stepIndex) => terminateAnalysisRun(client, req.namespace ?? '', analysisRunName(req.name, templateHash, stepIndex)),
          deleteAnalysisRun: async (stepIndex) => {
            const runUid = seenRuns.uids[stepIndex];
            await deleteAnalysisRun(client, req.namespace ?? '', analysisRunName(req.name, templateHash, stepIndex), runUid);
            if (runUid !== undefined) deletedRuns.set(runUid, req.namespace ?? '');
          },
          createExperiment: (stepIndex, step) => createStepExperiment(client, { ref, templateHash, stepIndex, step }),
          terminateExperiment: (stepIndex) => terminateExperiment(client, req.namespace ?? '', experimentName(req.name, templateHash, stepIndex)),
          deleteExperiment: async (stepIndex) => {
            const expUid = seenExperiments.uids[stepIndex];
            await deleteAnalysisRun(client, req.namespace ?? '', experimentName(req.name, templateHash, stepIndex), expUid, R.experiment);
            if (expUid !== undefined) deletedExperiments.set(expUid, req.namespace ?? '');
          },
        });
      } catch (err) {
        // The decision's status assumed its actions happened: report the failure instead.
        await failWith(action.kind, err);
      }
    }
    // Runs of a superseded revision measure nothing the engine reads: they end (as Argo terminates them).
    for (const name of seenRuns.superseded) {
      if (req.signal.aborted) return;
      await terminateAnalysisRun(client, req.namespace ?? '', name).catch((err: unknown) => failWith(`ending the analysis run ${name} of a superseded revision`, err));
    }
    for (const name of seenExperiments.superseded) {
      if (req.signal.aborted) return;
      await terminateExperiment(client, req.namespace ?? '', name).catch((err: unknown) => failWith(`ending the experiment ${name} of a superseded revision`, err));
    }
    reportExperiment(decision.status, rollout, req.name, templateHash, seenExperiments.phases);
    // Past revisions' finished runs and Experiments beyond the history limits go (Argo's GC for runs; the same limits
    // for Experiments, or every experiment step would leave one behind); housekeeping: a failure is only logged.
    const beyond = [
      ...runsBeyondHistory(nsRuns, uid, templateHash, rollout.spec.analysis).map((r) => ({ ...r, resource: R.analysisRun })),
      ...runsBeyondHistory(nsExperiments, uid, templateHash, rollout.spec.analysis).map((r) => ({ ...r, resource: R.experiment })),
    ];
    for (const old of beyond) {
      if (req.signal.aborted) return;
      await deleteAnalysisRun(client, req.namespace ?? '', old.name, old.uid, old.resource).catch((err: unknown) => req.log.warn({ err, name: old.name, kind: old.resource.kind }, 'deleting an object beyond the history limit failed'));
    }
    if (ref0 !== undefined && workload !== undefined) {
      const healthy = decision.status.phase === 'Healthy';
      const want = workloadReplicas(ref0.scaleDown, rollout.spec.replicas ?? 1, decision.status.availableReplicas ?? 0, healthy);
      if (want !== undefined && want !== workload.spec?.replicas) {
        // Applied (not patched), so a GitOps sync of the same Deployment treats the count as ours and leaves it.
        await client.apply(R.deployment, { metadata: { name: ref0.name ?? '', namespace: req.namespace }, spec: { replicas: want } }, ROLLOUT_FIELD_MANAGER, { force: true }).catch((err: unknown) => failWith('scaling the workloadRef Deployment', err));
      }
    }
    decision.status.selector = selectorString(rollout);
    const next = decision.status;
    if (!jsonEqual(next, raw.status)) await writeStatus(req, raw, next);
    // Events are reports, not steps: sent in the background (the recorder never throws), the worker moves on.
    for (const e of decision.events) void events.record(raw, e.type, e.reason, e.message);
    const promoted = raw.status?.stableRS !== undefined && next.stableRS !== raw.status.stableRS;
    const aborted = decision.events.some((e) => e.reason === 'RolloutAborted');
    notifyHooks(hooks, decision.events, promoted ? 'Succeeded' : aborted ? 'Failed' : undefined, gateTarget, req.log);
    req.log.debug({ actions: decision.actions.map((a) => a.kind), step: next.currentStepIndex, phase: next.phase }, 'reconciled');
    return decision.requeueAfterMs !== undefined ? { requeueAfterMs: Math.max(decision.requeueAfterMs, 0) } : undefined;
  };

  const controller = manager.addController({
    name: 'rollout',
    for: rollouts,
    owns: [replicaSets, runs, experiments],
    watches: [
      { cache: templates, map: (t) => byTemplate(`${t.metadata?.namespace}/${t.metadata?.name}`) },
      { cache: clusterTemplates, map: (t) => byTemplate(`cluster:${t.metadata?.name}`) },
      { cache: services, map: byService },
      { cache: deployments, map: byWorkload },
    ],
    reconciler: { reconcile },
    workers: deps.rolloutWorkers ?? deps.workers,
  });
  return controller;
}

/** The serialized selector the scale subresource reports (so `kubectl scale` and an HPA can find the pods). */
function selectorString(r: Rollout): string {
  return Object.entries(r.spec.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
