// Per-scrape batch counts from raw Prometheus counter samples: reset-safe deltas per series first, then summed per
// arm (never `increase()`, which extrapolates and hides resets when applied after aggregation). Pure.
import { CounterError } from './errors.ts';

/**
 * ok: a request counter series of non-bad requests (e.g. 2xx); bad: a series of bad requests (5xx);
 * total: a histogram's le="+Inf" (or _count) series; within: the same histogram's le=<edge> series.
 * For an arm: requests = Σok + Σbad + Σtotal; bad = Σbad + (Σtotal − Σwithin), clamped to [0, requests].
 */
export type SeriesRole = 'ok' | 'bad' | 'total' | 'within';
export interface SeriesSample {
  key: string;
  arm: 'canary' | 'stable';
  role: SeriesRole;
  value: number;
}
export interface ArmBatch {
  requests: number;
  bad: number;
}
export interface BatchCounts {
  canary: ArmBatch;
  stable: ArmBatch;
}

interface ArmSums {
  ok: number;
  bad: number;
  total: number;
  within: number;
}

export const emptyBatch = (): BatchCounts => ({ canary: { requests: 0, bad: 0 }, stable: { requests: 0, bad: 0 } });

/** One series' increment since the previous look: a drop is a counter reset, so the new value is the delta since it. */
export function counterDelta(prev: number | undefined, cur: number): number {
  if (prev === undefined) return cur; // a series new since the last look (a new pod): counted from 0
  return cur >= prev ? cur - prev : cur;
}

function armBatch(s: ArmSums): ArmBatch {
  const requests = s.ok + s.bad + s.total;
  const bad = Math.min(requests, Math.max(0, s.bad + (s.total - s.within)));
  return { requests, bad };
}

/**
 * Reset-safe per-series deltas, then summed per arm. prev undefined = the first look: a baseline, every delta 0.
 * A series seen before: cur >= prev ? cur - prev : cur (a counter reset). A series new since prev: counted from 0.
 * Non-finite/negative values and duplicated keys are refused (CounterError). `seen` is the next prev (only the
 * current series, so it stays bounded as pods come and go).
 */
export function batchFromSeries(
  prev: Readonly<Record<string, number>> | undefined,
  samples: readonly SeriesSample[],
): { batch: BatchCounts; seen: Record<string, number> } {
  const seen: Record<string, number> = {};
  const sums = { canary: { ok: 0, bad: 0, total: 0, within: 0 }, stable: { ok: 0, bad: 0, total: 0, within: 0 } };
  for (const s of samples) {
    if (!Number.isFinite(s.value) || s.value < 0) throw new CounterError(`series ${s.key}`, `a counter must be a finite number >= 0, got ${s.value}`);
    if (Object.hasOwn(seen, s.key)) throw new CounterError(`series ${s.key}`, 'appears twice in one look');
    seen[s.key] = s.value;
    if (prev === undefined) continue;
    sums[s.arm][s.role] += counterDelta(Object.hasOwn(prev, s.key) ? prev[s.key] : undefined, s.value);
  }
  return { batch: { canary: armBatch(sums.canary), stable: armBatch(sums.stable) }, seen };
}
