// The builtin checks under the sequential judge: one judge metric per check (success-rate, latency-p99), each
// comparing the canary revision with stable on the router's raw counters, with the check's absolute threshold as a
// guard. Pure: the Rollout controller puts these metrics in the step's AnalysisRun like any other.
import type { JudgeProviderSpec, Metric } from '../../api/analysis/schema.ts';
import type { ResolvedJudge } from '../../api/rollout/judge.ts';
import type { LookState } from './judging.ts';

export interface JudgeTargets {
  router: JudgeProviderSpec['router'];
  namespace: string;
  /** The names the router's metrics give each revision (Istio workloads, NGINX Ingresses, Services, template hashes). */
  canary: string;
  stable: string;
}

export interface JudgeChecks {
  successRate?: { min: number };
  latency?: { maxMs: number };
}

export interface JudgeMetricOptions {
  address: string;
  judge: ResolvedJudge;
  /** The canary's configured share of traffic (0..1) while the run measures. */
  configuredShare?: number;
  /** A step's judge completes on a pass; a background one watches until terminated. */
  completeOnPass: boolean;
  /** Evidence of the previous step's judge of the same revision, per metric name. */
  carry?: Record<string, Partial<LookState>>;
}

export const JUDGE_METRICS = { errors: 'success-rate', latency: 'latency-p99' } as const;

/** The judge metrics of a check. Each counts one comparison, and one guard when its threshold bounds anything. */
export function judgeMetrics(check: JudgeChecks, t: JudgeTargets, o: JudgeMetricOptions): Metric[] {
  const errorBound = check.successRate !== undefined ? (100 - check.successRate.min) / 100 : undefined;
  const guards = [errorBound !== undefined && errorBound > 0 && errorBound < 1, check.latency !== undefined].filter(Boolean).length;
  const comparisons = [check.successRate, check.latency].filter((c) => c !== undefined).length;
  const tests = comparisons + guards;
  const common = (signal: 'errors' | 'latency', extra: Partial<JudgeProviderSpec>): Metric => {
    const name = JUDGE_METRICS[signal];
    const carry = o.carry?.[name];
    return {
      name,
      interval: o.judge.interval,
      // The judge decides by itself; one Failed look (abort evidence or the guard) is the verdict.
      failureLimit: 0,
      inconclusiveLimit: 0,
      provider: {
        judge: {
          address: o.address,
          ...t,
          signal,
          alpha: o.judge.alpha,
          beta: o.judge.beta,
          maxRatio: o.judge.maxRatio,
          tests,
          maxDuration: o.judge.maxDuration,
          onInconclusive: o.judge.onInconclusive,
          ...(o.judge.minCanaryRequests !== undefined ? { minCanaryRequests: o.judge.minCanaryRequests } : {}),
          ...(o.configuredShare !== undefined ? { configuredShare: o.configuredShare } : {}),
          completeOnPass: o.completeOnPass,
          ...(carry !== undefined ? { carry } : {}),
          ...extra,
        },
      },
    };
  };
  const out: Metric[] = [];
  if (check.successRate !== undefined) out.push(common('errors', errorBound !== undefined && errorBound > 0 && errorBound < 1 ? { guardMaxBadRate: errorBound } : {}));
  if (check.latency !== undefined) {
    out.push(common('latency', { guardMaxBadRate: 0.01, guardLatencyMs: check.latency.maxMs, ...(o.judge.latencyEdgeMs !== undefined ? { latencyEdgeMs: o.judge.latencyEdgeMs } : {}) }));
  }
  return out;
}
