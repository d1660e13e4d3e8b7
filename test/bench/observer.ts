// Watches what the controller under test does to the Rollouts, their ReplicaSets and VirtualServices, and answers:
// when did each Rollout become Healthy (and settled: old ReplicaSets at 0), and, for every step, how long after the
// pause's stated expiry (status.pauseConditions[].startTime + 5 s) the ReplicaSet scale or the VirtualService weight
// of the next step was seen. The bookkeeping is pure (Timeline); follow() feeds it from watches.
import type { KubeClient, KubeObject } from '../../src/kube/client.ts';
import { canaryReplicas, LAST_PAUSE, PAUSE_MS, WEIGHT_AFTER_PAUSE, type Variant } from './manifests.ts';
import { follow } from './watch.ts';

interface RolloutStatus {
  phase?: string;
  observedGeneration?: string | number;
  stableRS?: string;
  currentPodHash?: string;
  currentStepIndex?: number;
  pauseConditions?: { reason?: string; startTime?: string }[];
}

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: RolloutStatus };

/** A ReplicaSet's desired pods, or a VirtualService's canary weight, as seen at a time. */
interface Sample {
  atMs: number;
  value: number;
}

interface Track {
  /** Generation the bench wrote for this phase; Healthy counts only once the status observed it. */
  generation?: number;
  healthyAtMs?: number;
  settledAtMs?: number;
  /** Pause step index → stated start (ms). */
  pauses: Map<number, number>;
  canaryScale: Sample[];
  vsWeight: Sample[];
  /** ReplicaSet name → { image, replicas } for this Rollout. */
  replicaSets: Map<string, { image: string; replicas: number }>;
  status?: RolloutStatus;
}

export interface Latencies {
  step: number[];
  promote: number[];
  /** Steps whose expiry or effect was never seen (e.g. a controller that skipped a step). */
  missing: number;
}

/** Pure: everything seen during one phase (create, or one image update), keyed by Rollout name. */
export class Timeline {
  readonly tracks = new Map<string, Track>();
  readonly variant: Variant;
  readonly replicas: number;
  readonly image: string;
  constructor(variant: Variant, replicas: number, image: string) {
    this.variant = variant;
    this.replicas = replicas;
    this.image = image;
  }

  private track(name: string): Track {
    let t = this.tracks.get(name);
    if (t === undefined) {
      t = { pauses: new Map(), canaryScale: [], vsWeight: [], replicaSets: new Map() };
      this.tracks.set(name, t);
    }
    return t;
  }

  expect(name: string, generation: number): void {
    this.track(name).generation = generation;
  }

  onRollout(obj: Obj, atMs: number): void {
    const name = obj.metadata?.name ?? '';
    const t = this.track(name);
    const s = obj.status ?? {};
    t.status = s;
    const idx = s.currentStepIndex;
    for (const c of s.pauseConditions ?? []) {
      if (c.reason === 'CanaryPauseStep' && c.startTime !== undefined && idx !== undefined && !t.pauses.has(idx)) t.pauses.set(idx, Date.parse(c.startTime));
    }
    this.check(t, atMs);
  }

  onReplicaSet(obj: Obj, atMs: number, deleted: boolean): void {
    const owner = obj.metadata?.ownerReferences?.find((o) => o.kind === 'Rollout')?.name;
    if (owner === undefined) return;
    const t = this.track(owner);
    const spec = obj.spec as { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
    const image = spec?.template?.spec?.containers?.[0]?.image ?? '';
    const replicas = deleted ? 0 : (spec?.replicas ?? 0);
    t.replicaSets.set(obj.metadata?.name ?? '', { image, replicas });
    if (image === this.image && t.canaryScale.at(-1)?.value !== replicas) t.canaryScale.push({ atMs, value: replicas });
    this.check(t, atMs);
  }

  onVirtualService(obj: Obj, atMs: number): void {
    const name = obj.metadata?.name ?? '';
    const http = (obj.spec?.http ?? []) as { name?: string; route?: { destination?: { host?: string }; weight?: number }[] }[];
    const primary = http.find((r) => r.name === 'primary');
    const weight = primary?.route?.find((r) => r.destination?.host === `${name}-canary`)?.weight ?? 0;
    const t = this.track(name);
    if (t.vsWeight.at(-1)?.value !== weight) t.vsWeight.push({ atMs, value: weight });
  }

  private check(t: Track, atMs: number): void {
    const s = t.status;
    if (t.generation === undefined || s === undefined) return;
    // At least the generation we wrote: Argo Rollouts bumps it once more itself (it writes `resources: {}` back).
    const healthy = s.phase === 'Healthy' && Number(s.observedGeneration) >= t.generation && s.stableRS !== undefined && s.stableRS === s.currentPodHash;
    if (!healthy) return;
    t.healthyAtMs ??= atMs;
    const old = [...t.replicaSets.values()].filter((rs) => rs.image !== this.image);
    if (t.settledAtMs === undefined && old.every((rs) => rs.replicas === 0)) t.settledAtMs = atMs;
  }

  count(what: 'healthy' | 'settled'): number {
    let n = 0;
    for (const t of this.tracks.values()) if (t.generation !== undefined && (what === 'healthy' ? t.healthyAtMs : t.settledAtMs) !== undefined) n++;
    return n;
  }

  lastAt(what: 'healthy' | 'settled'): number {
    let last = 0;
    for (const t of this.tracks.values()) last = Math.max(last, (what === 'healthy' ? t.healthyAtMs : t.settledAtMs) ?? 0);
    return last;
  }

  /** For every pause: stated expiry → first sighting of the next step's effect. */
  latencies(): Latencies {
    const out: Latencies = { step: [], promote: [], missing: 0 };
    for (const t of this.tracks.values()) {
      if (t.generation === undefined) continue;
      for (const [idx, startMs] of t.pauses) {
        const expiry = startMs + PAUSE_MS;
        const promote = idx === LAST_PAUSE;
        const seen = this.effectSeen(t, idx, startMs);
        if (seen === 'not-observable') continue;
        if (seen === undefined) out.missing++;
        else (promote ? out.promote : out.step).push(seen - expiry);
      }
    }
    return out;
  }

  private effectSeen(t: Track, pauseIdx: number, startMs: number): number | 'not-observable' | undefined {
    const promote = pauseIdx === LAST_PAUSE;
    const weight = WEIGHT_AFTER_PAUSE[pauseIdx];
    if (!promote && weight === undefined) return 'not-observable';
    if (this.variant === 'istio') {
      const target = promote ? 0 : (weight ?? 0);
      return t.vsWeight.find((s) => s.atMs >= startMs && s.value === target)?.atMs;
    }
    // Replica ratios: only a step that changes the canary's pod count can be seen in a ReplicaSet.
    const before = canaryReplicas(promote ? 50 : 20, this.replicas);
    const target = promote ? this.replicas : canaryReplicas(weight ?? 0, this.replicas);
    if (target === before) return 'not-observable';
    return t.canaryScale.find((s) => s.atMs >= startMs && s.value >= target)?.atMs;
  }
}

export interface Observer {
  timeline: Timeline;
  /** Starts a new phase: events from now on go to a fresh Timeline for `image`. */
  phase(image: string): Timeline;
  stop(): Promise<void>;
}

export function observe(client: KubeClient, group: string, ns: string, variant: Variant, replicas: number): Observer {
  const ac = new AbortController();
  let timeline = new Timeline(variant, replicas, '');
  // The latest object of each kind, replayed into a new phase so it starts from the current state.
  const latest = { rollouts: new Map<string, Obj>(), replicaSets: new Map<string, Obj>(), vs: new Map<string, Obj>() };
  const feeds = [
    follow(client, `/apis/${group}/v1alpha1/namespaces/${ns}/rollouts`, (type, o, at) => {
      latest.rollouts.set(o.metadata?.name ?? '', o);
      if (type !== 'DELETED') timeline.onRollout(o, at);
    }, ac.signal),
    follow(client, `/apis/apps/v1/namespaces/${ns}/replicasets`, (type, o, at) => {
      if (type === 'DELETED') latest.replicaSets.delete(o.metadata?.name ?? '');
      else latest.replicaSets.set(o.metadata?.name ?? '', o);
      timeline.onReplicaSet(o, at, type === 'DELETED');
    }, ac.signal),
  ];
  if (variant === 'istio') {
    feeds.push(follow(client, `/apis/networking.istio.io/v1beta1/namespaces/${ns}/virtualservices`, (_type, o, at) => {
      latest.vs.set(o.metadata?.name ?? '', o);
      timeline.onVirtualService(o, at);
    }, ac.signal));
  }
  return {
    get timeline() {
      return timeline;
    },
    phase(image: string) {
      timeline = new Timeline(variant, replicas, image);
      const now = Date.now();
      // Only the current state carries over; pauses of an earlier phase have startTimes before it and are dropped.
      for (const o of latest.replicaSets.values()) timeline.onReplicaSet(o, now, false);
      for (const o of latest.vs.values()) timeline.onVirtualService(o, now);
      return timeline;
    },
    async stop() {
      ac.abort();
      await Promise.allSettled(feeds);
    },
  };
}
