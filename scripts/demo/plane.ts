// What the demo's story and live view need from a data plane, whichever runs: the real one (Traefik on the Gateway
// API, traefik-plane.ts; the default) or the Istio data-plane EMULATOR (`--istio`, test/dataplane/emulator.ts).
import type { DataPlaneEmulator } from '../../test/dataplane/emulator.ts';
import type { SplitSegment } from './split.ts';
import { trafficLines } from './view.ts';

export type PlaneKind = 'traefik' | 'istio-emulator';

/** Requests per version, as the clients saw them (errors: non-2xx/3xx answers). */
export interface VersionTraffic {
  version: string;
  requests: number;
  errors: number;
}

export interface DemoPlane {
  readonly kind: PlaneKind;
  /** host:port of the metrics the builtin checks read, for Prometheus to scrape. */
  readonly metricsTarget: string;
  /** The live view's traffic block (first line: what serves it). */
  trafficLines(versionOf: (replicaSet: string) => string | undefined): string[];
  /** ReplicaSets with an app process running. */
  running(): string[];
  /** ReplicaSets that answered requests in the last seconds. */
  serving(): string[];
  /** Requests per version in the last seconds. */
  traffic(): VersionTraffic[];
  /** Every request the clients sent since the start, by the version that answered (the real plane's load generator only). */
  clientTotals(): VersionTraffic[] | undefined;
  /** The split measured per weight Sluice wrote (the real plane only; the emulator's split is its own arithmetic). */
  splits(): SplitSegment[];
  stop(): Promise<void>;
}

/** The Istio emulator as a DemoPlane: its traffic is generated and split by itself, and labelled so. */
export function emulatorPlane(e: DataPlaneEmulator): DemoPlane {
  const byVersion = (): VersionTraffic[] => {
    const m = new Map<string, VersionTraffic>();
    for (const t of e.snapshot().traffic) {
      const v = m.get(t.version) ?? { version: t.version, requests: 0, errors: 0 };
      m.set(t.version, { version: t.version, requests: v.requests + t.requests, errors: v.errors + t.errors });
    }
    return [...m.values()];
  };
  return {
    kind: 'istio-emulator',
    metricsTarget: e.target,
    trafficLines: (versionOf) => trafficLines(e.snapshot(), versionOf),
    running: () => e.running().map((r) => r.replicaSet),
    serving: () => e.snapshot().traffic.filter((t) => t.requests > 0).map((t) => t.replicaSet),
    traffic: byVersion,
    clientTotals: () => undefined,
    splits: () => [],
    stop: () => e.stop(),
  };
}
