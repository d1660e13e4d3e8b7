// Replayed requests: a bounded memory of what was accepted recently (the push webhooks' deliveries, the signed
// approvals' signatures).

/**
 * Keys (a delivery id, a body digest, a signature) accepted within `ttlMs`; a key seen again within it is a replay.
 * At most `max` entries are kept, the oldest forgotten first, so a flood of signed requests cannot grow memory. Per
 * process: another replica has its own memory.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  private readonly max: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: { max?: number; ttlMs?: number; now?: () => number } = {}) {
    this.max = opts.max ?? 10_000;
    this.ttlMs = opts.ttlMs ?? 60 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.seen.size;
  }

  /** Whether `key` was accepted within the window (a check that remembers nothing). */
  has(key: string): boolean {
    const at = this.seen.get(key);
    return at !== undefined && this.now() - at < this.ttlMs;
  }

  /** True (and remembered) when none of `keys` was accepted within the window; false for a replay. */
  admit(keys: readonly string[]): boolean {
    const now = this.now();
    // Insertion order is arrival order: expired entries are at the front.
    for (const [k, at] of this.seen) {
      if (now - at < this.ttlMs) break;
      this.seen.delete(k);
    }
    if (keys.some((k) => this.seen.has(k))) return false;
    for (const k of keys) this.seen.set(k, now);
    while (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }
}

