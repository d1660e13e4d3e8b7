// Live pages by server-sent events: each open page holds watches (list-then-watch informers, as the operator's
// controllers do) made with the viewer's own client, and the browser gets the page's data again when what it shows
// changes: no polling per row. Problems (forbidden, not found, deleted, apiserver unreachable) are events too, so
// the page says what is wrong instead of going blank, and a watch that recovers says so.
import type { ServerResponse } from 'node:http';
import { hashOf } from '../cli/view/rollout.ts';
import { fetchRolloutSnapshot } from '../cli/view/snapshot.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';
import { R, type ResourceType } from '../kube/resource.ts';
import type { Logger } from '../log/logger.ts';
import { Informer } from '../runtime/informer.ts';
import { appPage, appRow, eventViews, podsByHash, rolloutPage, rolloutRow, type Row } from './core.ts';
import type { WeightHistory } from './history.ts';

/** One SSE connection: named events, a comment every 25 s so proxies keep it open, closed with the request. */
export class Sse {
  private readonly res: ServerResponse;
  private readonly keepAlive: NodeJS.Timeout;
  readonly closed: Promise<void>;

  constructor(res: ServerResponse) {
    this.res = res;
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n\n');
    this.keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 25_000);
    this.closed = new Promise((resolve) => res.on('close', () => {
      clearInterval(this.keepAlive);
      resolve();
    }));
  }

  send(event: string, data: unknown): void {
    if (!this.res.writableEnded) this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}

export interface Problem {
  status: number;
  message: string;
}

/** What a failed request means for the person looking at the page. */
export function problemOf(err: unknown, what: string): Problem {
  if (err instanceof KubeApiError) {
    if (err.kind === 'Forbidden') return { status: 403, message: `forbidden: your account may not read ${what} (${err.message})` };
    if (err.kind === 'Unauthorized') return { status: 401, message: 'the apiserver no longer accepts your token: log in again' };
    if (err.kind === 'NotFound') return { status: 404, message: `${what}: not found` };
    if (err.kind === 'Network' || err.kind === 'Timeout' || err.status === 0) return { status: 503, message: `the Kubernetes apiserver cannot be reached (${err.message}); retrying` };
    return { status: 502, message: `${what}: ${err.message}` };
  }
  return { status: 500, message: `${what}: ${err instanceof Error ? err.message : String(err)}` };
}

/** The client, telling `onError` about every failed list or watch and `onOk` about every answered one. */
function observed(client: KubeClient, onError: (err: unknown) => void, onOk: () => void): KubeClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if ((prop !== 'list' && prop !== 'watch') || typeof v !== 'function') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      return async (...args: unknown[]) => {
        try {
          const out: unknown = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          onOk();
          return out;
        } catch (err) {
          // A watch aborted because the page closed is no problem.
          if (!(err instanceof Error && err.name === 'AbortError')) onError(err);
          throw err;
        }
      };
    },
  });
}

interface WatchSet {
  stop(): Promise<void>;
}

function informers(client: KubeClient, log: Logger, specs: { resource: ResourceType; namespace?: string; fieldSelector?: string; labelSelector?: string; on: () => void }[]): WatchSet {
  const all = specs.map((s) => {
    const inf = new Informer<KubeObject>({ client, log, resource: s.resource, namespace: s.namespace, fieldSelector: s.fieldSelector, labelSelector: s.labelSelector, maxBackoffMs: 5000 });
    inf.on(() => s.on());
    inf.start();
    return inf;
  });
  return { stop: async () => void (await Promise.all(all.map((i) => i.stop()))) };
}

const recordWeight = (history: WeightHistory, o: KubeObject): void => {
  const r = rolloutRow(o);
  history.record(r.uid, { t: Date.now(), weight: r.weight ?? (r.phase === 'Healthy' ? 100 : 0), step: Number(r.step?.split('/')[0] ?? 0), phase: r.phase });
};

/** A problem event once per distinct problem, and "ok" when the watches answer again. */
function problemReporter(sse: Sse, what: string): { error: (err: unknown) => void; ok: () => void } {
  let last: string | undefined;
  return {
    error: (err) => {
      const p = problemOf(err, what);
      if (p.message !== last) sse.send('problem', p);
      last = p.message;
    },
    ok: () => {
      if (last !== undefined) sse.send('ok', {});
      last = undefined;
    },
  };
}

export interface StreamContext {
  client: KubeClient;
  log: Logger;
  history: WeightHistory;
}

/** The overview: every Rollout and Application in `namespace` (all when undefined), as rows, then changes. */
export async function overviewStream(sse: Sse, c: StreamContext, namespace: string | undefined): Promise<void> {
  const where = namespace === undefined ? 'every namespace' : `namespace "${namespace}"`;
  const report = problemReporter(sse, `Rollouts and Applications in ${where}`);
  // A first read says at once whether the viewer may list here (a forbidden list would otherwise only retry).
  try {
    await Promise.all([c.client.list(R.rollout, namespace, { limit: 1 }), c.client.list(R.application, namespace, { limit: 1 })]);
  } catch (err) {
    sse.send('problem', { ...problemOf(err, `Rollouts and Applications in ${where}`), fatal: err instanceof KubeApiError && (err.kind === 'Forbidden' || err.kind === 'Unauthorized') });
    if (err instanceof KubeApiError && (err.kind === 'Forbidden' || err.kind === 'Unauthorized')) return;
  }
  const client = observed(c.client, report.error, report.ok);
  const rows = new Map<string, Row>();
  const dirty = new Map<string, Row | undefined>();
  let synced = false;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    if (!synced) return;
    const upserts = [...dirty.values()].filter((r): r is Row => r !== undefined);
    const gone = [...dirty.entries()].filter(([, r]) => r === undefined).map(([k]) => k);
    dirty.clear();
    if (upserts.length > 0 || gone.length > 0) sse.send('rows', { upserts, gone });
  };
  const keyOf = (kind: string, o: KubeObject): string => `${kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  const inf = (resource: ResourceType, kind: 'Rollout' | 'Application') => {
    const i = new Informer<KubeObject>({ client, log: c.log, resource, namespace, maxBackoffMs: 5000 });
    i.on((ev, o) => {
      const key = keyOf(kind, o);
      if (ev === 'delete') {
        rows.delete(key);
        dirty.set(key, undefined);
      } else {
        if (kind === 'Rollout') recordWeight(c.history, o);
        const row = kind === 'Rollout' ? rolloutRow(o) : appRow(o);
        rows.set(key, row);
        dirty.set(key, row);
      }
      // Changes are sent together, at most five times a second: a thousand Rollouts moving is a few messages.
      timer ??= setTimeout(flush, 200);
    });
    i.start();
    return i;
  };
  const both = [inf(R.rollout, 'Rollout'), inf(R.application, 'Application')];
  try {
    await Promise.race([Promise.all(both.map((i) => i.waitForSync())), sse.closed]);
    synced = true;
    dirty.clear();
    sse.send('snapshot', { rows: [...rows.values()] });
    await sse.closed;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    await Promise.all(both.map((i) => i.stop()));
  }
}

/** Why a named object cannot be shown: its namespace is missing, or it is. */
async function missing(client: KubeClient, kind: string, namespace: string, name: string): Promise<Problem> {
  try {
    await client.get(R.namespace, undefined, namespace);
  } catch (err) {
    if (err instanceof KubeApiError && err.kind === 'NotFound') return { status: 404, message: `namespace "${namespace}" does not exist` };
  }
  return { status: 404, message: `${kind} "${name}" does not exist in namespace "${namespace}" (deleted, or never created)` };
}

/** A detail page: `compute` reads the page's data; it is read again (debounced) whenever a watched object changes. */
async function detailStream(sse: Sse, c: StreamContext, kind: string, namespace: string, name: string, watches: { resource: ResourceType; fieldSelector?: string; labelSelector?: string }[], compute: () => Promise<unknown>): Promise<void> {
  const report = problemReporter(sse, `${kind} ${namespace}/${name}`);
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  const refresh = async (): Promise<void> => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      sse.send('page', await compute());
      report.ok();
    } catch (err) {
      if (err instanceof KubeApiError && err.kind === 'NotFound') sse.send('problem', await missing(c.client, kind, namespace, name).catch(() => problemOf(err, `${kind} ${namespace}/${name}`)));
      else report.error(err);
    } finally {
      running = false;
      if (again) {
        again = false;
        timer ??= setTimeout(() => void refresh(), 250);
      }
    }
  };
  const client = observed(c.client, report.error, () => undefined);
  const set = informers(client, c.log, watches.map((w) => ({ ...w, namespace, on: () => (timer ??= setTimeout(() => void refresh(), 250)) })));
  try {
    await refresh();
    await sse.closed;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    await set.stop();
  }
}

export function rolloutStream(sse: Sse, c: StreamContext, namespace: string, name: string): Promise<void> {
  return detailStream(
    sse,
    c,
    'Rollout',
    namespace,
    name,
    [
      { resource: R.rollout, fieldSelector: `metadata.name=${name}` },
      { resource: R.analysisRun, labelSelector: `sluice.dev/rollout=${name}` },
      { resource: R.event, fieldSelector: `involvedObject.name=${name}` },
    ],
    async () => {
      const [snap, events] = await Promise.all([
        fetchRolloutSnapshot(c.client, namespace, name),
        c.client.list<KubeObject>(R.event, namespace, { fieldSelector: `involvedObject.name=${name},involvedObject.kind=Rollout` }).catch(() => ({ items: [] })),
      ]);
      recordWeight(c.history, snap.rollout);
      // The pods of this Rollout's ReplicaSets; a viewer who may not list pods sees the ReplicaSets without them.
      const hashes = snap.replicaSets.map(hashOf).filter((h) => h !== '');
      const pods = hashes.length === 0 ? [] : await c.client.list<KubeObject>(R.pod, namespace, { labelSelector: `rollouts-pod-template-hash in (${hashes.join(',')})` }).then((l) => l.items, () => undefined);
      return rolloutPage(snap, c.history.get(snap.rollout.metadata.uid ?? ''), eventViews(events.items), pods === undefined ? undefined : podsByHash(pods));
    },
  );
}

export function appStream(sse: Sse, c: StreamContext, namespace: string, name: string): Promise<void> {
  return detailStream(sse, c, 'Application', namespace, name, [{ resource: R.application, fieldSelector: `metadata.name=${name}` }], async () => appPage(await c.client.get<KubeObject>(R.application, namespace, name)));
}
