// Argo CD's RollingSync, decided purely: which generated Applications may take their new spec now, and the
// per-Application progress in Argo CD's status shape. The shell (controller.ts) observes the Applications, writes
// only the ones this allows, and keeps every other Application exactly as it is (its previous spec).
//
// Rules, in step order (the first step whose expressions match an Application's labels owns it):
// - step 1 may always update; step N+1 only once every Application of steps 1..N is up to date (has the set's
//   current spec), observed by the Application controller, Synced and Healthy. A Rollout inside is Healthy only once
//   fully promoted (src/gitops/health), so a canary still running, paused or aborted holds the wave.
// - within an open step, at most maxUpdate Applications are in flight (updated, not Healthy yet); "N%" of the
//   step's Applications rounds down but is at least 1, 0 holds the step (Argo CD's meaning: nothing updated).
// - Applications no step selects form an implicit last step (Argo CD leaves them for a manual sync; here a held spec
//   could never be synced by hand, so they follow once every step is Healthy).
import type { ApplicationSetApplicationStatus, RollingSyncStep } from '../../api/applicationset/schema.ts';
import { resolveIntOrPercent } from '../../api/common/int-or-string.ts';
import { selectorMatches } from '../../api/common/meta.ts';

/** One generated Application as the wave sees it. */
export interface WaveApp {
  name: string;
  /** The labels it is generated with (steps select on them). */
  labels: Readonly<Record<string, string>>;
  /** The set would write it: it does not exist yet or differs from what the template now generates. */
  changed: boolean;
  /** Its status speaks of its current spec (status.observedGeneration equals metadata.generation). */
  observed: boolean;
  sync?: string;
  health?: string;
  healthMessage?: string;
  /** The revisions its current spec names (shown in its status). */
  targetRevisions?: string[];
}

export interface WaveCondition {
  /** True while a change is being released; False once every Application is Healthy with its current spec. */
  status: 'True' | 'False';
  reason: 'ApplicationSetModified' | 'RolloutHalted' | 'ApplicationSetRolloutComplete';
  message: string;
}

export interface WaveDecision {
  /** Names of the Applications to write now. */
  update: string[];
  statuses: ApplicationSetApplicationStatus[];
  condition: WaveCondition;
}

/** The 0-based step that owns an Application: the first whose expressions all match; steps.length when none does. */
export function stepOf(steps: readonly RollingSyncStep[], labels: Readonly<Record<string, string>>): number {
  const i = steps.findIndex((s) => selectorMatches({ matchExpressions: (s.matchExpressions ?? []).map((e) => ({ key: e.key, operator: e.operator as 'In' | 'NotIn', values: e.values ?? [] })) }, labels));
  return i === -1 ? steps.length : i;
}

/** How many of a step's `total` Applications may be in flight at once. */
export function maxUpdateOf(step: RollingSyncStep | undefined, total: number): number {
  const m = step?.maxUpdate;
  if (m === undefined) return total;
  const n = resolveIntOrPercent(m, total, false) ?? total;
  // Argo CD: a percentage above 0% is floored at one Application.
  if (n === 0 && typeof m === 'string' && m.endsWith('%') && m !== '0%' && total > 0) return 1;
  return Math.max(0, n);
}

const done = (a: WaveApp): boolean => !a.changed && a.observed && a.sync === 'Synced' && a.health === 'Healthy';
const describe = (a: WaveApp): string =>
  !a.observed ? 'not yet observed by the Application controller' : a.sync !== 'Synced' ? `sync ${a.sync ?? 'Unknown'}` : `health ${a.health ?? 'Unknown'}${a.healthMessage ? ` (${a.healthMessage})` : ''}`;

/** The wave's next move. `previous` is the set's last status, for transition times and the Pending memory. */
export function decideWave(steps: readonly RollingSyncStep[], apps: readonly WaveApp[], previous: readonly ApplicationSetApplicationStatus[], now: string): WaveDecision {
  const prev = new Map(previous.map((s) => [s.application, s]));
  const byStep = new Map<number, WaveApp[]>();
  for (const a of [...apps].sort((x, y) => x.name.localeCompare(y.name))) {
    const i = stepOf(steps, a.labels);
    byStep.set(i, [...(byStep.get(i) ?? []), a]);
  }
  const update: string[] = [];
  const next = new Map<string, { status: ApplicationSetApplicationStatus['status']; message: string; step: number }>();
  let blockedBy: { step: number; apps: WaveApp[] } | undefined;
  for (let i = 0; i <= steps.length; i++) {
    const members = byStep.get(i) ?? [];
    const label = i < steps.length ? `step ${i + 1}` : 'the Applications no step selects';
    if (blockedBy !== undefined) {
      const waitFor = `${blockedBy.step < steps.length ? `step ${blockedBy.step + 1}` : 'the last step'} (${blockedBy.apps.map((a) => a.name).join(', ')})`;
      for (const a of members) next.set(a.name, a.changed ? { status: 'Waiting', message: `waiting for ${waitFor} to be Healthy`, step: i } : settled(a, prev.get(a.name), i));
      continue;
    }
    const inFlight = members.filter((a) => !a.changed && !done(a)).length;
    let budget = maxUpdateOf(steps[i], members.length) - inFlight;
    for (const a of members) {
      if (!a.changed) next.set(a.name, settled(a, prev.get(a.name), i));
      else if (budget > 0) {
        budget--;
        update.push(a.name);
        next.set(a.name, { status: 'Pending', message: `updated by ${label}: waiting for it to sync and become Healthy`, step: i });
      } else next.set(a.name, { status: 'Waiting', message: maxUpdateOf(steps[i], members.length) === 0 ? `${label} has maxUpdate 0: not updated` : `${label} is at maxUpdate: waiting for a slot`, step: i });
    }
    const notDone = members.filter((a) => !done(a));
    if (notDone.length > 0) blockedBy = { step: i, apps: notDone };
  }
  const statuses = [...next.entries()].map(([application, s]) => {
    const before = prev.get(application);
    const revisions = apps.find((a) => a.name === application)?.targetRevisions;
    return { application, status: s.status, message: s.message, step: String(s.step < steps.length ? s.step + 1 : 0), ...(revisions !== undefined && revisions.length > 0 ? { targetRevisions: revisions } : {}), lastTransitionTime: before?.status === s.status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : now };
  });
  return { update, statuses: statuses.sort((a, b) => a.application.localeCompare(b.application)), condition: conditionOf(steps, blockedBy, byStep) };
}

/** An Application with no change to take: Healthy, or still on its way there. */
function settled(a: WaveApp, before: ApplicationSetApplicationStatus | undefined, step: number): { status: ApplicationSetApplicationStatus['status']; message: string; step: number } {
  if (done(a)) return { status: 'Healthy', message: 'Synced and Healthy', step };
  // Updated but not yet looked at by the Application controller: still Pending, as Argo CD shows it.
  if (!a.observed && before?.status === 'Pending') return { status: 'Pending', message: before.message ?? 'updated', step };
  return { status: 'Progressing', message: describe(a), step };
}

function conditionOf(steps: readonly RollingSyncStep[], blockedBy: { step: number; apps: WaveApp[] } | undefined, byStep: ReadonlyMap<number, WaveApp[]>): WaveCondition {
  if (blockedBy === undefined) return { status: 'False', reason: 'ApplicationSetRolloutComplete', message: `every Application is Synced and Healthy with its current spec (${steps.length} steps)` };
  const later = [...byStep.entries()].filter(([i]) => i > blockedBy.step).sort(([a], [b]) => a - b).flatMap(([, as]) => as.filter((a) => a.changed).map((a) => a.name));
  const where = blockedBy.step < steps.length ? `step ${blockedBy.step + 1} of ${steps.length}` : 'the Applications no step selects';
  const failing = blockedBy.apps.filter((a) => !a.changed && a.observed && (a.health === 'Degraded' || a.health === 'Missing'));
  const why = blockedBy.apps.map((a) => `${a.name}: ${a.changed ? 'update pending' : describe(a)}`).join('; ');
  const held = later.length > 0 ? `; not released yet: ${later.join(', ')}` : '';
  if (failing.length > 0) return { status: 'True', reason: 'RolloutHalted', message: `stopped at ${where}: ${why}${held}` };
  return { status: 'True', reason: 'ApplicationSetModified', message: `at ${where}: ${why}${held}` };
}

type Source = { repoURL?: unknown; targetRevision?: unknown; chart?: unknown };
const FULL_SHA = /^[0-9a-f]{40}$/;
const sourcesOf = (spec: Readonly<Record<string, unknown>>): Source[] => [...(spec.source !== undefined ? [spec.source as Source] : []), ...(Array.isArray(spec.sources) ? (spec.sources as Source[]) : [])];
/** The targetRevision of each source of an Application spec, in order (Argo CD's targetRevisions). */
export const targetRevisionsOf = (spec: unknown): string[] =>
  spec !== null && typeof spec === 'object' ? sourcesOf(spec as Record<string, unknown>).map((s) => (typeof s.targetRevision === 'string' ? s.targetRevision : 'HEAD')) : [];

/** The key a Git source's revision is resolved under. */
export const revisionKey = (repoURL: string, revision: string | undefined): string => `${repoURL}#${revision ?? ''}`;

/**
 * Every Git source (not a Helm chart, not already a commit) of the generated specs, as [repoURL, targetRevision]:
 * under RollingSync each is pinned to the commit it resolves to, so a commit to the branch is a change of the
 * generated spec that the wave releases step by step, while a held Application stays on its commit even with
 * automated sync and self-heal (Argo CD turns automated sync off instead).
 */
export function gitSourcesToPin(specs: readonly Record<string, unknown>[]): [string, string | undefined][] {
  const out = new Map<string, [string, string | undefined]>();
  for (const s of specs.flatMap(sourcesOf)) {
    if (typeof s.repoURL !== 'string' || s.chart !== undefined || (typeof s.targetRevision === 'string' && FULL_SHA.test(s.targetRevision))) continue;
    const rev = typeof s.targetRevision === 'string' ? s.targetRevision : undefined;
    out.set(revisionKey(s.repoURL, rev), [s.repoURL, rev]);
  }
  return [...out.values()];
}

/**
 * The credentials Secret the generated Applications use for `repoURL` (the first spec that reads it and names one):
 * resolving a private repository's branch for the pin needs what its Applications will fetch with.
 */
export function credentialsRefFor(specs: readonly Record<string, unknown>[], repoURL: string): { name: string; namespace?: string } | undefined {
  for (const spec of specs) {
    if (!sourcesOf(spec).some((s) => s.repoURL === repoURL)) continue;
    const ref = (spec.credentials as { secretRef?: { name?: unknown; namespace?: unknown } } | undefined)?.secretRef;
    if (typeof ref?.name === 'string' && ref.name !== '') return { name: ref.name, ...(typeof ref.namespace === 'string' ? { namespace: ref.namespace } : {}) };
  }
  return undefined;
}

/** The spec with each Git source's targetRevision replaced by its resolved commit (a copy; unresolved ones stay). */
export function pinSpec(spec: Record<string, unknown>, commits: ReadonlyMap<string, string>): Record<string, unknown> {
  const pin = (s: Source): Source => {
    if (typeof s.repoURL !== 'string' || s.chart !== undefined) return s;
    const commit = commits.get(revisionKey(s.repoURL, typeof s.targetRevision === 'string' ? s.targetRevision : undefined));
    return commit === undefined ? s : { ...s, targetRevision: commit };
  };
  return {
    ...spec,
    ...(spec.source !== undefined ? { source: pin(spec.source as Source) } : {}),
    ...(Array.isArray(spec.sources) ? { sources: (spec.sources as Source[]).map(pin) } : {}),
  };
}
