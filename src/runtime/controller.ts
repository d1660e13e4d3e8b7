import type { Logger } from '../log/logger.ts';
import { KubeApiError } from '../kube/errors.ts';
import { Expectations } from './expectations.ts';
import type { Metrics } from './metrics.ts';
import { WorkQueue } from './queue.ts';

export interface ReconcileRequest {
  key: string;
  namespace: string | undefined;
  name: string;
  /** A child logger that names the controller and the object. */
  log: Logger;
  /** Aborted when leadership is lost or the process shuts down: stop acting at once. */
  signal: AbortSignal;
}

export interface ReconcileResult {
  /** Reconcile again after this long (a timer: a pause expiring, an analysis interval). */
  requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(req: ReconcileRequest): Promise<ReconcileResult | void>;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  workers?: number;
  log: Logger;
  metrics: Metrics;
  queue?: WorkQueue;
  /**
   * Asked before every reconcile: false means this process may no longer act (a shard whose Lease went unrenewed,
   * e.g. after the process was frozen), so the key is dropped instead of acted on with what may be a stale view.
   */
  gate?: () => boolean;
}

/** How soon a key the gate turned away is tried again. */
const GATED_RETRY_MS = 1_000;
const PARKED_SWEEP_MS = 1000;

export const splitKey = (key: string): { namespace: string | undefined; name: string } => {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
};

/**
 * Workers pull keys from the queue and reconcile them, one key never twice at once. A failed reconcile is retried
 * with per-key exponential backoff (or after the server's Retry-After); a success resets it. A key whose last write
 * the cache has not yet seen waits for it (read-your-writes).
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly expectations = new Expectations();
  private readonly opts: ControllerOptions;
  private workersDone: Promise<void>[] = [];
  /** Keys waiting for the cache to show this controller's last write (see work()). */
  private readonly parked = new Set<string>();
  private sweeper: NodeJS.Timeout | undefined;
  private abort = new AbortController();

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.queue = opts.queue ?? new WorkQueue();
  }

  enqueue(key: string): void {
    this.queue.add(key);
    this.opts.metrics.queueDepth.set({ controller: this.name }, this.queue.length);
  }

  /** Starts the workers; they run until stop(). */
  start(): void {
    this.abort = new AbortController();
    const n = this.opts.workers ?? 2;
    this.workersDone = Array.from({ length: n }, () => this.work(this.abort.signal));
    this.sweeper = setInterval(() => {
      for (const key of this.parked) {
        if (!this.expectations.satisfied(key)) continue;
        this.parked.delete(key);
        this.enqueue(key);
      }
    }, PARKED_SWEEP_MS);
    this.sweeper.unref();
  }

  /** Stops handing out keys, lets in-flight reconciles finish (their signal is aborted if `hard`), then resolves. */
  async stop(hard = false): Promise<void> {
    clearInterval(this.sweeper);
    if (hard) this.abort.abort();
    await this.queue.shutdown();
    this.abort.abort();
    await Promise.all(this.workersDone);
  }

  private async work(signal: AbortSignal): Promise<void> {
    const { metrics, log, reconciler } = this.opts;
    const labels = { controller: this.name };
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      metrics.queueDepth.set(labels, this.queue.length);
      metrics.inFlight.set(labels, this.queue.inFlight);
      if (!this.expectations.satisfied(key)) {
        // The watch event carrying our write enqueues the key again when it lands (the informer's handler). Parked
        // keys are swept once a second only for an event that never comes (the expectation's timeout): no timer
        // and no polling per key while thousands wait.
        this.parked.add(key);
        this.queue.done(key);
        continue;
      }
      this.parked.delete(key);
      if (this.opts.gate !== undefined && !this.opts.gate()) {
        // Not now (a shard whose renewal is late): look again shortly. Dropping the key would strand it until the
        // resync when the renewal then succeeds; a fenced process exits, and its queue with it.
        this.queue.done(key);
        this.queue.addAfter(key, GATED_RETRY_MS);
        continue;
      }
      const { namespace, name } = splitKey(key);
      const reqLog = log.child({ controller: this.name, key });
      const end = metrics.reconcileSeconds.startTimer(labels);
      const startedAt = Date.now();
      try {
        const res = await reconciler.reconcile({ key, namespace, name, log: reqLog, signal });
        this.queue.forget(key);
        if (res?.requeueAfterMs !== undefined && !signal.aborted) {
          this.queue.addAfter(key, res.requeueAfterMs);
          metrics.reconciles.inc({ ...labels, result: 'requeue' });
        } else {
          metrics.reconciles.inc({ ...labels, result: 'success' });
        }
      } catch (err) {
        metrics.reconciles.inc({ ...labels, result: 'error' });
        if (!signal.aborted) {
          const serverDelay = err instanceof KubeApiError && err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : undefined;
          const delay = serverDelay ?? this.queue.nextBackoff(key);
          if (serverDelay !== undefined) this.queue.addAfter(key, serverDelay);
          else this.queue.addRateLimited(key);
          const conflict = err instanceof KubeApiError && err.kind === 'Conflict';
          // A conflict is routine (someone wrote first); anything else is worth a warning.
          reqLog[conflict ? 'debug' : 'warn']({ err: describe(err), retryInMs: delay, failures: this.queue.failuresOf(key) }, 'reconcile failed; will retry');
        }
      } finally {
        // At debug: the span of every reconcile, which shows (across replicas' logs) that no two acted on a key at once.
        reqLog.debug({ startedAt, endedAt: Date.now() }, 'reconcile span');
        end();
        this.queue.done(key);
        metrics.inFlight.set(labels, this.queue.inFlight);
      }
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof KubeApiError) return `${err.kind} (${err.status}): ${err.message}`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
