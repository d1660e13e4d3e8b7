// The sequential judge's spec on a Rollout analysis (`analysis.judge`): canary against stable on the builtin
// checks, anytime-valid (src/analysis/judge/ decides; docs/judge.md explains). Schema and semantic rules here,
// apart from validate.ts, so the rules for the judge read in one place.
import { z } from 'zod';
import { durationError, parseDuration } from '../common/duration.ts';
import type { SpecError } from '../common/errors.ts';

export const JUDGE_DEFAULTS = {
  alpha: 0.01,
  beta: 0.01,
  maxRatio: 2,
  /** How often the counters are read: one batch of evidence per look. */
  interval: '15s',
  maxDuration: '30m',
  onInconclusive: 'hold',
} as const;

export const judgeSpecSchema = z.object({
  /** The only kind so far; room for others without breaking manifests. */
  type: z.enum(['sequential']).optional(),
  /** False-abort budget: a canary as good as stable is aborted with probability at most alpha. */
  alpha: z.number().optional(),
  /** False-promotion budget for a canary at least maxRatio times worse than stable. */
  beta: z.number().optional(),
  /** The regression (canary/stable rate of bad events) a pass must rule out. */
  maxRatio: z.number().optional(),
  /** How often the judge reads the counters (default 15s): one batch of evidence each time. */
  interval: z.string().optional(),
  /** After this long in one analysis without a decision, the step ends Inconclusive (see onInconclusive). */
  maxDuration: z.string().optional(),
  /** What an undecided step does at maxDuration: hold (pause for a person, the default), promote or abort. */
  onInconclusive: z.enum(['hold', 'promote', 'abort']).optional(),
  /** The latency SLO edge in ms, a bucket edge of the router's histogram; default: the edge at or above stable's p99. */
  latencyEdgeMs: z.number().optional(),
  /** Canary requests the judge needs at the least before a pass (on top of its own minimum exposure). */
  minCanaryRequests: z.int().min(0).optional(),
});
export type JudgeSpec = z.infer<typeof judgeSpecSchema>;

/** The judge's settings with defaults applied. */
export interface ResolvedJudge {
  alpha: number;
  beta: number;
  maxRatio: number;
  interval: string;
  maxDuration: string;
  onInconclusive: 'hold' | 'promote' | 'abort';
  latencyEdgeMs?: number;
  minCanaryRequests?: number;
}

export function resolveJudge(j: JudgeSpec): ResolvedJudge {
  return {
    alpha: j.alpha ?? JUDGE_DEFAULTS.alpha,
    beta: j.beta ?? JUDGE_DEFAULTS.beta,
    maxRatio: j.maxRatio ?? JUDGE_DEFAULTS.maxRatio,
    interval: j.interval ?? JUDGE_DEFAULTS.interval,
    maxDuration: j.maxDuration ?? JUDGE_DEFAULTS.maxDuration,
    onInconclusive: j.onInconclusive ?? JUDGE_DEFAULTS.onInconclusive,
    ...(j.latencyEdgeMs !== undefined ? { latencyEdgeMs: j.latencyEdgeMs } : {}),
    ...(j.minCanaryRequests !== undefined ? { minCanaryRequests: j.minCanaryRequests } : {}),
  };
}

const within = (v: number | undefined, lo: number, hi: number): boolean => v === undefined || (Number.isFinite(v) && v > lo && v < hi);

/**
 * The judge's rules. `router` is the Rollout's traffic router: the judge compares the canary's and the stable's own
 * series, which Istio (destination workload), NGINX (canary Ingress), Traefik (backend Service) and Linkerd (pod
 * template hash) report apart and one HTTPRoute's Envoy cluster does not.
 */
export function judgeErrors(at: string, analysis: { judge?: JudgeSpec; successRate?: unknown; latency?: unknown; gatewayAPIMetrics?: string }, router: 'istio' | 'nginx' | 'gatewayAPI' | 'none' | 'bluegreen'): SpecError[] {
  const j = analysis.judge;
  if (j === undefined) return [];
  const f = `${at}.judge`;
  const errors: SpecError[] = [];
  const splitMetrics = analysis.gatewayAPIMetrics === 'traefik' || analysis.gatewayAPIMetrics === 'linkerd';
  if (router === 'gatewayAPI' && !splitMetrics) errors.push({ field: f, message: 'the judge compares the canary with stable on their own metrics; one HTTPRoute\'s Envoy metrics do not tell the revisions apart (set gatewayAPIMetrics to traefik or linkerd, use Istio or NGINX, or the builtin checks without a judge)' });
  if (router === 'none') errors.push({ field: f, message: 'the judge reads a traffic router\'s metrics: set strategy.canary.trafficRouting (istio or nginx)' });
  if (router === 'bluegreen') errors.push({ field: f, message: 'the judge compares a canary with stable under one traffic router; a blue-green rollout has none: use templates' });
  if (analysis.successRate === undefined && analysis.latency === undefined) errors.push({ field: f, message: 'judges the builtin checks: set successRate and/or latency beside it' });
  if (!within(j.alpha, 0, 0.5)) errors.push({ field: `${f}.alpha`, message: `must be in (0, 0.5), got ${j.alpha}` });
  if (!within(j.beta, 0, 0.5)) errors.push({ field: `${f}.beta`, message: `must be in (0, 0.5), got ${j.beta}` });
  if (j.maxRatio !== undefined && !(Number.isFinite(j.maxRatio) && j.maxRatio > 1 && j.maxRatio <= 100)) errors.push({ field: `${f}.maxRatio`, message: `must be more than 1 and at most 100, got ${j.maxRatio}` });
  if (j.latencyEdgeMs !== undefined && !(Number.isFinite(j.latencyEdgeMs) && j.latencyEdgeMs > 0)) errors.push({ field: `${f}.latencyEdgeMs`, message: `must be a positive number of milliseconds, got ${j.latencyEdgeMs}` });
  if (j.latencyEdgeMs !== undefined && analysis.latency === undefined) errors.push({ field: `${f}.latencyEdgeMs`, message: 'needs latency beside the judge' });
  for (const key of ['interval', 'maxDuration'] as const) {
    const e = durationError(`${f}.${key}`, j[key]);
    if (e !== undefined) errors.push(e);
    else if (j[key] !== undefined && parseDuration(j[key]) < 1000) errors.push({ field: `${f}.${key}`, message: `must be at least 1s, got "${j[key]}"` });
  }
  return errors;
}
