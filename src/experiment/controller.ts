// The Experiment controller's shell: read the caches, check the spec, ask decideExperiment, perform its actions,
// write status once (conditional on the resourceVersion read). Decisions live in decide.ts.
import { checkSpec } from '../api/common/check.ts';
import { removeCondition, setCondition } from '../api/common/conditions.ts';
import { jsonEqual } from '../api/common/equal.ts';
import { formatSpecErrors } from '../api/common/errors.ts';
import { experimentSchema, type Experiment, type ExperimentStatus } from '../api/experiment/schema.ts';
import { validateExperiment } from '../api/experiment/validate.ts';
import type { AnalysisPhase } from '../api/analysis/schema.ts';
import type { TemplateObject } from '../analysis/templates.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import { writeStatusAt } from '../kube/status.ts';
import { terminateAnalysisRun } from '../rollout/analysis.ts';
import type { Controller, ReconcileRequest, ReconcileResult } from '../runtime/controller.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Manager } from '../runtime/manager.ts';
import { adoptChildren, TakenOwners, waitCached } from '../runtime/sharding/adopt.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';
import { decideExperiment, isCompleted, type ExperimentAction, type ExperimentRunView, type TemplateReplicaSet } from './decide.ts';
import { analysisRunManifest, EXPERIMENT_ANALYSIS_LABEL, EXPERIMENT_LABEL, EXPERIMENT_TEMPLATE_LABEL, replicaSetManifest, serviceManifest, templateHash, type ExperimentRef } from './resources.ts';

export const EXPERIMENT_FIELD_MANAGER = 'sluice-experiment';
export const INVALID_SPEC = 'InvalidSpec';

type ExperimentObject = KubeObject & { spec?: unknown; status?: ExperimentStatus };
type ReplicaSetObject = KubeObject & { spec?: { replicas?: number }; status?: { replicas?: number; updatedReplicas?: number; availableReplicas?: number; readyReplicas?: number; fullyLabeledReplicas?: number } };
type RunObject = KubeObject & { spec?: { terminate?: boolean }; status?: { phase?: string; message?: string } };

const OWNER_INDEX = 'experiment-uid';
/** How soon an Experiment that arrived before its AnalysisRuns is tried again (the sharder moves them in its pass). */
const RUNS_MOVING_MS = 250;
/** Set by the EndpointSlice controller: the Service a slice belongs to. */
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
type SliceObject = KubeObject & { endpoints?: { conditions?: { ready?: boolean } }[] };
const slimSlice = (s: SliceObject): SliceObject => ({ apiVersion: s.apiVersion, kind: s.kind, metadata: s.metadata, endpoints: (s.endpoints ?? []).map((e) => ({ conditions: { ...(e.conditions?.ready !== undefined ? { ready: e.conditions.ready } : {}) } })) });
const slimReplicaSet = (rs: ReplicaSetObject): ReplicaSetObject => ({ apiVersion: rs.apiVersion, kind: rs.kind, metadata: rs.metadata, spec: { replicas: rs.spec?.replicas }, ...(rs.status !== undefined ? { status: rs.status } : {}) });
const controllerUid = (o: KubeObject): string[] => (o.metadata?.ownerReferences ?? []).filter((r) => r.controller === true && r.kind === 'Experiment').map((r) => r.uid);

/** Names of the analysis templates an Experiment references, as namespace/name or cluster:name keys. */
function referencedTemplates(e: ExperimentObject): string[] {
  const analyses = (e.spec as Partial<Experiment['spec']> | undefined)?.analyses ?? [];
  return analyses.map((a) => (a.clusterScope === true ? `cluster:${a.templateName}` : `${e.metadata?.namespace}/${a.templateName}`));
}

export function registerExperimentController(manager: Manager, deps: { client: KubeClient; events: EventRecorder; workers: number }): Controller {
  const { client, events } = deps;
  const experiments = manager.cache<ExperimentObject>(R.experiment);
  // With sharding (`children`), only those labelled with this shard: created with the label, or taken when their
  // Experiment arrives here (takeChildren below).
  const replicaSets = manager.cache<ReplicaSetObject>(R.replicaSet, { labelSelector: EXPERIMENT_LABEL, transform: { id: 'experiment-rs', fn: slimReplicaSet }, children: true });
  replicaSets.addIndex(OWNER_INDEX, controllerUid);
  // With sharding, only this shard's: runs are born with their Experiment's label, and the sharder keeps a run with its
  // Experiment (same key), so when an Experiment moves its runs move with it (awaited in takeChildren).
  const runs = manager.cache<RunObject>(R.analysisRun, { labelSelector: EXPERIMENT_LABEL, children: true });
  runs.addIndex(OWNER_INDEX, controllerUid);
  // Only the templates' own Services (labelled): a handful per running Experiment.
  const services = manager.cache<KubeObject>(R.service, { labelSelector: EXPERIMENT_LABEL, transform: { id: 'experiment-svc', fn: (o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata }) }, children: true });
  services.addIndex(OWNER_INDEX, controllerUid);
  // Their EndpointSlices, which carry the Service's labels (the shard's too, copied by the EndpointSlice controller
  // when the Service is created or relabelled): a template gets traffic only once a proxy can reach it.
  const slices = manager.cache<SliceObject>(R.endpointSlice, { labelSelector: EXPERIMENT_LABEL, transform: { id: 'experiment-slices', fn: slimSlice }, children: true });
  const shard = manager.shard;
  const taken = shard === undefined ? undefined : new TakenOwners(experiments, [replicaSets, services]);
  const templates = manager.cache<TemplateObject>(R.analysisTemplate);
  const clusterTemplates = manager.cache<TemplateObject>(R.clusterAnalysisTemplate);
  const byTemplate = (key: string): string[] =>
    experiments.list().filter((e) => referencedTemplates(e).includes(key)).map((e) => `${e.metadata?.namespace}/${e.metadata?.name}`);

  const writeStatus = async (req: ReconcileRequest, raw: ExperimentObject, status: ExperimentStatus): Promise<void> => {
    controller.expectations.expect(req.key, await writeStatusAt(client, R.experiment, raw, status, EXPERIMENT_FIELD_MANAGER));
  };

  const reconcile = async (req: ReconcileRequest): Promise<ReconcileResult | void> => {
    const raw = experiments.get(req.namespace, req.name);
    if (raw === undefined || raw.metadata?.deletionTimestamp !== undefined) return;
    const now = Date.now();
    const generation = raw.metadata?.generation ?? 0;
    // Structural errors end the Experiment (Error, as Argo); a template not there yet holds it (it may come next).
    const check = checkSpec(experimentSchema, raw, (e) => validateExperiment(e));
    const seen = runViews(runs.byIndex(OWNER_INDEX, raw.metadata?.uid ?? ''));
    // A template matters until its run exists: one deleted afterwards holds nothing up.
    const ran = (clusterScope: boolean): string[] => (check.ok ? (check.value.spec.analyses ?? []).filter((a) => (a.clusterScope === true) === clusterScope && seen[a.name] !== undefined).map((a) => a.templateName) : []);
    const known = { analysisTemplates: new Set([...templates.list(req.namespace).map((t) => t.metadata?.name ?? ''), ...ran(false)]), clusterAnalysisTemplates: new Set([...clusterTemplates.list().map((t) => t.metadata?.name ?? ''), ...ran(true)]) };
    const refs = check.ok ? checkSpec(experimentSchema, raw, (e) => validateExperiment(e, known)) : check;
    if (!check.ok || !refs.ok) {
      const message = formatSpecErrors(!check.ok ? check.errors : refs.ok ? [] : refs.errors);
      const done = isCompleted(raw.status?.phase);
      const next: ExperimentStatus = {
        ...(raw.status ?? {}),
        observedGeneration: generation,
        ...(done ? {} : { phase: check.ok ? (raw.status?.phase ?? 'Pending') : 'Error', message: `${INVALID_SPEC}: ${message}` }),
        conditions: setCondition(raw.status?.conditions, { type: INVALID_SPEC, status: 'True', reason: INVALID_SPEC, message }, new Date(now).toISOString()),
      };
      if (!jsonEqual(next, raw.status)) {
        await writeStatus(req, raw, next);
        void events.record(raw, 'Warning', INVALID_SPEC, message);
      }
      return;
    }
    const exp = check.value;
    const ref: ExperimentRef = { name: req.name, namespace: req.namespace ?? '', uid: raw.metadata?.uid ?? '', ...(shard !== undefined ? { shard } : {}) };
    // Moved here: its children first, and its runs once the sharder has moved them too.
    if (shard !== undefined && taken?.due(ref.uid) === true && !(await takeChildren(ref, shard, req.signal))) return { requeueAfterMs: RUNS_MOVING_MS };
    const hashes = Object.fromEntries(exp.spec.templates.map((t) => [t.name, templateHash(req.name, t)]));
    const sets: Record<string, TemplateReplicaSet> = {};
    for (const rs of replicaSets.byIndex(OWNER_INDEX, ref.uid)) {
      const t = rs.metadata?.labels?.[EXPERIMENT_TEMPLATE_LABEL];
      if (t === undefined || rs.metadata?.deletionTimestamp !== undefined) continue;
      // Available counts only once the ReplicaSet controller observed our latest scale.
      sets[t] = { name: rs.metadata?.name ?? '', replicas: rs.spec?.replicas ?? 0, updated: rs.status?.fullyLabeledReplicas ?? rs.status?.replicas ?? 0, ready: rs.status?.readyReplicas ?? 0, available: rs.status?.availableReplicas ?? 0 };
    }
    const svcs: Record<string, string> = {};
    for (const svc of services.byIndex(OWNER_INDEX, ref.uid)) {
      const t = svc.metadata?.labels?.[EXPERIMENT_TEMPLATE_LABEL];
      if (t !== undefined && svc.metadata?.deletionTimestamp === undefined) svcs[t] = svc.metadata?.name ?? '';
    }
    const readyEndpoints = readyByTemplate(slices.list(req.namespace).filter((x) => x.metadata?.labels?.[EXPERIMENT_LABEL] === req.name));
    const status: ExperimentStatus = { ...(raw.status ?? {}), observedGeneration: generation, conditions: removeCondition(raw.status?.conditions, INVALID_SPEC) };
    if (status.message?.startsWith(`${INVALID_SPEC}:`) === true) delete status.message;
    const decision = decideExperiment({ now, spec: exp.spec, status, replicaSets: sets, hashes, runs: seen, services: svcs, readyEndpoints });
    for (const action of decision.actions) {
      if (req.signal.aborted) return;
      await perform(action, exp, ref, hashes, templates.list(req.namespace), clusterTemplates.list());
    }
    if (!jsonEqual(decision.status, raw.status)) await writeStatus(req, raw, decision.status);
    for (const e of decision.events) void events.record(raw, e.type, e.reason, e.message);
    req.log.debug({ actions: decision.actions.map((a) => a.kind), phase: decision.status.phase }, 'reconciled');
    return decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : undefined;
  };

  /**
   * Before the first decision on an Experiment this shard just received (see src/rollout/shard.ts for the Rollout's
   * half): its AnalysisRuns, which the sharder moves (they share the Experiment's key), must carry this shard's label
   * (false until they do: the caller requeues) and be in its cache; its ReplicaSets and Services, read live, are
   * labelled with this shard and awaited in its caches, and so are the Services' EndpointSlices once the EndpointSlice
   * controller copied the label (ChildNotCachedError retries). The old owner let go before the sharder moved the
   * Experiment, so no other replica acts on them meanwhile.
   */
  const takeChildren = async (ref: ExperimentRef, id: string, signal: AbortSignal): Promise<boolean> => {
    const query = { labelSelector: `${EXPERIMENT_LABEL}=${ref.name}` };
    const mine = (o: KubeObject): boolean => controllerUid(o).includes(ref.uid) && o.metadata?.deletionTimestamp === undefined;
    const [sets, svcs, ownRuns] = await Promise.all([client.list<KubeObject>(R.replicaSet, ref.namespace, query, signal), client.list<KubeObject>(R.service, ref.namespace, query, signal), client.list<KubeObject>(R.analysisRun, ref.namespace, query, signal)]);
    const liveRuns = ownRuns.items.filter(mine);
    if (liveRuns.some((r) => r.metadata?.labels?.[OWNER_LABEL] !== id)) return false;
    await waitCached(runs, liveRuns, signal);
    await adoptChildren(client, id, replicaSets, sets.items.filter(mine), signal);
    const own = svcs.items.filter(mine);
    await adoptChildren(client, id, services, own, signal);
    const names = new Set(own.map((s) => s.metadata?.name));
    const ownSlices = (await client.list<KubeObject>(R.endpointSlice, ref.namespace, query, signal)).items.filter((s) => names.has(s.metadata?.labels?.[SERVICE_NAME_LABEL]) && s.metadata?.deletionTimestamp === undefined);
    await waitCached(slices, ownSlices, signal);
    taken?.done(ref.uid);
    return true;
  };

  const perform = async (a: ExperimentAction, exp: Experiment, ref: ExperimentRef, hashes: Record<string, string>, nsTemplates: TemplateObject[], cTemplates: TemplateObject[]): Promise<void> => {
    switch (a.kind) {
      case 'createReplicaSet': {
        const t = exp.spec.templates.find((x) => x.name === a.template);
        if (t === undefined) return;
        await ignoreConflict(client.create(R.replicaSet, replicaSetManifest(ref, t, hashes[t.name] ?? '', a.replicas)));
        return;
      }
      case 'createService': {
        const t = exp.spec.templates.find((x) => x.name === a.template);
        if (t === undefined) return;
        await ignoreConflict(client.create(R.service, serviceManifest(ref, t, hashes[t.name] ?? '')));
        return;
      }
      case 'deleteService':
        await client.delete(R.service, ref.namespace, a.name).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        return;
      case 'scaleReplicaSet':
        await client.mergePatch(R.replicaSet, ref.namespace, a.name, { spec: { replicas: a.replicas } }, { fieldManager: EXPERIMENT_FIELD_MANAGER });
        return;
      case 'createAnalysisRun': {
        const analysis = exp.spec.analyses?.find((x) => x.name === a.analysis);
        if (analysis === undefined) return;
        await ignoreConflict(client.create(R.analysisRun, analysisRunManifest(ref, exp.spec, analysis, hashes, nsTemplates, cTemplates)));
        return;
      }
      case 'terminateAnalysisRun':
        await terminateAnalysisRun(client, ref.namespace, a.name);
        return;
    }
  };

  const controller = manager.addController({
    name: 'experiment',
    for: experiments,
    owns: [replicaSets, runs, services],
    watches: [
      { cache: templates, map: (t) => byTemplate(`${t.metadata?.namespace}/${t.metadata?.name}`) },
      { cache: clusterTemplates, map: (t) => byTemplate(`cluster:${t.metadata?.name}`) },
      { cache: slices, map: (s) => (s.metadata?.labels?.[EXPERIMENT_LABEL] !== undefined ? [`${s.metadata.namespace}/${s.metadata.labels[EXPERIMENT_LABEL]}`] : []) },
    ],
    reconciler: { reconcile },
    workers: deps.workers,
  });
  return controller;
}

/** Ready endpoints per template, over its Service's EndpointSlices (a missing `ready` condition means ready). */
function readyByTemplate(own: readonly SliceObject[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of own) {
    const t = s.metadata?.labels?.[EXPERIMENT_TEMPLATE_LABEL];
    if (t === undefined) continue;
    out[t] = (out[t] ?? 0) + (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
  }
  return out;
}

/** The Experiment's runs by analysis name, as the engine sees them. */
function runViews(owned: readonly RunObject[]): Record<string, ExperimentRunView> {
  const seen: Record<string, ExperimentRunView> = {};
  for (const run of owned) {
    const a = run.metadata?.labels?.[EXPERIMENT_ANALYSIS_LABEL];
    if (a === undefined || run.metadata?.deletionTimestamp !== undefined) continue;
    seen[a] = { name: run.metadata?.name ?? '', phase: (run.status?.phase as AnalysisPhase | undefined) ?? 'Pending', ...(run.status?.message !== undefined ? { message: run.status.message } : {}), terminating: run.spec?.terminate === true };
  }
  return seen;
}

/** Already there: a previous reconcile created it (its cache had not caught up). */
async function ignoreConflict(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}
