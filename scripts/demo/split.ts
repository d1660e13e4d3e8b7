// Pure: the request split the real data plane produced, per weight Sluice wrote. The Traefik plane samples, four times a
// second, the canary weight on the HTTPRoute (what Sluice wrote), the weight Traefik has loaded (its API), the
// Rollout's canary and stable revisions, each app process's own count of requests answered (GET /stats), and
// Traefik's per-Service request counters (its /metrics). Between two samples that agree (same written weight, loaded
// by Traefik at both ends, same revisions), the counters' growth is added to the current segment; a sample taken
// while Traefik has not yet loaded a new weight starts nothing, so no segment mixes two weights.

/** One app process at one sample: its revision (pod-template hash), version and running count. */
export interface PodCount {
  hash: string;
  version: string;
  served: number;
}

export interface Sample {
  at: number;
  /** The canary weight on the HTTPRoute (undefined: not there yet). */
  written: number | undefined;
  /** The canary weight Traefik has loaded (undefined: no weighted service yet). */
  loaded: number | undefined;
  canaryHash: string;
  stableHash: string;
  /** Keyed by pod name. */
  pods: Map<string, PodCount>;
  /** Traefik's traefik_service_requests_total summed per backend: the canary Service's and the stable one's. */
  traefik: { canary: number; stable: number };
}

export interface SplitSegment {
  /** The canary weight Sluice wrote, in percent. */
  weight: number;
  canaryHash: string;
  stableHash: string;
  canaryVersion: string;
  from: number;
  to: number;
  /** Requests the app processes answered (their own counts), and how many of those the canary's processes answered. */
  requests: number;
  canaryRequests: number;
  /** The same, by Traefik's metrics (per backend Service). */
  traefikRequests: number;
  traefikCanary: number;
}

const pct = (part: number, whole: number): number | undefined => (whole === 0 ? undefined : (100 * part) / whole);

/** The canary's measured share of a segment in percent, by the processes' counts (undefined: no requests). */
export const processShare = (s: SplitSegment): number | undefined => pct(s.canaryRequests, s.requests);
/** The canary's measured share of a segment in percent, by Traefik's metrics. */
export const traefikShare = (s: SplitSegment): number | undefined => pct(s.traefikCanary, s.traefikRequests);

/** A canary is in progress: the canary and stable revisions differ (else there is no split to measure). */
export const isCanary = (s: { canaryHash: string; stableHash: string }): boolean => s.canaryHash !== '' && s.canaryHash !== s.stableHash;

const settled = (s: Sample): boolean => s.written !== undefined && s.loaded === s.written;

/** Adds what happened between `prev` and `cur` to `segments` (mutated), when both samples agree. */
export function accumulate(segments: SplitSegment[], prev: Sample | undefined, cur: Sample): void {
  if (prev === undefined || !settled(prev) || !settled(cur) || prev.written !== cur.written) return;
  if (prev.canaryHash !== cur.canaryHash || prev.stableHash !== cur.stableHash) return;
  let requests = 0;
  let canaryRequests = 0;
  let canaryVersion = '';
  for (const [name, pod] of cur.pods) {
    // A process that started since the last sample counted from 0; a counter never goes back (a restart would be a new pod).
    const delta = Math.max(0, pod.served - (prev.pods.get(name)?.served ?? 0));
    requests += delta;
    if (pod.hash === cur.canaryHash) {
      canaryRequests += delta;
      canaryVersion = pod.version;
    }
  }
  const traefikCanary = Math.max(0, cur.traefik.canary - prev.traefik.canary);
  const traefikRequests = traefikCanary + Math.max(0, cur.traefik.stable - prev.traefik.stable);
  const weight = cur.written ?? 0;
  const last = segments.at(-1);
  // A sample taken while Traefik catches up leaves a gap; the same weight and revisions on both sides is one step.
  if (last !== undefined && last.weight === weight && last.canaryHash === cur.canaryHash && last.stableHash === cur.stableHash) {
    last.to = cur.at;
    last.requests += requests;
    last.canaryRequests += canaryRequests;
    last.traefikRequests += traefikRequests;
    last.traefikCanary += traefikCanary;
    if (last.canaryVersion === '') last.canaryVersion = canaryVersion;
    return;
  }
  segments.push({ weight, canaryHash: cur.canaryHash, stableHash: cur.stableHash, canaryVersion, from: prev.at, to: cur.at, requests, canaryRequests, traefikRequests, traefikCanary });
}

/**
 * Pure: Traefik's Prometheus text → traefik_service_requests_total summed for the canary and the stable Service.
 * The Gateway provider names a backend `<namespace>-<service>-http-<port>@kubernetesgateway`.
 */
export function traefikCounts(metrics: string, namespace: string, canaryService: string, stableService: string): { canary: number; stable: number } {
  const out = { canary: 0, stable: 0 };
  const prefix = (svc: string): string => `service="${namespace}-${svc}-http-`;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('traefik_service_requests_total{')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!Number.isFinite(value)) continue;
    if (line.includes(prefix(canaryService))) out.canary += value;
    else if (line.includes(prefix(stableService))) out.stable += value;
  }
  return out;
}

const fmt = (n: number | undefined): string => (n === undefined ? '-' : `${n.toFixed(1)}%`);

/** Pure: one line per canary segment: the weight written beside the split measured. */
export function splitLine(s: SplitSegment): string {
  const secs = ((s.to - s.from) / 1000).toFixed(1);
  return `weight ${String(s.weight).padStart(3)}% written → canary measured ${fmt(processShare(s)).padStart(6)} of ${s.requests} requests (app processes' own counts), ${fmt(traefikShare(s))} of ${s.traefikRequests} (Traefik's metrics), over ${secs}s`;
}
