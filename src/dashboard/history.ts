// The weight of each Rollout over time, kept by the server while it watches (the Rollout's status has only the
// present). Bounded: a few hundred points per Rollout, a few thousand Rollouts, oldest forgotten first.

export interface WeightPoint {
  /** Milliseconds since the epoch. */
  t: number;
  weight: number;
  step: number;
  phase: string;
}

export class WeightHistory {
  private readonly series = new Map<string, WeightPoint[]>();
  private readonly maxPoints: number;
  private readonly maxSeries: number;

  constructor(opts: { maxPoints?: number; maxSeries?: number } = {}) {
    this.maxPoints = opts.maxPoints ?? 500;
    this.maxSeries = opts.maxSeries ?? 5000;
  }

  /** Records a point when weight, step or phase differs from the last one; returns whether it did. */
  record(uid: string, p: WeightPoint): boolean {
    if (uid === '') return false;
    let s = this.series.get(uid);
    const last = s?.at(-1);
    if (last !== undefined && last.weight === p.weight && last.step === p.step && last.phase === p.phase) return false;
    if (s === undefined) {
      if (this.series.size >= this.maxSeries) {
        const oldest = this.series.keys().next().value;
        if (oldest !== undefined) this.series.delete(oldest);
      }
      s = [];
    } else this.series.delete(uid); // re-inserted below: Map order is recency order
    s.push(p);
    if (s.length > this.maxPoints) s.splice(0, s.length - this.maxPoints);
    this.series.set(uid, s);
    return true;
  }

  get(uid: string): WeightPoint[] {
    return [...(this.series.get(uid) ?? [])];
  }

  get size(): number {
    return this.series.size;
  }
}
