// Webhook gates (spec.strategy.canary.webhooks) as the step engine sees them: answers the shell observed this
// reconcile, by webhook type. Pure. The engine asks for a type only where it matters (confirm-promotion at the end of
// the steps, confirm-traffic-increase before a weight rises, ...); every type it consults is recorded in `need` (one
// without an answer is held on meanwhile), and the shell calls those without a fresh answer (rollout/gate-calls.ts).
import { parseDuration } from '../../api/common/duration.ts';
import type { RolloutStatus, RolloutWebhook, RolloutWebhookType } from '../../api/rollout/schema.ts';
import { ROLLOUT_DEFAULTS } from '../../api/rollout/schema.ts';
import type { EngineEvent, Observed } from './types.ts';
import { canaryReplicasFor, weightAt } from './weights.ts';

/** One hook's answer this reconcile: `ok` when it answered 2xx. */
export interface GateResult {
  name: string;
  ok: boolean;
  message: string;
}
export type GateResults = Partial<Record<RolloutWebhookType, readonly GateResult[]>>;

export type GateState = { state: 'open' } | { state: 'closed'; type: RolloutWebhookType; name: string; message: string } | { state: 'unknown'; type: RolloutWebhookType; name: string };

/** How often a held gate or a rollback hook is asked again, unless the hook says. */
export const GATE_INTERVAL_MS = 15_000;
/** Types that only notify: called by the shell on events, never asked by the engine, never holding. */
export const NOTIFY_TYPES: readonly RolloutWebhookType[] = ['post-rollout', 'event'];

export class Gates {
  /** Types the engine consulted this pass (with hooks): the shell keeps their answers fresh. */
  readonly need = new Set<RolloutWebhookType>();
  private readonly hooks: readonly RolloutWebhook[];
  private readonly results: GateResults;

  constructor(hooks: readonly RolloutWebhook[] | undefined, results: GateResults | undefined) {
    this.hooks = hooks ?? [];
    this.results = results ?? {};
  }

  has(type: RolloutWebhookType): boolean {
    return this.hooks.some((h) => h.type === type);
  }

  /** A gate or check: open when every hook of the type answered 2xx (or there is none); unknown until asked. */
  check(type: RolloutWebhookType): GateState {
    const hooks = this.hooks.filter((h) => h.type === type);
    if (hooks.length === 0) return { state: 'open' };
    this.need.add(type);
    const got = this.results[type];
    if (got === undefined) return { state: 'unknown', type, name: hooks[0]?.name ?? type };
    const no = got.find((r) => !r.ok);
    return no === undefined ? { state: 'open' } : { state: 'closed', type, name: no.name, message: no.message };
  }

  /** Rollback hooks: the name of one that answered 2xx (it asks for an abort); undefined otherwise or until asked. */
  rollbackRequested(): string | undefined {
    if (!this.has('rollback')) return undefined;
    this.need.add('rollback');
    const got = this.results.rollback;
    if (got === undefined) return undefined;
    return got.find((r) => r.ok)?.name;
  }

  /** When a type's hooks are to be asked again. */
  intervalMs(type: RolloutWebhookType): number {
    return hookIntervalMs(this.hooks, type);
  }
}

/** How often a type's hooks are asked again: the shortest interval among them (default 15s, at least 100 ms). */
export function hookIntervalMs(hooks: readonly RolloutWebhook[], type: RolloutWebhookType): number {
  const ms = hooks.filter((h) => h.type === type).map((h) => safeDuration(h.interval));
  return ms.length === 0 ? GATE_INTERVAL_MS : Math.min(...ms);
}

function safeDuration(d: RolloutWebhook['interval']): number {
  if (d === undefined) return GATE_INTERVAL_MS;
  try {
    return Math.max(parseDuration(d), 100);
  } catch {
    return GATE_INTERVAL_MS; // validation reports the field; the engine never throws on it
  }
}

/** status.gates.waiting's message while the gate's first answer is on its way. */
export const ASKING = 'asking';

/**
 * Records the gate holding the rollout (or none) in status.gates.waiting, keeping `since` while the same gate holds,
 * with an event when a gate starts or stops holding.
 */
export function recordWait(s: RolloutStatus, before: RolloutStatus['gates'], held: Exclude<GateState, { state: 'open' }> | undefined, now: string, events: EngineEvent[]): void {
  const was = before?.waiting;
  const gates = { ...s.gates };
  delete gates.waiting;
  if (held !== undefined) {
    const message = held.state === 'closed' ? held.message : ASKING;
    const same = was?.name === held.name && was.type === held.type;
    gates.waiting = { name: held.name, type: held.type, since: same ? (was.since ?? now) : now, message };
    // The event says what the gate answered: once per gate, at its first answer (the call is made in the background).
    const firstAnswer = held.state === 'closed' && (!same || was.message === ASKING);
    if (firstAnswer) events.push({ type: 'Normal', reason: 'WaitingForGate', message: `waiting for gate ${held.name} (${held.type}): ${message}` });
  } else if (was !== undefined) {
    events.push({ type: 'Normal', reason: 'GateOpened', message: `gate ${was.name} (${was.type}) opened` });
  }
  if (Object.keys(gates).length === 0) delete s.gates;
  else s.gates = gates;
}

/** status.gates without the gate waiting (undefined when nothing is left). */
export function clearWait(g: NonNullable<RolloutStatus['gates']>): RolloutStatus['gates'] {
  const { waiting: _gone, ...rest } = g;
  return Object.keys(rest).length === 0 ? undefined : rest;
}

/** The line a person reads: "waiting for gate approve (confirm-promotion): HTTP 403". */
export function waitingText(w: NonNullable<NonNullable<RolloutStatus['gates']>['waiting']>): string {
  return `waiting for gate ${w.name} (${w.type})${w.message !== undefined && w.message !== '' ? `: ${w.message}` : ''}`;
}

export interface GatePoint {
  /** The gate holding the rollout here, if any. */
  held?: Exclude<GateState, { state: 'open' }>;
  /** The current step (or the promotion) waits, and the weight does not rise. */
  holdSteps: boolean;
  /** Size the canary as at this step instead (before the start: -1; before promotion: the last step). */
  replicaIndex?: number;
  /** The start was confirmed; the pre-rollout checks are due once the canary's pods are up. */
  preRollout: boolean;
  /** The start gates passed with nothing left to check (no pre-rollout hooks): remember it for this revision. */
  started: boolean;
}

/** Which gate, if any, holds the rollout at this point. A person's full promote goes past every gate. */
export function gatePoint(o: Observed, gates: Gates, index: number, currentWeight: number, canaryReplicas: number): GatePoint {
  const s = o.status;
  const hash = o.templateHash;
  const canary = o.spec.strategy?.canary ?? {};
  const steps = canary.steps ?? [];
  const routed = canary.trafficRouting !== undefined;
  const replicas = o.spec.replicas ?? ROLLOUT_DEFAULTS.replicas;
  const open: GatePoint = { holdSteps: false, preRollout: false, started: false };
  if (hash === s.stableRS || s.promoteFull === true) return open;
  const hold = (g: GateState, replicaIndex?: number): GatePoint | undefined =>
    g.state === 'open' ? undefined : { held: g, holdSteps: true, preRollout: false, started: false, ...(replicaIndex !== undefined ? { replicaIndex } : {}) };
  if (index === 0 && s.gates?.started !== hash && (gates.has('confirm-rollout') || gates.has('pre-rollout'))) {
    const confirm = hold(gates.check('confirm-rollout'), -1);
    if (confirm !== undefined) return confirm;
    return gates.has('pre-rollout') ? { holdSteps: true, preRollout: true, started: false } : { ...open, started: true };
  }
  const step = steps[index];
  if (step?.setWeight !== undefined && gates.has('confirm-traffic-increase')) {
    // Routed: before the router's weight rises. By replicas: before the canary grows past the previous step's share.
    const rising = routed ? step.setWeight > currentWeight : step.setWeight > weightAt(steps, index - 1) && canaryReplicas <= canaryReplicasFor(weightAt(steps, index - 1), replicas, false);
    if (rising) return hold(gates.check('confirm-traffic-increase'), routed ? undefined : index - 1) ?? open;
  }
  if (index >= steps.length && gates.has('confirm-promotion')) {
    // A promotion under way (the stable Service moved, the canary grew past its last share) is finished, not held.
    const begun = routed ? o.serviceSelectors.stable === hash : canaryReplicas > canaryReplicasFor(weightAt(steps, steps.length - 1), replicas, false);
    if (!begun) return hold(gates.check('confirm-promotion'), steps.length - 1) ?? open;
  }
  return open;
}
