// The independent observer's judgement. It trusts nothing the operator says about itself: it replays what the
// apiserver stored (Rollouts, ReplicaSets, Services, and the routers: HTTPRoutes, Istio VirtualServices, NGINX canary
// Ingresses), in the order etcd stored it (resourceVersion is
// etcd's global revision, one sequence across every kind), and checks DESIGN.md's rollout invariants on every state.
// Pure: events in, violations and per-revision step histories out. follow.ts feeds it from watches.
import type { CanaryStep } from '../../../src/api/rollout/schema.ts';
import { weightAt } from '../../../src/rollout/decide/canary.ts';
import { canaryIngressName } from '../../../src/rollout/traffic/nginx.ts';

export type Kind = 'Rollout' | 'ReplicaSet' | 'Service' | RouteKind;
export type RouteKind = 'HTTPRoute' | 'VirtualService' | 'Ingress';

export interface ObservedEvent {
  kind: Kind;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The object as stored. */
  obj: Obj;
  /** When the watch delivered it (ms epoch). */
  atMs: number;
}

export interface Obj {
  metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; generation?: number };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface Violation {
  invariant: string;
  rollout: string;
  message: string;
  /** The event that shows it: `HTTPRoute/web rv 1234 MODIFIED`. */
  event: string;
  atMs: number;
}

const HASH = 'rollouts-pod-template-hash';

interface Canary {
  steps: CanaryStep[];
  canaryService: string;
  stableService: string;
  routeKind: RouteKind;
  /** The object that carries the weight: the HTTPRoute, the VirtualService, or the canary Ingress Sluice makes. */
  route: string;
  /** NGINX: the annotation holding the canary's weight. */
  weightAnnotation?: string;
}

function canaryOf(rollout: string, r: Obj): Canary | undefined {
  const c = (r.spec?.strategy as { canary?: Record<string, unknown> } | undefined)?.canary;
  if (c === undefined || typeof c.canaryService !== 'string' || typeof c.stableService !== 'string') return undefined;
  const base = { steps: (c.steps ?? []) as CanaryStep[], canaryService: c.canaryService, stableService: c.stableService };
  const t = c.trafficRouting as { gatewayAPI?: { httpRoute?: string }; istio?: { virtualService?: { name?: string } }; nginx?: { stableIngress?: string; annotationPrefix?: string } } | undefined;
  if (t?.gatewayAPI?.httpRoute !== undefined) return { ...base, routeKind: 'HTTPRoute', route: t.gatewayAPI.httpRoute };
  if (t?.istio?.virtualService?.name !== undefined) return { ...base, routeKind: 'VirtualService', route: t.istio.virtualService.name };
  if (t?.nginx?.stableIngress !== undefined) {
    return { ...base, routeKind: 'Ingress', route: canaryIngressName(rollout, t.nginx.stableIngress), weightAnnotation: `${t.nginx.annotationPrefix ?? 'nginx.ingress.kubernetes.io'}/canary-weight` };
  }
  return undefined;
}

interface RouteWeights {
  canary: number;
  stable: number;
}

function weightsOf(route: Obj | undefined, c: Canary): RouteWeights | undefined {
  if (c.routeKind === 'Ingress') {
    // No canary Ingress (not made yet, or removed at the end): no traffic on the canary.
    const w = Number(route?.metadata?.annotations?.[c.weightAnnotation ?? ''] ?? 0);
    return { canary: w, stable: 100 - w };
  }
  type Backend = { name: string; weight?: number };
  const rules: Backend[][] =
    c.routeKind === 'HTTPRoute'
      ? ((route?.spec?.rules ?? []) as { backendRefs?: Backend[] }[]).map((r) => r.backendRefs ?? [])
      : ((route?.spec?.http ?? []) as { route?: { destination?: { host?: string }; weight?: number }[] }[]).map((h) => (h.route ?? []).map((d) => ({ name: d.destination?.host ?? '', weight: d.weight })));
  for (const refs of rules) {
    const canary = refs.find((b) => b.name === c.canaryService);
    const stable = refs.find((b) => b.name === c.stableService);
    if (canary !== undefined && stable !== undefined) return { canary: canary.weight ?? 1, stable: stable.weight ?? 1 };
  }
  return undefined;
}

interface RolloutStatusView {
  currentStepIndex?: number;
  abort?: boolean;
  stableRS?: string;
  currentPodHash?: string;
  phase?: string;
}

/** The distinct canary weights one revision was given, in order (0 left out): the steps as traffic saw them. */
export interface RevisionHistory {
  rollout: string;
  hash: string;
  weights: number[];
  /** Ended as the stable revision (promoted), or the Rollout aborted it. */
  outcome: 'promoted' | 'aborted' | 'open';
}

export class InvariantChecker {
  private readonly events: ObservedEvent[] = [];

  add(e: ObservedEvent): void {
    this.events.push(e);
  }

  get size(): number {
    return this.events.length;
  }

  /** Replays every event in etcd order; returns the violations and each revision's weight history. */
  check(): { violations: Violation[]; histories: RevisionHistory[] } {
    const replay = new Replay();
    for (const e of [...this.events].sort(byEtcdOrder)) replay.step(e);
    return replay.finish();
  }
}

export const byEtcdOrder = (a: ObservedEvent, b: ObservedEvent): number => rvOf(a) - rvOf(b) || a.atMs - b.atMs;

/**
 * The replay itself, one event at a time, for a caller that feeds events in etcd order as they come (the soak, whose
 * hours of events are too many to keep) rather than all at the end.
 */
export class Replay {
  private readonly state: Record<Kind, Map<string, Obj>> = { Rollout: new Map(), ReplicaSet: new Map(), Service: new Map(), HTTPRoute: new Map(), VirtualService: new Map(), Ingress: new Map() };
  readonly violations: Violation[] = [];
  private readonly lastWeight = new Map<string, number>();
  /** A weight reset (>0 → 0) seen while stable was not yet on the canary's revision: fine only if an abort follows. */
  private readonly pendingReset = new Map<string, Violation>();
  private readonly histories = new Map<string, RevisionHistory>();
  /** Keys of the histories still open, so each event looks only at those (a long run closes thousands). */
  private readonly open = new Set<string>();
  /** Blue-green: the revision each active Service last selected. */
  private readonly activeHash = new Map<string, string | undefined>();

  step(e: ObservedEvent): void {
    const { state, violations, lastWeight, pendingReset, histories, activeHash } = this;
    const name = e.obj.metadata?.name ?? '';
    if (e.type === 'DELETED') state[e.kind].delete(name);
    else state[e.kind].set(name, e.obj);
    const seen = `${e.kind}/${name} rv ${e.obj.metadata?.resourceVersion ?? '?'} ${e.type}`;
    const report = (invariant: string, rollout: string, message: string): void => void violations.push({ invariant, rollout, message, event: seen, atMs: e.atMs });

    for (const [rname, r] of state.Rollout) {
      const active = activeServiceOf(r);
      if (active !== undefined && e.kind === 'Service' && name === active) {
        // Invariant 2 for blue-green: the switch of the active Service goes only to a revision with available pods.
        const before = activeHash.get(rname);
        const now = (e.obj.spec?.selector as Record<string, string> | undefined)?.[HASH];
        activeHash.set(rname, now);
        if (before !== undefined && now !== undefined && now !== before && availableOf(state.ReplicaSet, rname, now) === 0) {
          report('2 traffic → ready pods', rname, `active Service ${active} switched from ${before} to ${now}, which has no available pods`);
        }
      }
      const c = canaryOf(rname, r);
      if (c === undefined) continue;
      const s = (r.status ?? {}) as RolloutStatusView;
      if (e.kind === 'Rollout' && name === rname) {
        const pending = pendingReset.get(rname);
        if (pending !== undefined) {
          if (s.abort === true) pendingReset.delete(rname);
          else if (s.stableRS !== undefined && s.stableRS === s.currentPodHash) {
            // The status says promoted: the reset came before the stable switch was stored.
            violations.push(pending);
            pendingReset.delete(rname);
          }
        }
      }
      const w = weightsOf(state[c.routeKind].get(c.route), c);
      if (w === undefined) continue;
      const selector = (svc: string): string | undefined => (state.Service.get(svc)?.spec?.selector as Record<string, string> | undefined)?.[HASH];
      const available = (hash: string | undefined): number => (hash === undefined ? 0 : availableOf(state.ReplicaSet, rname, hash));
      const idx = s.currentStepIndex ?? 0;
      // Invariant 1. The router is written before the status that records the step, so the next step's weight is
      // allowed while the status still names the step before it (a skipped step shows as a lost step instead).
      const allowed = s.abort === true ? 0 : Math.max(weightAt(c.steps, idx), weightAt(c.steps, idx + 1));
      if (w.canary > allowed) report('1 weight ≤ step', rname, `canary weight ${w.canary} above ${s.abort === true ? 'the 0 of an aborted rollout' : `the weight of step ${idx} (${allowed})`}`);
      // Invariant 2 (and 3's "never a window with no backend"): a destination with traffic has available pods.
      if (w.canary > 0 && available(selector(c.canaryService)) === 0) report('2 traffic → ready pods', rname, `canary weight ${w.canary} on Service ${c.canaryService} whose selector (${selector(c.canaryService) ?? 'none'}) has no available pods`);
      if (w.stable > 0 && state.Service.has(c.stableService) && selector(c.stableService) !== undefined && available(selector(c.stableService)) === 0) report('2 traffic → ready pods', rname, `stable weight ${w.stable} on Service ${c.stableService} whose selector (${selector(c.stableService)}) has no available pods`);
      // Invariant 3: the weight goes back to 0 only after stable selects the new revision (or on an abort).
      const before = lastWeight.get(rname) ?? 0;
      if (e.kind === c.routeKind && before > 0 && w.canary === 0 && s.abort !== true) {
        const canaryHash = selector(c.canaryService);
        if (canaryHash !== undefined && selector(c.stableService) !== canaryHash) {
          pendingReset.set(rname, { invariant: '3 stable before reset', rollout: rname, message: `weight reset to 0 while Service ${c.stableService} still selects ${selector(c.stableService) ?? 'nothing'}, not the canary's ${canaryHash}, and no abort followed`, event: seen, atMs: e.atMs });
        }
      }
      lastWeight.set(rname, w.canary);
      // Step history per revision (the canary Service's revision carries the weight).
      const hash = selector(c.canaryService);
      if (hash !== undefined && hash !== s.stableRS && w.canary > 0) {
        const key = `${rname}/${hash}`;
        const h = histories.get(key) ?? { rollout: rname, hash, weights: [], outcome: 'open' as const };
        if (h.weights[h.weights.length - 1] !== w.canary) h.weights.push(w.canary);
        histories.set(key, h);
        if (h.outcome === 'open') this.open.add(key);
      }
      for (const key of this.open) {
        const h = histories.get(key)!;
        if (h.rollout !== rname) continue;
        if (s.stableRS === h.hash) h.outcome = 'promoted';
        else if (s.abort === true && s.currentPodHash === h.hash) h.outcome = 'aborted';
        if (h.outcome !== 'open') this.open.delete(key);
      }
    }
  }

  /** The end: a reset still waiting for its abort counts (the run settled, so none is coming). */
  finish(): { violations: Violation[]; histories: RevisionHistory[] } {
    return { violations: [...this.violations, ...this.pendingReset.values()], histories: [...this.histories.values()] };
  }
}

function activeServiceOf(r: Obj): string | undefined {
  const a = (r.spec?.strategy as { blueGreen?: { activeService?: unknown } } | undefined)?.blueGreen?.activeService;
  return typeof a === 'string' ? a : undefined;
}

/** Available pods of the Rollout's ReplicaSet of revision `hash`. */
function availableOf(replicaSets: Map<string, Obj>, rollout: string, hash: string): number {
  for (const rs of replicaSets.values()) {
    if (rs.metadata?.labels?.[HASH] === hash && rs.metadata.name?.startsWith(`${rollout}-`) === true) return Number(rs.status?.availableReplicas ?? 0);
  }
  return 0;
}

const rvOf = (e: ObservedEvent): number => Number(e.obj.metadata?.resourceVersion ?? 0);

/**
 * Invariant 5 on each revision's history: the weights it was given are the steps' weights, in order, none skipped
 * (promoted: all of them; aborted: a prefix), none given twice. Returns one message per revision that breaks it.
 */
export function stepHistoryProblems(histories: readonly RevisionHistory[], stepsOf: (rollout: string) => CanaryStep[] | undefined): string[] {
  const out: string[] = [];
  for (const h of histories) {
    const steps = stepsOf(h.rollout);
    if (steps === undefined) continue;
    const expected: number[] = [];
    for (const s of steps) if (s.setWeight !== undefined && s.setWeight > 0 && expected[expected.length - 1] !== s.setWeight) expected.push(s.setWeight);
    // Past the last step the weight in force is 100 (weightAt): a router may be given it before the stable switch.
    const given = h.weights[h.weights.length - 1] === 100 && expected[expected.length - 1] !== 100 ? h.weights.slice(0, -1) : h.weights;
    const prefix = expected.slice(0, given.length);
    if (given.join(',') !== prefix.join(',')) out.push(`${h.rollout} revision ${h.hash}: weights ${h.weights.join(' → ')}, expected ${expected.join(' → ')} (a step skipped or repeated)`);
    else if (h.outcome === 'promoted' && given.length !== expected.length) out.push(`${h.rollout} revision ${h.hash}: promoted after weights ${h.weights.join(' → ')} of ${expected.join(' → ')} (steps lost)`);
  }
  return out;
}
