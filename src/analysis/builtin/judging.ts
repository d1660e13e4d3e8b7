// One look of the sequential judge, pure: the counters Prometheus holds now (per series, per revision), the state the
// previous look left, the clock → the verdict of this look and the state for the next one. The provider
// (providers/judge.ts) does the querying; the statistics are in judge/ (the split e-process and the guard).
import { createHash } from 'node:crypto';
import type { JudgeProviderSpec } from '../../api/analysis/schema.ts';
import { parseDuration } from '../../api/common/duration.ts';
import { addBatch, assess, batchFromSeries, evidenceMatches, initialEvidence, type Assessment, type BatchCounts, type Evidence, type JudgeSettings, type SeriesSample } from '../judge/index.ts';
import { checkedEdge, edgeAtOrAboveQuantile } from '../judge/edge.ts';
import { JudgeSettingsError } from '../judge/errors.ts';
import { EvidenceSchema } from '../judge/schema.ts';
import { addGuard, guardLogEvidence, initialGuard, type GuardEvidence } from '../judge/guard.ts';
import type { Judgement } from '../decide/judge.ts';
import { LINKERD_HASH_LABEL } from './builtin.ts';

/** A series as the provider read it: its labels and current value. */
export interface RawSeries {
  labels: Record<string, string>;
  value: number;
}

/** What one look carries to the next (measurement metadata `state`, JSON). */
export interface LookState {
  v: 1;
  /** This run's first look: maxDuration counts from it. */
  startedAtMs: number;
  /** Every series' value at the last look, by a short hash of its labels. */
  seen: Record<string, number>;
  evidence: Evidence;
  guard?: GuardEvidence;
  /** latency: the comparison's bucket edge (ms), fixed at the first look that could choose it. */
  edgeMs?: number;
  /** latency: the guard's bucket edge (ms). */
  guardEdgeMs?: number;
}

/** What people read (measurement metadata `summary`, JSON), and the CLI draws. */
export interface LookSummary {
  state: 'abort' | 'pass' | 'continue' | 'inconclusive' | 'guard';
  abort: { evidence: number; threshold: number; progress: number };
  pass: { evidence: number; threshold: number; progress: number };
  ratio: { estimate: number | null; lower: number | null; upper: number | null };
  totals: BatchCounts;
  last?: BatchCounts;
  share: { realized: number | null; configured?: number; mismatch: boolean };
  needed?: { canaryRequests: number; reason: string };
  edgeMs?: number;
  guard?: { evidence: number; threshold: number; rate: number | null; bound: number };
}

export class JudgeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JudgeConfigError';
  }
}

export const seriesKey = (labels: Record<string, string>): string =>
  createHash('sha1').update(JSON.stringify(Object.entries(labels).filter(([k]) => k !== '__name__').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))).digest('base64url').slice(0, 12);

/** The name a series gives its revision, per router family (Traefik: the Service inside its backend name). */
function revisionName(spec: JudgeProviderSpec, labels: Record<string, string>): string | undefined {
  switch (spec.router) {
    case 'istio':
      return labels.destination_workload;
    case 'nginx':
      return labels.ingress;
    case 'linkerd':
      return labels[LINKERD_HASH_LABEL];
    case 'traefik': {
      const prefix = `${spec.namespace}-`;
      const service = labels.service ?? '';
      const m = /-http-[0-9]+@kubernetesgateway$/.exec(service);
      return service.startsWith(prefix) && m !== null ? service.slice(prefix.length, m.index) : undefined;
    }
  }
}

function armOf(spec: JudgeProviderSpec, labels: Record<string, string>): 'canary' | 'stable' | undefined {
  const name = revisionName(spec, labels);
  return name === spec.canary ? 'canary' : name === spec.stable ? 'stable' : undefined;
}

/** A bad request: a 5xx code, or for Linkerd the proxy's own classification (by default, a 5xx). */
function isBad(spec: JudgeProviderSpec, labels: Record<string, string>): boolean {
  switch (spec.router) {
    case 'istio':
      return /^5/.test(labels.response_code ?? '');
    case 'nginx':
      return /^5/.test(labels.status ?? '');
    case 'traefik':
      return /^5/.test(labels.code ?? '');
    case 'linkerd':
      return labels.classification === 'failure';
  }
}

/** Request-counter series as samples: a 5xx code is a bad request. */
export function errorSamples(spec: JudgeProviderSpec, series: readonly RawSeries[]): SeriesSample[] {
  const out: SeriesSample[] = [];
  for (const s of series) {
    const arm = armOf(spec, s.labels);
    if (arm === undefined) continue;
    out.push({ key: seriesKey(s.labels), arm, role: isBad(spec, s.labels) ? 'bad' : 'ok', value: s.value });
  }
  return out;
}

/** Histogram bucket edges in ms (NGINX and Traefik report seconds), +Inf excluded. */
const edgeMsOf = (spec: JudgeProviderSpec, le: string): number => (le === '+Inf' ? Infinity : Number(le) * (spec.router === 'nginx' || spec.router === 'traefik' ? 1000 : 1));
const sameEdge = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));

export function bucketEdges(spec: JudgeProviderSpec, series: readonly RawSeries[]): number[] {
  const edges = new Set<number>();
  for (const s of series) {
    const e = edgeMsOf(spec, s.labels.le ?? '');
    if (Number.isFinite(e)) edges.add(e);
  }
  return [...edges].sort((a, b) => a - b);
}

/** Bucket series as samples for one edge: +Inf is the arm's total, the edge's bucket the requests within it. */
export function latencySamples(spec: JudgeProviderSpec, series: readonly RawSeries[], edgeMs: number): SeriesSample[] {
  const out: SeriesSample[] = [];
  for (const s of series) {
    const arm = armOf(spec, s.labels);
    if (arm === undefined || s.labels.le === undefined) continue;
    const e = edgeMsOf(spec, s.labels.le);
    if (e === Infinity) out.push({ key: seriesKey(s.labels), arm, role: 'total', value: s.value });
    else if (sameEdge(e, edgeMs)) out.push({ key: seriesKey(s.labels), arm, role: 'within', value: s.value });
  }
  return out;
}

/** The smallest edge at or above stable's p99 over its whole history (stable only: the choice never sees the canary). */
export function stableP99Edge(spec: JudgeProviderSpec, series: readonly RawSeries[], minRequests = 100): number | undefined {
  const cumulative = new Map<number, number>();
  for (const s of series) {
    if (armOf(spec, s.labels) !== 'stable' || s.labels.le === undefined) continue;
    const e = edgeMsOf(spec, s.labels.le);
    cumulative.set(e, (cumulative.get(e) ?? 0) + s.value);
  }
  if ((cumulative.get(Infinity) ?? 0) < minRequests) return undefined;
  const edges = [...cumulative.keys()].filter(Number.isFinite).sort((a, b) => a - b);
  return edgeAtOrAboveQuantile(edges, [...edges.map((e) => cumulative.get(e) ?? 0), cumulative.get(Infinity) ?? 0]);
}

export function settingsOf(spec: JudgeProviderSpec): JudgeSettings {
  return {
    alpha: spec.alpha,
    beta: spec.beta,
    maxRatio: spec.maxRatio,
    gatingMetrics: spec.tests,
    ...(spec.minCanaryRequests !== undefined ? { minCanaryRequests: spec.minCanaryRequests } : {}),
  };
}

const finiteOrNull = (n: number): number | null => (Number.isFinite(n) ? n : null);
const pct = (bad: number, n: number): string => (n > 0 ? `${((100 * bad) / n).toPrecision(2)}%` : '-');
const times = (n: number | null): string => (n === null ? '?' : n >= 100 ? `${n.toFixed(0)}×` : `${n.toPrecision(2)}×`);

function summarize(a: Assessment, g: { log: number; threshold: number; rate: number | null; bound: number } | undefined, edgeMs: number | undefined): LookSummary {
  return {
    state: a.state,
    abort: a.abort,
    pass: a.pass,
    ratio: { estimate: finiteOrNull(a.ratio.estimate), lower: finiteOrNull(a.ratio.lower), upper: finiteOrNull(a.ratio.upper) },
    totals: a.totals,
    share: { realized: finiteOrNull(a.share.realized), ...(a.share.configured !== undefined ? { configured: a.share.configured } : {}), mismatch: a.share.mismatch },
    ...(a.needed !== undefined ? { needed: a.needed } : {}),
    ...(edgeMs !== undefined ? { edgeMs } : {}),
    ...(g !== undefined ? { guard: { evidence: Math.exp(g.log), threshold: g.threshold, rate: g.rate, bound: g.bound } } : {}),
  };
}

/** The value a measurement shows: the counts and the ratio with its interval. */
function display(a: Assessment): string {
  const { canary: c, stable: s } = a.totals;
  return `canary ${c.bad}/${c.requests} bad (${pct(c.bad, c.requests)}), stable ${s.bad}/${s.requests} (${pct(s.bad, s.requests)}); ratio ${times(finiteOrNull(a.ratio.estimate))} [${times(finiteOrNull(a.ratio.lower))}, ${times(finiteOrNull(a.ratio.upper))}]`;
}

/**
 * Canary requests after which zero bad events show the canary's rate below `bound` at M/beta: the product of
 * 1[no bad event] / (1 - bound) over requests is a test martingale under "rate >= bound", so it may be read at any time.
 */
export const zeroFailureRequests = (spec: JudgeProviderSpec, bound: number): number => Math.ceil(Math.log(spec.tests / spec.beta) / -Math.log1p(-bound));

/**
 * A service with no bad event at all gives the comparison nothing to pass on ("not 2x worse than zero" cannot be
 * shown), so a step could only hold. When neither revision has had a bad event, the canary passes once its own
 * rate is shown below the absolute bound (the guard's) by the zero-failure rule of reference §6.6.
 */
function cleanPass(spec: JudgeProviderSpec, a: Assessment, bound: number | undefined): boolean {
  if (a.state !== 'continue' || bound === undefined || a.totals.stable.bad > 0 || a.totals.canary.bad > 0 || a.totals.stable.requests === 0) return false;
  return a.totals.canary.requests >= zeroFailureRequests(spec, bound);
}

export interface LookInput {
  spec: JudgeProviderSpec;
  series: readonly RawSeries[];
  previous: LookState | undefined;
  nowMs: number;
}

/** The state of the first look of a run: the carried evidence of an earlier step, or none. */
function startState(spec: JudgeProviderSpec, nowMs: number): Omit<LookState, 'seen'> {
  const carry = spec.carry as Partial<LookState> | undefined;
  const settings = settingsOf(spec);
  // A carried evidence that does not parse, or was built on another grid, is not continued: starting over is never less safe.
  const parsed = EvidenceSchema.safeParse(carry?.evidence);
  const evidence = parsed.success && evidenceMatches(parsed.data, settings) ? parsed.data : initialEvidence(settings);
  return {
    v: 1,
    startedAtMs: nowMs,
    evidence,
    ...(carry?.guard !== undefined ? { guard: carry.guard } : {}),
    ...(carry?.edgeMs !== undefined ? { edgeMs: carry.edgeMs } : {}),
    ...(carry?.guardEdgeMs !== undefined ? { guardEdgeMs: carry.guardEdgeMs } : {}),
  };
}

/** Chooses the latency edges at the first look that can: a named edge must be a real bucket edge. */
function chooseEdges(spec: JudgeProviderSpec, state: Omit<LookState, 'seen'>, series: readonly RawSeries[]): Omit<LookState, 'seen'> {
  if (spec.signal !== 'latency') return state;
  const edges = bucketEdges(spec, series);
  if (edges.length === 0) return state;
  let { edgeMs, guardEdgeMs } = state;
  if (edgeMs === undefined && spec.latencyEdgeMs !== undefined) {
    try {
      edgeMs = checkedEdge(edges, spec.latencyEdgeMs, 'analysis.judge.latencyEdgeMs:');
    } catch (err) {
      if (err instanceof JudgeSettingsError) throw new JudgeConfigError(err.problems.join('; '));
      throw err;
    }
  }
  edgeMs ??= stableP99Edge(spec, series);
  if (guardEdgeMs === undefined && spec.guardLatencyMs !== undefined) {
    const bound = spec.guardLatencyMs;
    guardEdgeMs = edges.find((e) => e >= bound - 1e-9);
    if (guardEdgeMs === undefined) throw new JudgeConfigError(`analysis.latency.maxMs: ${bound} is above every bucket edge of the latency histogram (largest: ${edges.at(-1)} ms)`);
  }
  return { ...state, ...(edgeMs !== undefined ? { edgeMs } : {}), ...(guardEdgeMs !== undefined ? { guardEdgeMs } : {}) };
}

/** Every series' current value, to take the next look's deltas from. */
function seenOf(series: readonly RawSeries[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of series) out[seriesKey(s.labels)] = s.value;
  return out;
}

/**
 * One look. Throws JudgeConfigError for a configuration the data refutes (a latency edge that is not a bucket edge);
 * the provider turns it into an Error measurement naming the field.
 */
export function look(input: LookInput): { judgement: Judgement; state: LookState; summary: LookSummary } {
  const { spec, series, previous, nowMs } = input;
  const settings = settingsOf(spec);
  const base = chooseEdges(spec, previous ?? startState(spec, nowMs), series);
  const prev = previous?.seen;
  // The comparison's batch: errors, or requests slower than the edge (none until the edge is known).
  const compared = spec.signal === 'errors' ? errorSamples(spec, series) : base.edgeMs !== undefined ? latencySamples(spec, series, base.edgeMs) : [];
  const { batch } = batchFromSeries(prev, compared);
  const evidence = addBatch(base.evidence, batch, settings, spec.configuredShare);
  // The guard: the canary's own bad share against the absolute bound (errors: what successRate.min allows;
  // latency: 1% above maxMs, a p99 bound).
  const bound = spec.guardMaxBadRate;
  let guard = base.guard;
  if (bound !== undefined) {
    const guarded = spec.signal === 'errors' ? compared : base.guardEdgeMs !== undefined ? latencySamples(spec, series, base.guardEdgeMs) : [];
    const g = batchFromSeries(prev, guarded).batch;
    guard = addGuard(guard ?? initialGuard(bound), g.canary, bound);
  }
  const state: LookState = { ...base, evidence, ...(guard !== undefined ? { guard } : {}), seen: seenOf(series) };
  const a = assess(evidence, settings, spec.configuredShare);
  const threshold = spec.tests / spec.alpha;
  const g = guard !== undefined && bound !== undefined ? { log: guardLogEvidence(guard), threshold, rate: guard.requests > 0 ? guard.bad / guard.requests : null, bound } : undefined;
  const summary = summarize(a, g, base.edgeMs);
  if (a.state === 'continue' && bound !== undefined && a.totals.stable.bad === 0 && a.totals.canary.bad === 0 && a.totals.stable.requests > 0) {
    const more = Math.max(1, zeroFailureRequests(spec, bound) - a.totals.canary.requests);
    summary.needed = { canaryRequests: more, reason: `needs ~${more} more canary requests without a bad event to pass (no bad event on either revision yet: zero-failure rule)` };
  }
  const value = display(a);
  const elapsed = nowMs - state.startedAtMs;
  const waitingEdge = spec.signal === 'latency' && base.edgeMs === undefined;

  let judgement: Judgement;
  if (g !== undefined && g.log >= Math.log(threshold)) {
    summary.state = 'guard';
    judgement = { phase: 'Failed', value, message: `absolute guard: the canary's ${spec.signal === 'errors' ? 'error' : 'slow-request'} rate ${pct(guard?.bad ?? 0, guard?.requests ?? 0)} is above ${(bound ?? 0) * 100}% (evidence ${Math.exp(g.log).toFixed(0)} ≥ ${threshold.toFixed(0)})` };
  } else if (a.state === 'abort') {
    judgement = { phase: 'Failed', value, message: `canary worse than stable: ratio ${times(summary.ratio.estimate)} [${times(summary.ratio.lower)}, ${times(summary.ratio.upper)}], evidence ${a.abort.evidence.toFixed(0)} ≥ ${a.abort.threshold.toFixed(0)} after ${a.totals.canary.requests} canary requests` };
  } else if (a.state === 'pass' && previous !== undefined) {
    judgement = { phase: 'Successful', value, message: `canary not ${spec.maxRatio}× worse than stable: evidence ${a.pass.evidence.toFixed(0)} ≥ ${a.pass.threshold.toFixed(0)} after ${a.totals.canary.requests} canary requests` };
  } else if (cleanPass(spec, a, bound) && previous !== undefined) {
    summary.state = 'pass';
    judgement = { phase: 'Successful', value, message: `no bad event on either revision: the canary's rate is below ${((bound ?? 0) * 100).toPrecision(2)}% (zero-failure rule, ${a.totals.canary.requests} ≥ ${zeroFailureRequests(spec, bound ?? 0)} canary requests)` };
  } else if (elapsed >= parseDuration(spec.maxDuration)) {
    summary.state = 'inconclusive';
    const why = `no decision within maxDuration ${spec.maxDuration}${a.needed !== undefined ? ` (${a.needed.reason})` : ''}; onInconclusive: ${spec.onInconclusive}`;
    judgement = { phase: spec.onInconclusive === 'hold' ? 'Inconclusive' : spec.onInconclusive === 'promote' ? 'Successful' : 'Failed', value, message: why };
  } else {
    if (summary.state === 'pass') summary.state = 'continue';
    // A step passes on a batch of its own at the least, even when the evidence carried from the last step suffices.
    const message = waitingEdge ? 'waiting for stable\'s latency histogram to choose the bucket edge at its p99' : previous === undefined ? 'first look: counters recorded, this step\'s evidence starts at the next look' : summary.needed !== undefined ? summary.needed.reason : `accumulating: abort ${(100 * a.abort.progress).toFixed(0)}%, pass ${(100 * a.pass.progress).toFixed(0)}%`;
    judgement = { phase: 'Running', value, message };
  }
  return { judgement, state, summary };
}
