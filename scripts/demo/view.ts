// The demo's live view: the Rollout as `kubectl sluice get rollout` renders it (src/cli/view), with the traffic the
// data plane measured underneath (the real one: the weight Sluice wrote beside the split Traefik produced). On a terminal the frame is redrawn in place and events scroll above it;
// elsewhere (CI logs, the e2e test) each change is one progress line.
import type { KubeClient } from '../../src/kube/client.ts';
import { fitToScreen } from '../../src/cli/view/live.ts';
import { describeStep, fetchRolloutSnapshot, renderRollout, type RolloutSnapshot } from '../../src/cli/view/rollout.ts';
import type { EmulatorSnapshot } from '../../test/dataplane/emulator.ts';
import type { DemoPlane } from './plane.ts';

export interface ViewOptions {
  client: KubeClient;
  namespace: string;
  rollout: string;
  plane: DemoPlane;
  /** Where lines go (stdout for the demo). */
  write: (text: string) => void;
  /** Redraw a frame in place (a terminal), or print progress lines only. */
  tty: boolean;
  /** The demo's start: progress lines carry seconds since it. */
  t0: number;
  /**
   * The terminal's size: a frame is cut to fit (a wrapped line would throw off the redraw's line count, and the
   * cursor cannot move above the screen).
   */
  size?: () => { rows?: number; columns?: number };
}

const pct = (n: number, d: number): string => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`);

/** Pure: the emulator's last seconds of traffic, one line per running revision. */
export function trafficLines(e: EmulatorSnapshot, versionOf: (replicaSet: string) => string | undefined = () => undefined): string[] {
  const total = e.traffic.reduce((s, t) => s + t.requests, 0);
  const weights = e.backends.map((b) => `${b.service} ${b.weight}`).join(' / ');
  const out = [`Traffic (data-plane EMULATOR, last ${e.windowSeconds}s; route weights ${weights || 'none yet'}):`];
  for (const t of e.traffic) {
    const p99 = t.p99Ms === undefined ? '-' : `${Math.round(t.p99Ms)}ms`;
    out.push(`  ${t.replicaSet.padEnd(18)} ${(versionOf(t.replicaSet) ?? t.version).padEnd(7)} ${pct(t.requests, total).padStart(6)} of requests  ${String(t.requests).padStart(4)} req  ${String(t.errors).padStart(3)} errors (${pct(t.errors, t.requests)})  p99 ${p99}`);
  }
  if (e.noUpstream > 0) out.push(`  ${e.noUpstream} requests found no running revision behind their Service (not reported, as a destination sidecar would not see them)`);
  return out;
}

/** Pure: a measured value as a person reads it: `[71.75373683822988]` → `71.8`. */
export function shortValue(v: string | undefined): string {
  if (v === undefined || v === '') return '-';
  try {
    const parsed: unknown = JSON.parse(v);
    const xs = Array.isArray(parsed) ? parsed : [parsed];
    if (xs.every((x) => typeof x === 'number')) return xs.map((x) => String(Math.round(x * 10) / 10)).join(',');
  } catch {
    // not JSON: shown as it is
  }
  return v;
}

/** Pure: one line saying where the rollout is; it changes exactly when something a person cares about changes. */
export function progressLine(s: RolloutSnapshot): string {
  const r = s.rollout;
  const steps = r.spec.strategy?.canary?.steps ?? [];
  const i = r.status?.currentStepIndex ?? 0;
  // Step numbers as the Steps list of the view shows them (0-based).
  const step = i < steps.length && steps[i] !== undefined ? `step ${i} ${describeStep(steps[i])}` : `all ${steps.length} steps done`;
  const weight = r.status?.canary?.weights?.canary?.weight ?? 0;
  const phase = `${r.status?.phase ?? 'Unknown'}${r.status?.abort === true ? ' (aborted)' : ''}`;
  const run = s.analysisRuns.filter((a) => a.metadata.labels?.['rollouts-pod-template-hash'] === r.status?.currentPodHash).at(-1);
  const runText =
    run === undefined
      ? ''
      : ` · analysis ${run.status?.phase ?? 'Pending'}${(run.status?.metricResults ?? [])
          .map((m) => ` ${m.name} ${(m.measurements ?? []).map((x) => `${shortValue(x.value)}${x.phase === 'Successful' ? '✔' : x.phase === 'Failed' ? '✖' : '?'}`).join(' ')}`)
          .join(';')}`;
  return `${phase} · ${step} · canary weight ${weight}%${runText}`;
}

export class LiveView {
  private readonly o: ViewOptions;
  private timer: NodeJS.Timeout | undefined;
  private frameLines = 0;
  private frame = '';
  private lastProgress = '';
  private lastTraffic = 0;
  private busy = false;
  last: RolloutSnapshot | undefined;

  constructor(o: ViewOptions) {
    this.o = o;
  }

  private stamp(): string {
    return `[${((Date.now() - this.o.t0) / 1000).toFixed(1).padStart(6)}s]`;
  }

  /** An event line: printed above the frame on a terminal. */
  log(line: string): void {
    this.clearFrame();
    this.o.write(`${this.stamp()} ${line}\n`);
    this.drawFrame();
  }

  start(): void {
    this.timer = setInterval(() => void this.refresh(), 500);
  }

  /** One refresh now (its progress line printed), after any running one. */
  async flush(): Promise<void> {
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    await this.refresh(true);
  }

  /** Stops refreshing; the final state stays printed (on a terminal as the frame, else rendered once). */
  async stop(): Promise<void> {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    await this.refresh(true);
    if (!this.o.tty && this.frame !== '') this.o.write(this.frame.replace(/^(?=.)/gm, '    '));
    this.frameLines = 0;
    this.frame = '';
  }

  private async refresh(final = false): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      let snap: RolloutSnapshot;
      try {
        snap = await fetchRolloutSnapshot(this.o.client, this.o.namespace, this.o.rollout);
      } catch {
        return; // not synced yet, or an apiserver hiccup: the next tick tries again
      }
      this.last = snap;
      const version = new Map(snap.replicaSets.map((rs) => [rs.metadata.name ?? '', (rs.spec?.template?.spec?.containers?.[0]?.image ?? '').replace(/^.*:/, '')]));
      const traffic = this.o.plane.trafficLines((n) => version.get(n));
      this.frame = renderRollout(snap, { now: Date.now(), barWidth: 30, maxRuns: 2, lastMeasurements: 3 }) + '\n' + traffic.join('\n') + '\n';
      const p = progressLine(snap);
      if (p !== this.lastProgress) {
        this.lastProgress = p;
        this.log(p);
      } else if (!this.o.tty && !final && Date.now() - this.lastTraffic > 5000 && traffic.length > 1) {
        this.lastTraffic = Date.now();
        this.o.write(`${this.stamp()} ${traffic.slice(1).map((l) => l.trim()).join(' | ')}\n`);
      } else {
        this.clearFrame();
        this.drawFrame();
      }
    } finally {
      this.busy = false;
    }
  }

  private clearFrame(): void {
    if (!this.o.tty || this.frameLines === 0) return;
    this.o.write(`\x1b[${this.frameLines}F\x1b[J`);
    this.frameLines = 0;
  }

  private drawFrame(): void {
    if (!this.o.tty || this.frame === '') return;
    const size = this.o.size?.() ?? {};
    const shown = fitToScreen(this.frame, size.rows, size.columns);
    this.o.write(shown);
    this.frameLines = shown.split('\n').length - 1;
  }
}
