// Performs the engine's actions against the cluster, one after another; the first failure stops the list (the next
// reconcile re-derives what is left). Each action is idempotent: repeating it changes nothing.
import type { Rollout } from '../api/rollout/schema.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isConflict } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import type { Action, ServiceRole } from './decide/types.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';
import { POD_TEMPLATE_HASH_LABEL } from './hash.ts';
import { nextRevision, REVISION_ANNOTATION } from './revision.ts';
import type { RouteTarget, TrafficRouter } from './traffic/router.ts';
import { ROUTER_FIELD_MANAGER } from './traffic/router.ts';

/** Argo's annotation, so tools that read it keep working. */
export const SCALE_DOWN_DEADLINE = 'scale-down-deadline';

export interface RolloutRef {
  name: string;
  namespace: string;
  uid: string;
  rollout: Rollout;
  /** With sharding: this replica's shard, the owner label of what it creates (never on the pods' template). */
  shard?: string;
}

export function replicaSetName(rollout: string, hash: string): string {
  return `${rollout}-${hash}`;
}

/**
 * The ReplicaSet of one revision: the Rollout's template, pinned to the revision's hash, owned by the Rollout, its
 * revision number in Argo's annotation.
 */
export function replicaSetManifest(r: RolloutRef, hash: string, replicas: number, revision: number): KubeObject {
  const spec = r.rollout.spec;
  type PodTemplate = { metadata?: { labels?: Record<string, string>; [k: string]: unknown }; [k: string]: unknown };
  const template = structuredClone<PodTemplate>(spec.template ?? {});
  const labels = { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  return {
    metadata: {
      name: replicaSetName(r.name, hash),
      namespace: r.namespace,
      labels: r.shard !== undefined ? { ...labels, [OWNER_LABEL]: r.shard } : labels,
      annotations: { [REVISION_ANNOTATION]: String(revision) },
      ownerReferences: [{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', name: r.name, uid: r.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas,
      minReadySeconds: spec.minReadySeconds ?? 0,
      selector: { matchLabels: { ...(spec.selector?.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash }, ...(spec.selector?.matchExpressions ? { matchExpressions: spec.selector.matchExpressions } : {}) },
      template: { ...template, metadata: { ...(template.metadata ?? {}), labels } },
    },
  };
}

/** The Service a role names in the Rollout's strategy (undefined: the Rollout has none for that role). */
export function serviceFor(rollout: Rollout, role: ServiceRole): string | undefined {
  const { canary, blueGreen } = rollout.spec.strategy ?? {};
  switch (role) {
    case 'canary':
      return canary?.canaryService;
    case 'stable':
      return canary?.stableService;
    case 'active':
      return blueGreen?.activeService;
    case 'preview':
      return blueGreen?.previewService;
  }
}

export interface EffectDeps {
  client: KubeClient;
  router: TrafficRouter | undefined;
  target: RouteTarget | undefined;
  managedRoutes: string[];
  createAnalysisRun: (stepIndex: number, analysis: Extract<Action, { kind: 'createAnalysisRun' }>['analysis']) => Promise<void>;
  terminateAnalysisRun: (stepIndex: number) => Promise<void>;
  deleteAnalysisRun: (stepIndex: number) => Promise<void>;
  createExperiment: (stepIndex: number, step: Extract<Action, { kind: 'createExperiment' }>['experiment']) => Promise<void>;
  terminateExperiment: (stepIndex: number) => Promise<void>;
  deleteExperiment: (stepIndex: number) => Promise<void>;
}

export async function perform(r: RolloutRef, a: Action, d: EffectDeps): Promise<void> {
  const { client } = d;
  switch (a.kind) {
    case 'createReplicaSet': {
      const revision = nextRevision(await ownedReplicaSets(client, r));
      try {
        await client.create(R.replicaSet, replicaSetManifest(r, a.hash, a.replicas, revision));
      } catch (err) {
        if (!isConflict(err)) throw err; // already there: a previous reconcile created it
      }
      return;
    }
    case 'scaleReplicaSet':
      await client.mergePatch(R.replicaSet, r.namespace, a.name, { spec: { replicas: a.replicas }, ...(a.replicas > 0 ? { metadata: { annotations: { [SCALE_DOWN_DEADLINE]: null } } } : {}) }, { fieldManager: ROUTER_FIELD_MANAGER });
      return;
    case 'markScaleDown':
      await client.mergePatch(R.replicaSet, r.namespace, a.name, { metadata: { annotations: { [SCALE_DOWN_DEADLINE]: new Date(a.at).toISOString() } } }, { fieldManager: ROUTER_FIELD_MANAGER });
      return;
    case 'unmarkScaleDown':
      await client.mergePatch(R.replicaSet, r.namespace, a.name, { metadata: { annotations: { [SCALE_DOWN_DEADLINE]: null } } }, { fieldManager: ROUTER_FIELD_MANAGER });
      return;
    case 'pinService': {
      if (d.router?.pin !== undefined && d.target !== undefined && (a.role === 'canary' || a.role === 'stable')) {
        await d.router.pin(d.target, a.role, a.hash);
        return;
      }
      const name = serviceFor(r.rollout, a.role);
      if (name === undefined) return;
      // A Service selector is an atomic map: applying just our key would drop the others. So the whole selector is
      // applied (what Git says plus the hash), conditional on the version read; a GitOps sync then sees it as our
      // declared field and leaves it alone.
      const live = await client.get<KubeObject & { spec?: { selector?: Record<string, string> } }>(R.service, r.namespace, name);
      const selector = { ...(live.spec?.selector ?? {}), [POD_TEMPLATE_HASH_LABEL]: a.hash };
      await client.apply(R.service, { metadata: { name, namespace: r.namespace, resourceVersion: live.metadata?.resourceVersion }, spec: { selector } }, ROUTER_FIELD_MANAGER, { force: true });
      return;
    }
    case 'setWeight':
      if (d.router && d.target) await d.router.setWeight(d.target, a.weight, { additional: (a.additional ?? []).map((x) => ({ service: x.serviceName, weight: x.weight, ...(x.ports !== undefined ? { ports: x.ports } : {}) })), remove: a.remove ?? [] });
      return;
    case 'setHeaderRoute':
      if (d.router && d.target) await d.router.setHeaderRoute(d.target, { name: a.name, match: a.match });
      return;
    case 'setMirrorRoute':
      if (d.router && d.target) await d.router.setMirrorRoute(d.target, { name: a.name, percentage: a.percentage, match: a.match });
      return;
    case 'removeManagedRoutes':
      if (d.router && d.target && d.managedRoutes.length > 0) await d.router.removeManagedRoutes(d.target, d.managedRoutes);
      return;
    case 'finishRouting':
      if (d.router?.cleanup && d.target) await d.router.cleanup(d.target);
      return;
    case 'createAnalysisRun':
      await d.createAnalysisRun(a.stepIndex, a.analysis);
      return;
    case 'terminateAnalysisRun':
      await d.terminateAnalysisRun(a.stepIndex);
      return;
    case 'deleteAnalysisRun':
      await d.deleteAnalysisRun(a.stepIndex);
      return;
    case 'createExperiment':
      await d.createExperiment(a.stepIndex, a.experiment);
      return;
    case 'terminateExperiment':
      await d.terminateExperiment(a.stepIndex);
      return;
    case 'deleteExperiment':
      await d.deleteExperiment(a.stepIndex);
      return;
    case 'restartPods': {
      const pods = await podsBefore(client, r, a.hash, a.before);
      for (const pod of pods.slice(0, a.count)) {
        // Eviction, not deletion: a PodDisruptionBudget can refuse it (429), and the reconcile retries later.
        await client.evict(r.namespace, pod);
      }
      return;
    }
    case 'setRevision':
      await client.mergePatch(R.replicaSet, r.namespace, a.name, { metadata: { annotations: { [REVISION_ANNOTATION]: String(a.revision) } } }, { fieldManager: ROUTER_FIELD_MANAGER });
      return;
    case 'deleteReplicaSet':
      await client.delete(R.replicaSet, r.namespace, a.name, { propagationPolicy: 'Background' });
      return;
  }
}

/**
 * The Rollout's ReplicaSets (controller owner reference to it), read fresh: a new revision numbers after them. The
 * selector's labels narrow the list to this Rollout's (its ReplicaSets carry them), so the answer is a few objects,
 * not every ReplicaSet of the namespace.
 */
export async function ownedReplicaSets(client: KubeClient, r: RolloutRef): Promise<KubeObject[]> {
  const labels = Object.entries(r.rollout.spec.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const list = await client.list<KubeObject>(R.replicaSet, r.namespace, { labelSelector: [POD_TEMPLATE_HASH_LABEL, ...labels].join(',') });
  return list.items.filter((rs) => (rs.metadata?.ownerReferences ?? []).some((o) => o.uid === r.uid && o.controller === true));
}

type PodObject = KubeObject & { status?: { phase?: string } };

/** Running pods of one revision created before `before`, oldest first (the restart's work list). */
export async function podsBefore(client: KubeClient, r: RolloutRef, hash: string, before: string): Promise<string[]> {
  const labels = { ...(r.rollout.spec.selector?.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const list = await client.list<PodObject>(R.pod, r.namespace, { labelSelector: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') });
  const cutoff = Date.parse(before);
  return list.items
    .filter((p) => p.metadata?.deletionTimestamp === undefined && Date.parse(p.metadata?.creationTimestamp ?? '') < cutoff)
    .sort((a, b) => Date.parse(a.metadata?.creationTimestamp ?? '') - Date.parse(b.metadata?.creationTimestamp ?? ''))
    .map((p) => p.metadata?.name ?? '');
}
