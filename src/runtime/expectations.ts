/**
 * Read-your-own-writes. After a reconcile writes an object, the informer's copy is stale until the watch delivers
 * that write; reconciling from the stale copy would act twice (Argo's "the object has been modified" class of
 * bugs). The writer records the resourceVersion its write returned; the key is not reconciled again until the
 * cache has seen that version (or the object was deleted), or until `timeoutMs` passes (a lost event must not
 * wedge the object: after the timeout the reconcile proceeds, and any conflict is retried).
 */
export class Expectations {
  private readonly pending = new Map<string, { rv: string; at: number }>();
  /** The newest resourceVersion the cache applied per key: a no-op write returns it, and nothing more will come. */
  private readonly latest = new Map<string, string>();
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(timeoutMs = 10_000, now: () => number = () => Date.now()) {
    this.timeoutMs = timeoutMs;
    this.now = now;
  }

  /** A write of `key` returned `rv`. */
  expect(key: string, rv: string | undefined): void {
    if (rv !== undefined && this.latest.get(key) !== rv) this.pending.set(key, { rv, at: this.now() });
  }

  /** The cache applied an event for `key` at `rv`. */
  observe(key: string, rv: string): void {
    this.latest.set(key, rv);
    const p = this.pending.get(key);
    if (p !== undefined && p.rv === rv) this.pending.delete(key);
  }

  /** The object is gone: drop what we know of it. */
  forget(key: string): void {
    this.pending.delete(key);
    this.latest.delete(key);
  }

  /** Whether the cache has caught up with our last write of `key` (true when we wrote nothing, or gave up waiting). */
  satisfied(key: string): boolean {
    const p = this.pending.get(key);
    if (p === undefined) return true;
    if (this.now() - p.at > this.timeoutMs) {
      this.pending.delete(key);
      return true;
    }
    return false;
  }
}
