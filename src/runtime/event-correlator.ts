// Which Event object a new event goes to (pure: the recorder does the writes). Like client-go's EventCorrelator, which
// Argo Rollouts and kube-controller-manager record through:
// - the same event again (object, type, reason, message) within the window bumps the count of the Event it created;
// - more than MAX_DISTINCT different messages for one object, type and reason within the window are combined: from then
//   on they all bump one Event whose message is the latest, prefixed "(combined from similar events): ".
// So an object whose message changes every reconcile (a failing sync naming a new revision, a rollout cycling through
// revisions) costs one Event object per window, not one per reconcile: Events live in etcd until their TTL.

export const MAX_DISTINCT = 10;
export const COMBINED_PREFIX = '(combined from similar events): ';

export interface EventInput {
  /** The involved object's identity (its uid, else namespace/name). */
  object: string;
  type: string;
  reason: string;
  message: string;
}

/** Create a new Event, or bump one created before (its name and the count to write). */
export type EventWrite =
  | { kind: 'create'; key: string; message: string }
  | { kind: 'update'; key: string; message: string; name: string; namespace: string; count: number };

interface Created {
  name: string;
  namespace: string;
  count: number;
  at: number;
}

interface Similar {
  messages: Set<string>;
  /** When the window of this object, type and reason started. */
  since: number;
}

export class EventCorrelator {
  private readonly created = new Map<string, Created>();
  private readonly similar = new Map<string, Similar>();

  private readonly windowMs: number;
  private readonly maxEntries: number;

  constructor(windowMs: number, maxEntries = 5000) {
    this.windowMs = windowMs;
    this.maxEntries = maxEntries;
  }

  /** Where `e` goes at `now`. Call `created()` once a create has succeeded, so repeats find it. */
  decide(e: EventInput, now: number): EventWrite {
    const group = `${e.object}|${e.type}|${e.reason}`;
    let sim = this.similar.get(group);
    if (sim === undefined || now - sim.since >= this.windowMs) {
      sim = { messages: new Set(), since: now };
      this.similar.set(group, sim);
    }
    if (sim.messages.size < MAX_DISTINCT) sim.messages.add(e.message);
    // The (MAX_DISTINCT+1)th different message and all after it, until the window ends, share one combined Event.
    const combined = !sim.messages.has(e.message);
    const key = combined ? `${group}|*` : `${group}|${e.message}`;
    const message = combined ? `${COMBINED_PREFIX}${e.message}` : e.message;
    const prev = this.created.get(key);
    if (prev !== undefined && now - prev.at < this.windowMs) {
      prev.count++;
      prev.at = now;
      return { kind: 'update', key, message, name: prev.name, namespace: prev.namespace, count: prev.count };
    }
    return { kind: 'create', key, message };
  }

  /** Records the Event a `create` decision made. */
  recordCreated(key: string, name: string, namespace: string, now: number): void {
    this.created.set(key, { name, namespace, count: 1, at: now });
    if (this.created.size > this.maxEntries || this.similar.size > this.maxEntries) this.prune(now);
  }

  /** The Event an update targeted is gone (deleted, or expired by its TTL): the next repeat creates a new one. */
  forget(key: string): void {
    this.created.delete(key);
  }

  /** Entries kept, for tests and bounds. */
  get size(): number {
    return this.created.size + this.similar.size;
  }

  private prune(now: number): void {
    for (const [k, v] of this.created) if (now - v.at >= this.windowMs) this.created.delete(k);
    for (const [k, v] of this.similar) if (now - v.since >= this.windowMs) this.similar.delete(k);
  }
}
