// A change feed for the waiting verbs (status, get --watch, app sync): watches on a few collections, each event a
// nudge to read again. A watch that ends or fails is opened again after a second; `next` also returns after its
// timeout, so a lost watch only slows the view down, never stops it.
import type { KubeClient, Query } from '../kube/client.ts';

export interface WatchTarget {
  /** A collection path (collectionPath from src/kube/resource.ts). */
  path: string;
  query?: Query;
}

export interface ChangeFeed {
  /** Resolves at the next change since the previous call (at once if one came in between), or after `timeoutMs`. */
  next(timeoutMs: number): Promise<void>;
  /** Stops the watches (the process exits only once they are closed). */
  close(): void;
}

export function changeFeed(client: KubeClient, targets: readonly WatchTarget[], outer: AbortSignal): ChangeFeed {
  const own = new AbortController();
  const signal = AbortSignal.any([outer, own.signal]);
  let dirty = false;
  let wake: (() => void) | undefined;
  const nudge = (): void => {
    dirty = true;
    wake?.();
  };
  for (const t of targets) {
    void (async () => {
      while (!signal.aborted) {
        try {
          await client.watch(t.path, { ...t.query, timeoutSeconds: 300 }, nudge, { signal });
        } catch {
          // The reads the feed triggers report errors; a watch only needs to come back.
        }
        if (!signal.aborted) await new Promise((r) => setTimeout(r, 1000));
      }
    })();
  }
  return {
    next(timeoutMs) {
      if (dirty || signal.aborted) {
        dirty = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          wake = undefined;
          dirty = false;
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, timeoutMs));
        signal.addEventListener('abort', done);
        wake = done;
      });
    },
    close() {
      own.abort();
    },
  };
}
