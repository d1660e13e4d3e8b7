// What the dashboard's pages show, decided from the objects as read: rows of the overview, the Rollout page and the
// Application page. Pure: no HTTP, no Kubernetes client, the clock an argument. The shapes here are the JSON the
// browser receives (src/dashboard/web reads them), so they are kept small and flat.
import { z } from 'zod';
import { applicationStatusSchema } from '../api/application/schema.ts';
import type { CanaryStep } from '../api/rollout/schema.ts';
import { judgeSummary, type LookSummaryView } from '../cli/view/judge.ts';
import { describeStep, hashOf, revisions, roleOf, type RolloutSnapshot } from '../cli/view/rollout.ts';
import type { WeightPoint } from './history.ts';

export type Kind = 'Rollout' | 'Application';

/** One line of the overview. `attention` names why a person should look (paused, degraded, out of sync, …). */
export interface Row {
  kind: Kind;
  namespace: string;
  name: string;
  uid: string;
  /** Rollout: its phase; Application: its sync status. */
  phase: string;
  /** Rollout: Healthy/Degraded/… from its phase; Application: its health. */
  health: string;
  /** Canary weight (0–100) when the Rollout has one. */
  weight?: number;
  /** "2/5": the current step of a canary. */
  step?: string;
  message: string;
  attention: string[];
}

const meta = z.looseObject({ name: z.string().default(''), namespace: z.string().default(''), uid: z.string().default(''), deletionTimestamp: z.string().optional() });
/** Lenient: an overview row never fails on a spec the operator would refuse (it shows what it can). */
const rolloutRowSchema = z.looseObject({
  metadata: meta,
  spec: z.looseObject({ paused: z.boolean().optional(), strategy: z.looseObject({ canary: z.looseObject({ steps: z.array(z.unknown()).optional() }).optional() }).optional() }).optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      message: z.string().optional(),
      abort: z.boolean().optional(),
      currentStepIndex: z.number().optional(),
      pauseConditions: z.array(z.looseObject({ reason: z.string() })).optional(),
      canary: z.looseObject({ weights: z.looseObject({ canary: z.looseObject({ weight: z.number().optional() }).optional() }).optional() }).optional(),
    })
    .optional(),
});
const appRowSchema = z.looseObject({ metadata: meta, status: applicationStatusSchema.optional().catch(undefined) });

export function rolloutRow(raw: unknown): Row {
  const p = rolloutRowSchema.safeParse(raw);
  if (!p.success) {
    const m = meta.safeParse((raw as { metadata?: unknown } | null)?.metadata);
    const md = m.success ? m.data : { name: '?', namespace: '?', uid: '' };
    return { kind: 'Rollout', namespace: md.namespace, name: md.name, uid: md.uid, phase: 'Unknown', health: 'Unknown', message: 'unreadable object', attention: ['unreadable'] };
  }
  const r = p.data;
  const s = r.status ?? {};
  const steps = r.spec?.strategy?.canary?.steps;
  const phase = s.phase ?? 'Unknown';
  const attention: string[] = [];
  if (phase === 'Paused' || r.spec?.paused === true) attention.push('paused');
  if (phase === 'Degraded') attention.push('degraded');
  if (s.abort === true) attention.push('aborted');
  return {
    kind: 'Rollout',
    namespace: r.metadata.namespace,
    name: r.metadata.name,
    uid: r.metadata.uid,
    phase: s.abort === true ? `${phase} (aborted)` : phase,
    health: phase === 'Degraded' ? 'Degraded' : phase === 'Healthy' ? 'Healthy' : phase === 'Unknown' ? 'Unknown' : 'Progressing',
    ...(s.canary?.weights?.canary?.weight !== undefined ? { weight: s.canary.weights.canary.weight } : {}),
    ...(steps !== undefined && steps.length > 0 ? { step: `${Math.min(s.currentStepIndex ?? 0, steps.length)}/${steps.length}` } : {}),
    message: s.pauseConditions?.[0]?.reason ?? s.message ?? '',
    attention,
  };
}

export function appRow(raw: unknown): Row {
  const p = appRowSchema.safeParse(raw);
  const md = p.success ? p.data.metadata : { name: '?', namespace: '?', uid: '' };
  const s = p.success ? p.data.status : undefined;
  const sync = s?.sync?.status ?? 'Unknown';
  const health = s?.health?.status ?? 'Unknown';
  const attention: string[] = [];
  if (sync === 'OutOfSync') attention.push('out of sync');
  if (health === 'Degraded' || health === 'Missing') attention.push(health.toLowerCase());
  const op = s?.operationState;
  if (op !== undefined && (op.phase === 'Failed' || op.phase === 'Error')) attention.push('sync failed');
  return { kind: 'Application', namespace: md.namespace, name: md.name, uid: md.uid, phase: sync, health, message: op?.message ?? s?.health?.message ?? '', attention };
}

export interface StepView {
  index: number;
  text: string;
  state: 'done' | 'current' | 'pending';
}

export interface MetricView {
  name: string;
  phase: string;
  successCondition?: string;
  failureCondition?: string;
  /** Numeric measurements in order (non-numbers are left out of the chart but counted). */
  values: { at: string; value: number; phase: string }[];
  counts: { successful: number; failed: number; inconclusive: number; error: number };
  message?: string;
  judge?: LookSummaryView;
}

export interface RolloutPage {
  namespace: string;
  name: string;
  strategy: 'canary' | 'blueGreen';
  phase: string;
  aborted: boolean;
  paused: boolean;
  message: string;
  weight?: number;
  steps: StepView[];
  replicaSets: { name: string; revision: number; role: string; images: string; replicas: number; ready: number; pods?: PodView[] }[];
  analysisRuns: { name: string; phase: string; step?: string; metrics: MetricView[] }[];
  history: WeightPoint[];
  events: EventView[];
}

/** A pod of a ReplicaSet: its name, phase and readiness (absent when the viewer may not list pods). */
export interface PodView {
  name: string;
  phase: string;
  ready: boolean;
  restarts: number;
}

const podSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string().optional(), labels: z.record(z.string(), z.string()).optional(), deletionTimestamp: z.string().optional() }).optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string() })).optional(),
      containerStatuses: z.array(z.looseObject({ restartCount: z.number().optional() })).optional(),
    })
    .optional(),
});

/** Pods by their pod-template hash (the label every ReplicaSet of a Rollout stamps on its pods). */
export function podsByHash(pods: readonly unknown[]): Map<string, PodView[]> {
  const out = new Map<string, PodView[]>();
  for (const raw of pods) {
    const p = podSchema.safeParse(raw);
    if (!p.success) continue;
    const hash = p.data.metadata?.labels?.['rollouts-pod-template-hash'];
    if (hash === undefined) continue;
    const view: PodView = {
      name: p.data.metadata?.name ?? '',
      phase: p.data.metadata?.deletionTimestamp !== undefined ? 'Terminating' : (p.data.status?.phase ?? 'Pending'),
      ready: (p.data.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      restarts: (p.data.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
    };
    out.set(hash, [...(out.get(hash) ?? []), view].sort((a, b) => a.name.localeCompare(b.name)));
  }
  return out;
}

export interface EventView {
  type: string;
  reason: string;
  message: string;
  at: string;
  count: number;
}

const metricSpecs = z.array(z.looseObject({ name: z.string(), successCondition: z.string().optional(), failureCondition: z.string().optional() })).catch([]);

/** `pods`: the namespace's pods of this Rollout, or undefined when the viewer may not list pods. */
export function rolloutPage(snap: RolloutSnapshot, history: WeightPoint[], events: EventView[], pods?: Map<string, PodView[]>): RolloutPage {
  const r = snap.rollout;
  const s = r.status;
  const steps: CanaryStep[] = r.spec.strategy?.canary?.steps ?? [];
  const index = s?.currentStepIndex ?? 0;
  const rev = revisions(snap.replicaSets);
  return {
    namespace: r.metadata.namespace ?? '',
    name: r.metadata.name ?? '',
    strategy: r.spec.strategy?.blueGreen !== undefined ? 'blueGreen' : 'canary',
    phase: s?.phase ?? 'Unknown',
    aborted: s?.abort === true,
    paused: r.spec.paused === true || (s?.pauseConditions ?? []).length > 0,
    message: s?.pauseConditions?.[0]?.reason ?? s?.message ?? '',
    ...(s?.canary?.weights?.canary?.weight !== undefined ? { weight: s.canary.weights.canary.weight } : {}),
    steps: steps.map((st, i) => ({ index: i, text: describeStep(st), state: i < index ? 'done' : i === index ? 'current' : 'pending' })),
    replicaSets: snap.replicaSets
      .map((rs) => ({
        name: rs.metadata.name ?? '',
        revision: rev.get(rs.metadata.name ?? '') ?? 0,
        role: roleOf(r, hashOf(rs)),
        images: (rs.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '?').join(', '),
        replicas: rs.status?.replicas ?? 0,
        ready: rs.status?.readyReplicas ?? 0,
        ...(pods !== undefined ? { pods: pods.get(hashOf(rs)) ?? [] } : {}),
      }))
      .reverse(),
    analysisRuns: snap.analysisRuns
      .slice(-5)
      .reverse()
      .map((run) => {
        const specs = metricSpecs.parse((run.spec as { metrics?: unknown } | undefined)?.metrics);
        return {
          name: run.metadata.name ?? '',
          phase: run.status?.phase ?? 'Pending',
          ...(run.metadata.labels?.['sluice.dev/step-index'] !== undefined ? { step: run.metadata.labels['sluice.dev/step-index'] } : {}),
          metrics: (run.status?.metricResults ?? []).map((m) => {
            const spec = specs.find((x) => x.name === m.name);
            const judge = judgeSummary(m.measurements?.at(-1));
            return {
              name: m.name,
              phase: m.phase,
              ...(spec?.successCondition !== undefined ? { successCondition: spec.successCondition } : {}),
              ...(spec?.failureCondition !== undefined ? { failureCondition: spec.failureCondition } : {}),
              values: (m.measurements ?? []).flatMap((x) => {
                const v = Number(x.value);
                return x.value !== undefined && x.value !== '' && Number.isFinite(v) ? [{ at: x.finishedAt ?? x.startedAt ?? '', value: v, phase: x.phase }] : [];
              }),
              counts: { successful: m.successful ?? 0, failed: m.failed ?? 0, inconclusive: m.inconclusive ?? 0, error: m.error ?? 0 },
              ...(m.message !== undefined ? { message: m.message } : {}),
              ...(judge !== undefined ? { judge } : {}),
            };
          }),
        };
      }),
    history,
    events,
  };
}

const eventSchema = z.looseObject({
  type: z.string().default('Normal'),
  reason: z.string().default(''),
  message: z.string().default(''),
  count: z.number().default(1),
  lastTimestamp: z.string().nullish(),
  eventTime: z.string().nullish(),
  firstTimestamp: z.string().nullish(),
});

/** Events newest first, at most `max`. */
export function eventViews(raw: readonly unknown[], max = 20): EventView[] {
  return raw
    .flatMap((e) => {
      const p = eventSchema.safeParse(e);
      return p.success ? [{ type: p.data.type, reason: p.data.reason, message: p.data.message, count: p.data.count, at: p.data.lastTimestamp ?? p.data.eventTime ?? p.data.firstTimestamp ?? '' }] : [];
    })
    .sort((a, b) => b.at.localeCompare(a.at))
    .slice(0, max);
}

export interface AppResourceView {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  sync: string;
  health: string;
  wave: number;
  message: string;
}

export interface AppPage {
  namespace: string;
  name: string;
  sync: string;
  revision: string;
  health: string;
  healthMessage: string;
  source: string;
  operation?: { phase: string; message: string; startedAt: string; finishedAt: string };
  /** The managed objects grouped by sync wave, waves in the order a sync applies them. */
  waves: { wave: number; resources: AppResourceView[] }[];
  history: { id: number; revision: string; deployedAt: string }[];
  conditions: { type: string; message: string }[];
}

const appPageSchema = z.looseObject({
  metadata: meta,
  spec: z.looseObject({ source: z.looseObject({ repoURL: z.string().optional(), path: z.string().optional(), targetRevision: z.string().optional() }).optional() }).optional(),
  status: applicationStatusSchema.optional(),
});

export function appPage(raw: unknown): AppPage {
  const a = appPageSchema.parse(raw);
  const s = a.status;
  const src = a.spec?.source;
  const resources: AppResourceView[] = (s?.resources ?? []).map((r) => ({
    group: r.group ?? '',
    kind: r.kind,
    namespace: r.namespace ?? '',
    name: r.name,
    sync: r.status ?? 'Unknown',
    health: r.health?.status ?? '',
    wave: r.syncWave ?? 0,
    message: r.health?.message ?? '',
  }));
  const waves = [...new Set(resources.map((r) => r.wave))].sort((x, y) => x - y).map((wave) => ({ wave, resources: resources.filter((r) => r.wave === wave) }));
  const op = s?.operationState;
  return {
    namespace: a.metadata.namespace,
    name: a.metadata.name,
    sync: s?.sync?.status ?? 'Unknown',
    revision: s?.sync?.revision ?? '',
    health: s?.health?.status ?? 'Unknown',
    healthMessage: s?.health?.message ?? '',
    source: `${src?.repoURL ?? ''}${src?.path !== undefined ? ` ${src.path}` : ''}@${src?.targetRevision ?? 'HEAD'}`,
    ...(op !== undefined ? { operation: { phase: op.phase, message: op.message ?? '', startedAt: op.startedAt ?? '', finishedAt: op.finishedAt ?? '' } } : {}),
    waves,
    history: [...(s?.history ?? [])].reverse().map((h) => ({ id: h.id, revision: h.revision, deployedAt: h.deployedAt })),
    conditions: (s?.conditions ?? []).filter((c) => c.status === 'True').map((c) => ({ type: c.type, message: c.message ?? '' })),
  };
}
