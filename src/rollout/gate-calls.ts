// Webhook gates called outside the reconcile: a worker never waits on a hook (one may take its timeout times its
// retries, and the workers are few). A reconcile decides with the answers already in; for each type the engine
// consulted without a fresh answer, it starts the calls and moves on (the engine holds on a type it has no answer
// for); when they finish, the rollout is reconciled again. An answer is fresh for its hooks' interval (the engine
// asks a held gate again on that interval too); while a newer one is on its way, the last one stands.
import type { RolloutWebhook, RolloutWebhookType } from '../api/rollout/schema.ts';
import { hookIntervalMs, type GateResult, type GateResults } from './decide/gates.ts';
import type { GateTarget } from './gates.ts';

/** Calls every hook of a type (rollout/gates.ts callGates). */
export type CallGates = (hooks: readonly RolloutWebhook[], type: RolloutWebhookType, target: GateTarget, signal: AbortSignal) => Promise<GateResult[]>;

interface Entry {
  results?: readonly GateResult[];
  /** When the results came in. */
  at: number;
  pending: boolean;
  /** The hooks the results answer for: an edited list asks afresh. */
  hooks: string;
}

export class GateCalls {
  /** By rollout key, then `<checksum>/<type>`. */
  private readonly byRollout = new Map<string, Map<string, Entry>>();
  private readonly abort = new AbortController();
  private readonly call: CallGates;
  private readonly done: (key: string) => void;
  private readonly now: () => number;

  /** `done(key)` is told when calls for that rollout finished (the controller enqueues it). */
  constructor(call: CallGates, done: (key: string) => void, now: () => number = Date.now) {
    this.call = call;
    this.done = done;
    this.now = now;
  }

  /** The answers in for this revision (fresh or not), by type; other revisions' answers are dropped. */
  answers(key: string, target: GateTarget, hooks: readonly RolloutWebhook[]): GateResults {
    const entries = this.byRollout.get(key);
    if (entries === undefined) return {};
    const out: GateResults = {};
    for (const [k, e] of entries) {
      const [checksum, type] = splitKey(k);
      if (checksum !== target.checksum) {
        if (!e.pending) entries.delete(k);
        continue;
      }
      if (e.results !== undefined && e.hooks === hooksOf(hooks, type)) out[type] = e.results;
    }
    return out;
  }

  /** Starts the calls of every consulted type whose answer is missing or older than its interval (none twice at once). */
  request(key: string, target: GateTarget, hooks: readonly RolloutWebhook[], types: readonly RolloutWebhookType[]): void {
    let entries = this.byRollout.get(key);
    for (const type of types) {
      const k = `${target.checksum}/${type}`;
      const e = entries?.get(k);
      const mine = hooksOf(hooks, type);
      const fresh = e?.results !== undefined && e.hooks === mine && this.now() - e.at < hookIntervalMs(hooks, type);
      if (e?.pending === true || fresh) continue;
      if (entries === undefined) {
        entries = new Map();
        this.byRollout.set(key, entries);
      }
      const entry: Entry = { ...(e?.hooks === mine && e.results !== undefined ? { results: e.results } : {}), at: e?.at ?? 0, pending: true, hooks: mine };
      entries.set(k, entry);
      void this.call(hooks, type, target, this.abort.signal)
        .then((results) => Object.assign(entry, { results, at: this.now() }))
        .catch((err: unknown) => Object.assign(entry, { results: hooks.filter((h) => h.type === type).map((h) => ({ name: h.name, ok: false, message: err instanceof Error ? err.message : String(err) })), at: this.now() }))
        .finally(() => {
          entry.pending = false;
          if (!this.abort.signal.aborted) this.done(key);
        });
    }
  }

  /** The rollout is gone: its answers go too (a call under way finishes into nothing). */
  forget(key: string): void {
    this.byRollout.delete(key);
  }

  /** Ends the calls under way (shutdown, leadership lost). */
  stop(): void {
    this.abort.abort();
    this.byRollout.clear();
  }

  /** How many rollouts hold answers: bounded by the rollouts that have hooks. */
  get size(): number {
    return this.byRollout.size;
  }
}

function splitKey(k: string): [string, RolloutWebhookType] {
  const i = k.lastIndexOf('/');
  return [k.slice(0, i), k.slice(i + 1) as RolloutWebhookType];
}

const hooksOf = (hooks: readonly RolloutWebhook[], type: RolloutWebhookType): string => JSON.stringify(hooks.filter((h) => h.type === type));
