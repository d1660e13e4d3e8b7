// The Rollout controller's shell. Today it judges the spec (InvalidSpec or not) and reports it in status; the step
// engine joins here. Decisions live in spec.ts; this file reads the caches and performs the one write.
import type { Rollout, RolloutStatus } from '../api/rollout/schema.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import type { Controller, ReconcileRequest, ReconcileResult } from '../runtime/controller.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Manager } from '../runtime/manager.ts';
import { checkRollout, INVALID_SPEC, specStatus, specStatusChanged } from './spec.ts';

export const ROLLOUT_FIELD_MANAGER = 'sluice-rollout';

type RolloutObject = KubeObject & { spec?: Rollout['spec']; status?: RolloutStatus };
type Named = KubeObject & { spec?: unknown };

/** Names of the templates a Rollout references, as namespace/name or cluster:name keys. */
function referencedTemplates(r: RolloutObject): string[] {
  const spec = r.spec;
  const analyses = [
    spec?.strategy?.canary?.analysis,
    ...(spec?.strategy?.canary?.steps ?? []).map((s) => s.analysis),
    spec?.strategy?.blueGreen?.prePromotionAnalysis,
    spec?.strategy?.blueGreen?.postPromotionAnalysis,
  ];
  return analyses.flatMap((a) => (a?.templates ?? []).map((t) => (t.clusterScope === true ? `cluster:${t.templateName}` : `${r.metadata?.namespace}/${t.templateName}`)));
}

export function registerRolloutController(manager: Manager, deps: { client: KubeClient; events: EventRecorder; workers: number }): Controller {
  const rollouts = manager.cache<RolloutObject>(R.rollout);
  const templates = manager.cache<Named>(R.analysisTemplate);
  const clusterTemplates = manager.cache<Named>(R.clusterAnalysisTemplate);
  // A template appearing or going away changes whether the rollouts that name it are valid.
  const byTemplate = (key: string) => (): string[] =>
    rollouts.list().filter((r) => referencedTemplates(r).includes(key)).map((r) => `${r.metadata?.namespace}/${r.metadata?.name}`);

  const reconcile = async (req: ReconcileRequest): Promise<ReconcileResult | void> => {
    const raw = rollouts.get(req.namespace, req.name);
    if (raw === undefined || raw.metadata?.deletionTimestamp !== undefined) return;
    const ctx = {
      analysisTemplates: new Set(templates.list(req.namespace).map((t) => t.metadata?.name ?? '')),
      clusterAnalysisTemplates: new Set(clusterTemplates.list().map((t) => t.metadata?.name ?? '')),
    };
    const check = checkRollout(raw, ctx);
    const next = specStatus(raw.status, check, raw.metadata?.generation ?? 0, new Date().toISOString());
    if (!specStatusChanged(raw.status, next)) return;
    const written = await deps.client.apply<KubeObject>(
      R.rollout,
      { metadata: { name: req.name, namespace: req.namespace }, status: next },
      ROLLOUT_FIELD_MANAGER,
      { force: true, subresource: 'status' },
    );
    controller.expectations.expect(req.key, written.metadata?.resourceVersion);
    const wasInvalid = raw.status?.conditions?.some((c) => c.type === INVALID_SPEC && c.status === 'True') === true;
    if (!check.ok) {
      req.log.warn({ errors: check.errors }, 'invalid spec');
      if (next.message !== raw.status?.message) await deps.events.record(raw, 'Warning', INVALID_SPEC, next.message ?? '');
    } else if (wasInvalid) {
      await deps.events.record(raw, 'Normal', 'SpecValid', 'the spec is valid again');
    }
  };

  const controller = manager.addController({
    name: 'rollout',
    for: rollouts,
    watches: [
      { cache: templates, map: (t) => byTemplate(`${t.metadata?.namespace}/${t.metadata?.name}`)() },
      { cache: clusterTemplates, map: (t) => byTemplate(`cluster:${t.metadata?.name}`)() },
    ],
    reconciler: { reconcile },
    workers: deps.workers,
  });
  return controller;
}
