/**
 * A token bucket: `qps` tokens a second, at most `burst` saved. Like client-go's client-side limiter, it keeps one
 * operator from flooding the apiserver after a relist or a burst of events.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly qps: number;
  private readonly burst: number;
  private readonly now: () => number;

  constructor(qps: number, burst: number, now: () => number = () => performance.now()) {
    this.qps = qps;
    this.burst = burst;
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`rate limit needs qps > 0 and burst >= 1 (got ${qps}/${burst})`);
    this.now = now;
    this.tokens = burst;
    this.last = now();
  }

  /** Milliseconds to wait before the next request may go; takes the token now (callers then sleep that long). */
  take(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }
}
