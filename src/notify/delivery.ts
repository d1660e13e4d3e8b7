// An in-process delivery queue: bounded, a few concurrent sends, retries with exponential backoff (or the receiver's
// Retry-After). Reconciles only add jobs and never wait for a send. A job is its key; a key is queued at most once.
import { DeliveryError } from './services/port.ts';

export interface Job {
  key: string;
  /** Sends and records; throws DeliveryError (or anything: treated as retryable). */
  run(signal: AbortSignal): Promise<void>;
}

export interface DeliveryOptions {
  maxQueued?: number;
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  onGiveUp?: (job: Job, err: unknown, attempts: number) => void;
  onRetry?: (job: Job, err: unknown, attempt: number, delayMs: number) => void;
}

/** The delay before retry `attempt` (1-based): base·2^(attempt-1), capped, with ±20% jitter; Retry-After wins. */
export function backoffMs(attempt: number, base: number, max: number, retryAfterMs?: number, rand = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, 10 * max);
  const d = Math.min(max, base * 2 ** Math.min(attempt - 1, 30));
  return Math.round(d * (0.8 + 0.4 * rand()));
}

export class DeliveryQueue {
  private readonly o: Required<Omit<DeliveryOptions, 'onGiveUp' | 'onRetry'>> & Pick<DeliveryOptions, 'onGiveUp' | 'onRetry'>;
  private readonly waiting: { job: Job; attempt: number }[] = [];
  private readonly keys = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private readonly abort = new AbortController();
  private idle: (() => void)[] = [];

  constructor(opts: DeliveryOptions = {}) {
    this.o = { maxQueued: 1000, concurrency: 4, baseDelayMs: 1000, maxDelayMs: 30_000, maxAttempts: 12, ...opts };
  }

  /** Queued, sending or waiting to retry. */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  get size(): number {
    return this.keys.size;
  }

  /** False when the key is already queued, the queue is full, or it stopped (a later reconcile offers it again). */
  add(job: Job): boolean {
    if (this.abort.signal.aborted || this.keys.has(job.key) || this.keys.size >= this.o.maxQueued) return false;
    this.keys.add(job.key);
    this.waiting.push({ job, attempt: 1 });
    this.pump();
    return true;
  }

  /** Resolves when nothing is queued, sending or waiting (tests, shutdown). */
  drained(): Promise<void> {
    if (this.keys.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Drops every waiting job and aborts sends in flight: their keys stay unsent, so the next leader sends them. */
  stop(): void {
    this.abort.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waiting.length = 0;
    this.keys.clear();
    this.settle();
  }

  private pump(): void {
    while (this.running < this.o.concurrency && this.waiting.length > 0) {
      const next = this.waiting.shift() as { job: Job; attempt: number };
      this.running++;
      void this.attempt(next.job, next.attempt).finally(() => {
        this.running--;
        this.pump();
        this.settle();
      });
    }
  }

  private async attempt(job: Job, attempt: number): Promise<void> {
    const signal = this.abort.signal;
    try {
      await job.run(signal);
      this.keys.delete(job.key);
    } catch (err) {
      if (signal.aborted) return;
      const retryable = !(err instanceof DeliveryError) || err.retryable;
      if (!retryable || attempt >= this.o.maxAttempts) {
        this.keys.delete(job.key);
        this.o.onGiveUp?.(job, err, attempt);
        return;
      }
      const delay = backoffMs(attempt, this.o.baseDelayMs, this.o.maxDelayMs, err instanceof DeliveryError ? err.retryAfterMs : undefined);
      this.o.onRetry?.(job, err, attempt, delay);
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.waiting.push({ job, attempt: attempt + 1 });
        this.pump();
      }, delay);
      t.unref();
      this.timers.add(t);
    }
  }

  private settle(): void {
    if (this.keys.size > 0) return;
    const waiters = this.idle;
    this.idle = [];
    for (const w of waiters) w();
  }
}
