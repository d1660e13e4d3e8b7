// The independent observer for a run of hours: the same watches and the same invariants as ../observer, but the
// events are replayed as they come (in etcd order, once every watch has had time to deliver them) instead of kept
// until the end, and each object is kept without its managedFields and pod template, which the invariants never read.
// Hours of a busy namespace would otherwise hold every stored state of every object in memory.
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import { follow } from '../../bench/watch.ts';
import { byEtcdOrder, Replay, type Kind, type Obj, type ObservedEvent, type RevisionHistory, type Violation } from '../observer/check.ts';
import { PATHS } from '../observer/follow.ts';

/** What the invariants read of an object (check.ts): names, labels, annotations, selectors, strategies, routes, status. */
export function slim(obj: KubeObject): Obj {
  const m = obj.metadata ?? {};
  const { template: _template, ...spec } = ((obj as { spec?: Record<string, unknown> }).spec ?? {});
  return {
    metadata: { name: m.name, resourceVersion: m.resourceVersion, labels: m.labels, annotations: m.annotations, generation: m.generation },
    spec,
    status: (obj as { status?: Record<string, unknown> }).status,
  };
}

export class StreamingObserver {
  private buffer: ObservedEvent[] = [];
  private readonly replay = new Replay();
  private readonly ac = new AbortController();
  private readonly feeds: Promise<void>[];
  /** Events replayed so far. */
  replayed = 0;

  constructor(client: KubeClient, ns: string) {
    this.feeds = (Object.keys(PATHS) as Kind[]).map((kind) =>
      follow(client, PATHS[kind](ns), (type, obj, atMs) => void this.buffer.push({ kind, type: type as ObservedEvent['type'], obj: slim(obj), atMs }), this.ac.signal),
    );
  }

  /**
   * Replays, in etcd order, the buffered events delivered at least `lagMs` ago (the watches of different kinds deliver
   * independently; an event of a lagging watch must not be replayed after a later one of another kind).
   */
  drain(lagMs: number): void {
    const cutoff = Date.now() - lagMs;
    const sorted = this.buffer.sort(byEtcdOrder);
    let i = 0;
    while (i < sorted.length && sorted[i]!.atMs <= cutoff) this.replay.step(sorted[i++]!);
    this.buffer = sorted.slice(i);
    this.replayed += i;
  }

  /** Violations found so far (a weight reset still waiting for its abort is not one yet). */
  get violationsSoFar(): number {
    return this.replay.violations.length;
  }

  /** Stops the watches, replays what is left, and returns the verdict. */
  async finish(): Promise<{ violations: Violation[]; histories: RevisionHistory[] }> {
    this.ac.abort();
    await Promise.allSettled(this.feeds);
    this.drain(-Infinity);
    return this.replay.finish();
  }
}
