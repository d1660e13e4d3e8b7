// The sync plan: what to apply, in which order, and what may be pruned. Pure: manifests, scopes and the previous
// inventory in; an ordered plan out. DESIGN invariant 6 lives here (property-tested in plan.test.ts).
import { createHash } from 'node:crypto';
import { hookSpec, type DeletePolicy, type HookPhase } from '../hooks/hooks.ts';
import type { Manifest, RenderedManifest } from '../render/yaml.ts';
import { OWNER_LABEL } from '../../runtime/sharding/decide.ts';

/** On every managed object: selects them (one label-selected watch per kind) and names the owning Application. */
export const INSTANCE_LABEL = 'sluice.dev/instance';
/** `<app ns>/<app name>:<group>/<kind>:<ns>/<name>`: only an object carrying ours is ever pruned or healed. */
export const TRACKING_ANNOTATION = 'sluice.dev/tracking-id';
export const SLUICE_WAVE = 'sluice.dev/sync-wave';
export const ARGO_WAVE = 'argocd.argoproj.io/sync-wave';
export const SLUICE_SYNC_OPTIONS = 'sluice.dev/sync-options';
export const ARGO_SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';

export interface ObjectRef {
  group: string;
  version?: string;
  kind: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
  /** The wave it was applied in (kept in the inventory so prune can run waves in reverse). */
  syncWave?: number;
}

export interface AppId {
  namespace: string;
  name: string;
}

/** Identity ignores the version: `apps/v1 Deployment` and a later `apps/v2 Deployment` are the same object. */
export const refKey = (r: ObjectRef): string => `${r.group}/${r.kind}:${r.namespace}/${r.name}`;
export const trackingId = (app: AppId, r: ObjectRef): string => `${app.namespace}/${app.name}:${refKey(r)}`;
export const refString = (r: ObjectRef): string => `${r.kind}${r.group === '' ? '' : `.${r.group}`} ${r.namespace === '' ? '' : `${r.namespace}/`}${r.name}`;

/** A label value (≤63 chars) that names the app: the name itself when it fits, else a truncated name + hash. */
export function instanceLabelValue(app: AppId): string {
  if (app.name.length <= 63) return app.name;
  const hash = createHash('sha256').update(`${app.namespace}/${app.name}`).digest('hex').slice(0, 10);
  return `${app.name.slice(0, 52).replace(/[-_.]+$/, '')}-${hash}`;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** Sync options of an object (`Prune=false,ServerSideApply=true`), from Sluice's annotation or Argo CD's. */
export function syncOptions(annotations: Record<string, string> | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of [ARGO_SYNC_OPTIONS, SLUICE_SYNC_OPTIONS]) {
    for (const part of (annotations?.[key] ?? '').split(',')) {
      const [k, v] = part.split('=').map((s) => s.trim());
      if (k !== undefined && k !== '' && v !== undefined) out.set(k, v);
    }
  }
  return out;
}

/**
 * Applied first, before every wave: everything else may need them. Within this stage and within a wave, kinds go
 * in this order (Argo CD's, which kubectl users know); unlisted kinds (custom resources) go last.
 */
const FIRST = new Set(['Namespace', 'CustomResourceDefinition']);
const KIND_ORDER = [
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
];
const kindRank = (kind: string): number => {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
};

export interface PlannedObject {
  ref: ObjectRef;
  /** The stage: -Infinity is the Namespace/CRD stage; otherwise the sync wave. */
  wave: number;
  manifest: Manifest;
  source: string;
}

/** A hook: not a managed resource (never inventoried, compared or pruned) but a step of each sync operation. */
export interface PlannedHook {
  ref: ObjectRef;
  phases: HookPhase[];
  deletePolicies: DeletePolicy[];
  /** Hooks of one phase run wave by wave (sync-wave, or Helm's hook-weight). */
  wave: number;
  manifest: Manifest;
  source: string;
}

export interface PlanInput {
  app: AppId;
  /** spec.destination.namespace: the namespace of namespaced objects that name none. */
  destinationNamespace: string | undefined;
  /** The render result: an error means nothing is applied and nothing pruned. */
  rendered: { ok: true; manifests: RenderedManifest[] } | { ok: false; error: string };
  /** Is a kind namespaced? undefined when the apiserver does not know it (a CRD in this same sync may define it). */
  namespaced: (apiVersion: string, kind: string) => boolean | undefined;
  /** The previous sync's inventory (status.resources). */
  inventory: ObjectRef[];
  prune: boolean;
  allowEmpty: boolean;
  /**
   * With sharding, the id of the shard that owns the Application: every object is applied with the shard's owner
   * label too, so each replica's label-selected watches hold only its own apps' objects (see SyncTarget).
   */
  shard?: string;
}

export interface Plan {
  /** Ordered: stage, wave, kind, namespace, name. Empty when `errors` is not. */
  apply: PlannedObject[];
  /** Inventoried, no longer rendered, and pruning is allowed: delete in this order (reverse waves), each only
   * after `pruneVerdict` on the live object says so. */
  prune: ObjectRef[];
  /** No longer rendered but kept: why (prune off, empty render, render error). Such objects make the app OutOfSync. */
  orphaned: { ref: ObjectRef; reason: string }[];
  /** Ordered by wave, kind, namespace, name. */
  hooks: PlannedHook[];
  errors: string[];
}

function waveOf(m: RenderedManifest): number | string {
  const raw = m.manifest.metadata.annotations?.[SLUICE_WAVE] ?? m.manifest.metadata.annotations?.[ARGO_WAVE];
  if (raw === undefined) return 0;
  const n = Number(raw.trim());
  return Number.isInteger(n) ? n : `${m.source}: sync wave ${JSON.stringify(raw)} is not an integer`;
}

export function plan(input: PlanInput): Plan {
  if (!input.rendered.ok) {
    return { apply: [], prune: [], orphaned: input.inventory.map((ref) => ({ ref, reason: 'render failed' })), hooks: [], errors: [input.rendered.error] };
  }
  const manifests = input.rendered.manifests;
  const errors: string[] = [];
  // Custom resources whose CRD arrives in this sync: their scope comes from the CRD's spec.scope.
  const crdScopes = new Map<string, boolean>();
  for (const { manifest } of manifests) {
    if (manifest.kind !== 'CustomResourceDefinition') continue;
    const spec = (manifest as { spec?: { group?: string; names?: { kind?: string }; scope?: string } }).spec;
    if (spec?.group !== undefined && spec.names?.kind !== undefined) crdScopes.set(`${spec.group}/${spec.names.kind}`, spec.scope !== 'Cluster');
  }
  const seen = new Map<string, string>();
  const seenHooks = new Map<string, string>();
  const planned: PlannedObject[] = [];
  const hooks: PlannedHook[] = [];
  for (const r of manifests) {
    const m = r.manifest;
    const { group, version } = splitApiVersion(m.apiVersion);
    const namespaced = input.namespaced(m.apiVersion, m.kind) ?? crdScopes.get(`${group}/${m.kind}`);
    if (namespaced === undefined) {
      errors.push(`${r.source}: the server does not know ${m.kind} in ${m.apiVersion} (is its CRD installed?)`);
      continue;
    }
    const namespace = namespaced ? (m.metadata.namespace ?? input.destinationNamespace ?? '') : '';
    if (namespaced && namespace === '') {
      errors.push(`${r.source}: ${m.kind} ${m.metadata.name} names no namespace and spec.destination.namespace is empty`);
      continue;
    }
    const ref: ObjectRef = { group, version, kind: m.kind, namespace, name: m.metadata.name };
    const key = refKey(ref);
    const hook = hookSpec(m);
    if (hook.kind === 'skip') continue;
    if (hook.kind === 'error') {
      errors.push(`${r.source}: ${hook.message}`);
      continue;
    }
    const bySource = hook.kind === 'hook' ? seenHooks : seen;
    const dup = bySource.get(key);
    if (dup !== undefined) {
      errors.push(`${r.source}: ${refString(ref)} is also rendered by ${dup}`);
      continue;
    }
    bySource.set(key, r.source);
    const wave = waveOf(r);
    if (typeof wave === 'string') {
      errors.push(wave);
      continue;
    }
    if (hook.kind === 'hook') {
      const own = m.metadata.annotations?.[SLUICE_WAVE] ?? m.metadata.annotations?.[ARGO_WAVE];
      hooks.push({ ref, phases: hook.phases, deletePolicies: hook.deletePolicies, wave: own === undefined ? (hook.weight ?? 0) : wave, manifest: tracked(m, input.app, ref, input.shard), source: r.source });
      continue;
    }
    const first = FIRST.has(m.kind) && group === (m.kind === 'Namespace' ? '' : 'apiextensions.k8s.io');
    if (!first) ref.syncWave = wave;
    planned.push({ ref, wave: first ? -Infinity : wave, manifest: tracked(m, input.app, ref, input.shard), source: r.source });
  }
  if (errors.length > 0) {
    return { apply: [], prune: [], orphaned: input.inventory.filter((ref) => !seen.has(refKey(ref))).map((ref) => ({ ref, reason: 'the plan has errors' })), hooks: [], errors };
  }
  planned.sort(compareApply);
  hooks.sort(compareApply);

  const gone = input.inventory.filter((ref) => !seen.has(refKey(ref)));
  const emptyRefused = planned.length === 0 && !input.allowEmpty;
  const reason = emptyRefused ? 'the render is empty (set allowEmpty to prune everything)' : !input.prune ? 'prune is off' : undefined;
  if (reason !== undefined) return { apply: planned, prune: [], orphaned: gone.map((ref) => ({ ref, reason })), hooks, errors: [] };
  // Reverse creation order: the last wave goes first, Namespaces and CRDs last (their contents first).
  const waveOfRef = (ref: ObjectRef): number => (FIRST.has(ref.kind) ? -Infinity : (ref.syncWave ?? 0));
  const prune = [...gone].sort((a, b) => -compareRefs(waveOfRef(a), a, waveOfRef(b), b));
  return { apply: planned, prune, orphaned: [], hooks, errors: [] };
}

function compareRefs(wa: number, a: ObjectRef, wb: number, b: ObjectRef): number {
  if (wa !== wb) return wa < wb ? -1 : 1;
  const k = kindRank(a.kind) - kindRank(b.kind);
  if (k !== 0) return k;
  const sa = `${a.kind}/${a.namespace}/${a.name}`;
  const sb = `${b.kind}/${b.namespace}/${b.name}`;
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

const compareApply = (a: { wave: number; ref: ObjectRef }, b: { wave: number; ref: ObjectRef }): number => compareRefs(a.wave, a.ref, b.wave, b.ref);

/**
 * `track`, the same object for the same rendered manifest (rendered manifests are cached and never mutated): the
 * comparison memoizes its fingerprint per object, so an unchanged object of a re-planned app is not hashed again.
 */
const trackedBy = new WeakMap<Manifest, Map<string, Manifest>>();
function tracked(m: Manifest, app: AppId, ref: ObjectRef, shard: string | undefined): Manifest {
  let per = trackedBy.get(m);
  if (per === undefined) trackedBy.set(m, (per = new Map<string, Manifest>()));
  const key = `${app.namespace}/${app.name}\0${ref.namespace}\0${shard ?? ''}`;
  let t = per.get(key);
  if (t === undefined) per.set(key, (t = track(m, app, ref, shard)));
  return t;
}

/**
 * The manifest as Sluice applies it: namespace settled, tracking label and annotation added (and, sharded, the
 * owner shard's label: like the instance label it is Sluice's, not Git's, so it is never drift). Never mutates.
 */
function track(m: Manifest, app: AppId, ref: ObjectRef, shard: string | undefined): Manifest {
  const metadata: Manifest['metadata'] = {
    ...m.metadata,
    labels: { ...m.metadata.labels, [INSTANCE_LABEL]: instanceLabelValue(app), ...(shard !== undefined ? { [OWNER_LABEL]: shard } : {}) },
    annotations: { ...m.metadata.annotations, [TRACKING_ANNOTATION]: trackingId(app, ref) },
  };
  if (ref.namespace === '') delete metadata.namespace;
  else metadata.namespace = ref.namespace;
  return { ...m, metadata };
}

export type PruneVerdict = { delete: true } | { delete: false; reason: string };

/**
 * Decides on the live object whether a prune candidate may be deleted. Only an object that carries this
 * Application's tracking id is ours (invariant 6: never delete what we do not track), and `Prune=false` (or Helm's
 * `helm.sh/resource-policy: keep`) keeps it.
 */
export function pruneVerdict(app: AppId, ref: ObjectRef, live: { metadata?: { annotations?: Record<string, string>; deletionTimestamp?: string } } | undefined): PruneVerdict {
  if (live === undefined) return { delete: false, reason: 'already gone' };
  const annotations = live.metadata?.annotations;
  if (annotations?.[TRACKING_ANNOTATION] !== trackingId(app, ref)) return { delete: false, reason: 'not tracked by this Application' };
  if (syncOptions(annotations).get('Prune') === 'false') return { delete: false, reason: 'Prune=false' };
  if (annotations?.['helm.sh/resource-policy'] === 'keep') return { delete: false, reason: 'helm.sh/resource-policy: keep' };
  if (live.metadata?.deletionTimestamp !== undefined) return { delete: false, reason: 'already being deleted' };
  return { delete: true };
}

/** The stages of a plan, in order: objects of one stage are applied before the next stage starts. */
export function stages<T extends { wave: number }>(p: T[]): T[][] {
  const out: T[][] = [];
  for (const o of p) {
    const last = out[out.length - 1];
    if (last !== undefined && last[0]?.wave === o.wave) last.push(o);
    else out.push([o]);
  }
  return out;
}
