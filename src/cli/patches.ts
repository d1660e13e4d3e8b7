// The patches the rollout verbs send, decided from the Rollout as read. Pure. They are Argo Rollouts' kubectl
// plugin's patches for the same verbs, so Sluice and Argo tooling steer a Rollout the same way.
import type { Rollout } from '../api/rollout/schema.ts';
import { podTemplateHash } from '../rollout/hash.ts';
import { UsageError } from './command.ts';
import { revisions } from './view/rollout.ts';
import { POD_TEMPLATE_HASH, type ReplicaSetView } from './view/snapshot.ts';

export interface RolloutPatches {
  /** Merge patch of the status subresource (sent first, as Argo's plugin does). */
  status?: Record<string, unknown>;
  /** Merge patch of the object (spec). */
  spec?: Record<string, unknown>;
  /** What happened, for the user. */
  message: string;
}

/**
 * promote, as Argo Rollouts' plugin (promote.go): unpause spec.paused; then either clear the pause conditions (the
 * operator sees controllerPause without a pause condition and moves past the step: a pause step, an inconclusive
 * analysis, blue-green waiting for promotion alike) or, on a canary with steps that no condition pauses (mid
 * setWeight or analysis, or paused only by spec.paused), clear them and skip the current step (currentStepIndex + 1,
 * never past the last).
 * promote --full: `status.promoteFull: true` unless the current revision is already the stable one, plus the unpause
 * when spec.paused is set: neither our operator nor Argo's acts on promoteFull while spec.paused is true (Argo's
 * plugin sends the unpause too since argoproj/argo-rollouts#4412; older Argo plugins sent promoteFull alone).
 */
export function promotePatches(r: Rollout, full: boolean): RolloutPatches {
  const s = r.status ?? {};
  const name = r.metadata.name ?? '';
  const spec = r.spec.paused === true ? { paused: false } : undefined;
  const pauses = s.pauseConditions ?? [];
  if (full) {
    if (s.currentPodHash !== undefined && s.currentPodHash === s.stableRS) return { spec, message: `rollout "${name}" is already fully promoted${spec ? ' (unpaused)' : ''}` };
    return { spec, status: { promoteFull: true }, message: `rollout "${name}" fully promoted` };
  }
  if (pauses.length > 0) return { spec, status: { pauseConditions: null }, message: `rollout "${name}" promoted` };
  // A webhook gate is the team's own check: a plain promote does not skip it (the gate opens it, --full goes past).
  const gate = s.gates?.waiting;
  if (gate !== undefined && spec === undefined) return { message: `rollout "${name}" is waiting for gate ${gate.name} (${gate.type}): it goes on when the gate answers 2xx, or use --full` };
  const steps = r.spec.strategy?.canary?.steps;
  if (steps !== undefined && steps.length > 0 && r.spec.strategy?.blueGreen === undefined) {
    const index = s.currentStepIndex ?? 0;
    if (index >= steps.length) {
      // Argo would write the same index back: nothing changes but the unpause.
      if (spec !== undefined) return { spec, message: `rollout "${name}" promoted (unpaused)` };
      return { message: `rollout "${name}" has no step left to promote (use --full to make the current revision stable)` };
    }
    return { spec, status: { pauseConditions: null, currentStepIndex: index + 1 }, message: `rollout "${name}" promoted: skipped step ${index}${spec ? ' (unpaused)' : ''}` };
  }
  if (spec !== undefined) return { spec, message: `rollout "${name}" promoted (unpaused)` };
  return { message: `rollout "${name}" is not paused: nothing to promote` };
}

export const abortPatches = (r: Rollout): RolloutPatches => ({ status: { abort: true }, message: `rollout "${r.metadata.name ?? ''}" aborted` });
export const retryPatches = (r: Rollout): RolloutPatches => ({ status: { abort: false }, message: `rollout "${r.metadata.name ?? ''}" retried` });
export const pausePatches = (r: Rollout): RolloutPatches => ({ spec: { paused: true }, message: `rollout "${r.metadata.name ?? ''}" paused` });
export const resumePatches = (r: Rollout): RolloutPatches => ({ spec: { paused: false }, message: `rollout "${r.metadata.name ?? ''}" resumed` });
export const restartPatches = (r: Rollout, at: Date): RolloutPatches => ({
  spec: { restartAt: at.toISOString() },
  message: `rollout "${r.metadata.name ?? ''}" restarts its pods from ${at.toISOString()}`,
});

/** A pod template as it was in a revision's ReplicaSet: our hash label removed, as it was in spec.template. */
export function templateOf(rs: ReplicaSetView): Record<string, unknown> {
  const t = structuredClone(rs.spec?.template ?? {}) as { metadata?: { labels?: Record<string, string> } } & Record<string, unknown>;
  if (t.metadata?.labels !== undefined) {
    delete t.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(t.metadata.labels).length === 0) delete t.metadata.labels;
  }
  return t;
}

type Json = unknown;
type Path = (string | { name: string } | number)[];
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const named = (v: Json): string | undefined => (isObject(v) && typeof v['name'] === 'string' ? v['name'] : undefined);

/** Paths present in `defaulted` but not in `original`: what the apiserver added. List items are matched by name. */
function addedPaths(defaulted: Json, original: Json, at: Path = []): Path[] {
  if (isObject(defaulted)) {
    if (!isObject(original)) return [];
    return Object.keys(defaulted).flatMap((k) => (k in original ? addedPaths(defaulted[k], original[k], [...at, k]) : [[...at, k]]));
  }
  if (Array.isArray(defaulted) && Array.isArray(original)) {
    const originals: Json[] = original;
    return defaulted.flatMap((item: Json, i) => {
      const name = named(item);
      const twin = name === undefined ? originals[i] : originals.find((o) => named(o) === name);
      return twin === undefined ? [] : addedPaths(item, twin, [...at, name === undefined ? i : { name }]);
    });
  }
  return [];
}

function removePath(v: Json, path: Path): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  let child: Json;
  if (typeof head === 'object') child = Array.isArray(v) ? v.find((o) => named(o) === head.name) : undefined;
  else child = Array.isArray(v) ? (typeof head === 'number' ? v[head] : undefined) : isObject(v) ? v[head] : undefined;
  if (rest.length === 0) {
    if (isObject(v) && typeof head === 'string') delete v[head];
    return;
  }
  if (child !== undefined) removePath(child, rest);
}

/**
 * The template `undo` writes into spec.template. A ReplicaSet's template carries the apiserver's defaults
 * (terminationMessagePath, dnsPolicy, …) that the Rollout's template never had, and a Rollout's revision is the hash
 * of its template as written: copied verbatim, the old template would hash to a new revision and walk the steps
 * again. So the fields the apiserver added to the current revision (its ReplicaSet's template compared with
 * spec.template) are left out too, and the result is checked against the target's hash; `exact` says whether it
 * names the old revision (then going back to the stable revision skips the steps, as in Argo Rollouts).
 */
export function undoTemplate(target: ReplicaSetView, current: { template: Json; replicaSet: ReplicaSetView | undefined }): { template: Record<string, unknown>; exact: boolean } {
  const raw = templateOf(target);
  const hash = target.metadata.labels?.[POD_TEMPLATE_HASH];
  if (hash !== undefined && podTemplateHash(raw) === hash) return { template: raw, exact: true };
  if (current.replicaSet !== undefined) {
    const stripped = structuredClone(raw);
    for (const p of addedPaths(templateOf(current.replicaSet), current.template)) removePath(stripped, p);
    if (podTemplateHash(stripped) === hash) return { template: stripped, exact: true };
  }
  return { template: raw, exact: false };
}

/**
 * The ReplicaSet `undo` goes back to, and its revision: the numbers "get rollout" shows (the revision annotation the
 * operator stamps, else the position by creation; see revisions()). 0 or none means the previous revision: the
 * highest-numbered ReplicaSet that is not the current revision.
 */
export function undoTarget(replicaSets: readonly ReplicaSetView[], currentHash: string | undefined, toRevision: number | undefined): { rs: ReplicaSetView; revision: number } {
  const rev = revisions(replicaSets);
  const numbered = replicaSets.map((rs) => ({ rs, revision: rev.get(rs.metadata.name ?? '') ?? 0 })).sort((a, b) => a.revision - b.revision);
  if (toRevision !== undefined && toRevision > 0) {
    const hit = numbered.find((n) => n.revision === toRevision);
    if (hit === undefined) throw new UsageError(`--to-revision: no revision ${toRevision} (the Rollout keeps revisions ${numbered.map((n) => n.revision).join(', ') || 'none'})`);
    return hit;
  }
  const previous = numbered.filter((n) => n.rs.metadata.labels?.[POD_TEMPLATE_HASH] !== currentHash).at(-1);
  if (previous === undefined) throw new Error('no previous revision to go back to');
  return previous;
}

export interface ImageChange {
  container: string;
  image: string;
}

/** Parses `CONTAINER=IMAGE` arguments (`*=IMAGE` for every container). */
export function parseImageArgs(args: readonly string[]): ImageChange[] {
  if (args.length === 0) throw new UsageError('missing CONTAINER=IMAGE');
  return args.map((a) => {
    const i = a.indexOf('=');
    if (i <= 0 || i === a.length - 1) throw new UsageError(`"${a}": expected CONTAINER=IMAGE`);
    return { container: a.slice(0, i), image: a.slice(i + 1) };
  });
}

type Containers = { name: string; image?: string }[];

/**
 * JSON-patch operations that set the images in a pod template at `base` ("/spec/template"), guarded by a test of
 * the resourceVersion read. Every named container must exist in containers or initContainers.
 */
export function imagePatch(template: { spec?: { containers?: Containers; initContainers?: Containers } } | undefined, base: string, changes: readonly ImageChange[], resourceVersion: string | undefined): unknown[] {
  const ops: unknown[] = resourceVersion === undefined ? [] : [{ op: 'test', path: '/metadata/resourceVersion', value: resourceVersion }];
  const lists = { containers: template?.spec?.containers ?? [], initContainers: template?.spec?.initContainers ?? [] };
  for (const ch of changes) {
    let matched = false;
    for (const [list, containers] of Object.entries(lists)) {
      containers.forEach((c, i) => {
        if (ch.container !== '*' && c.name !== ch.container) return;
        matched = true;
        if (c.image !== ch.image) ops.push({ op: 'replace', path: `${base}/spec/${list}/${i}/image`, value: ch.image });
      });
    }
    if (!matched) throw new UsageError(`no container named "${ch.container}" (have: ${[...lists.containers, ...lists.initContainers].map((c) => c.name).join(', ') || 'none'})`);
  }
  return ops;
}
