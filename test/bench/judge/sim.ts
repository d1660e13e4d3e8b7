// One simulated canary run as Prometheus would see it: per revision several pods, each exporting a request counter
// split by status (ok / 5xx) and a latency histogram, scraped every 15 s. Poisson arrivals at a diurnal and swinging
// total rate, routed to the canary per request with the cell's share; pods differ in load and in 5xx rate (normalized
// so each revision's mean is the cell's rate: an A/A cell is a true null); a pod may restart (its counters reset,
// what it served since its last scrape is lost); scrapes go missing at random.
import { BUCKETS_MS, judgedEdge } from './latency.ts';
import { armModels, type Cell } from './cells.ts';
import type { Sample } from './promql.ts';
import { binomial, normal, poisson, type Rng } from './random.ts';
import type { SeriesSample } from '../../../src/analysis/judge/index.ts';

export const SCRAPE_S = 15;
export const CANARY_PODS = 2;
export const STABLE_PODS = 4;
export const MISSING_SCRAPE = 0.02;
export const RESTART_PROBABILITY = 0.5;
const NB = BUCKETS_MS.length + 1;

interface Pod {
  arm: 'canary' | 'stable';
  name: string;
  load: number;
  errorRate: number;
  buckets: number[];
  /** cumulative counters: ok, bad, then per latency bucket (non-cumulative over le) */
  cum: Float64Array;
  /** the last scraped values (what an instant query returns through Prometheus' lookback) */
  scraped: Float64Array;
  restartAt?: { scrape: number; fraction: number };
  keys: { ok: string; bad: string; total: string; within: string };
  /** canary pods: the scraped history per series for PromQL (ok, bad, le-cumulative buckets) */
  history?: Sample[][];
}

export interface Scrape {
  t: number;
  errors: SeriesSample[];
  latency: SeriesSample[];
}

function lognormalWeights(r: Rng, n: number, sigma: number): number[] {
  const w = Array.from({ length: n }, () => Math.exp(sigma * normal(r)));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

export class Simulation {
  readonly pods: Pod[] = [];
  private scrapeIndex = 0;
  private readonly phase1: number;
  private readonly phase2: number;
  private readonly edgeIndex = judgedEdge().index;

  readonly cell: Cell;
  private readonly r: Rng;

  constructor(cell: Cell, r: Rng) {
    this.cell = cell;
    this.r = r;
    const models = armModels(cell);
    for (const [arm, count] of [['canary', CANARY_PODS], ['stable', STABLE_PODS]] as const) {
      const load = lognormalWeights(r, count, 0.3);
      const m = lognormalWeights(r, count, 0.3);
      const mean = m.reduce((s, x, i) => s + x * (load[i] ?? 0), 0);
      for (let i = 0; i < count; i++) {
        const name = `${arm}-${i}`;
        const pod: Pod = {
          arm,
          name,
          load: load[i] ?? 0,
          errorRate: Math.min(1, (models[arm].errorRate * (m[i] ?? 0)) / mean),
          buckets: models[arm].buckets,
          cum: new Float64Array(2 + NB),
          scraped: new Float64Array(2 + NB),
          keys: { ok: `${name}/ok`, bad: `${name}/5xx`, total: `${name}/le=+Inf`, within: `${name}/le=${judgedEdge().ms}` },
        };
        if (arm === 'canary') pod.history = Array.from({ length: 2 + NB }, () => []);
        this.pods.push(pod);
      }
      // Stable pods have run for a while before the canary starts: arbitrary counter values.
      if (arm === 'stable') for (const p of this.pods.filter((x) => x.arm === 'stable')) p.cum[0] = Math.floor(r() * 1e6);
    }
    for (const arm of ['canary', 'stable'] as const) {
      if (r() < RESTART_PROBABILITY) {
        const pods = this.pods.filter((p) => p.arm === arm);
        const pod = pods[Math.floor(r() * pods.length)];
        if (pod !== undefined) pod.restartAt = { scrape: 1 + Math.floor(r() * 119), fraction: r() };
      }
    }
    this.phase1 = r() * 2 * Math.PI;
    this.phase2 = r() * 2 * Math.PI;
    for (const p of this.pods) p.scraped.set(p.cum);
    this.record(0);
  }

  /** Total requests per second at time t: a diurnal cycle and a 10-minute swing, shared by both revisions. */
  rpsAt(t: number): number {
    return this.cell.rps * (1 + 0.3 * Math.sin((2 * Math.PI * t) / 86400 + this.phase1)) * (1 + 0.2 * Math.sin((2 * Math.PI * t) / 600 + this.phase2));
  }

  /** Advance one scrape interval: serve requests, restart pods, scrape (some scrapes lost). */
  step(): Scrape {
    this.scrapeIndex++;
    const t = this.scrapeIndex * SCRAPE_S;
    const total = this.rpsAt(t - SCRAPE_S / 2) * SCRAPE_S;
    for (const p of this.pods) {
      const armShare = p.arm === 'canary' ? this.cell.share : 1 - this.cell.share;
      let lambda = total * armShare * p.load;
      if (p.restartAt?.scrape === this.scrapeIndex) {
        p.cum.fill(0); // what it served since its last scrape is lost with the old process
        lambda *= 1 - p.restartAt.fraction;
      }
      let n = 0;
      for (let b = 0; b < NB; b++) {
        const k = poisson(this.r, lambda * (p.buckets[b] ?? 0));
        p.cum[2 + b] = (p.cum[2 + b] ?? 0) + k;
        n += k;
      }
      const bad = binomial(this.r, n, p.errorRate);
      p.cum[0] = (p.cum[0] ?? 0) + n - bad;
      p.cum[1] = (p.cum[1] ?? 0) + bad;
      if (this.r() >= MISSING_SCRAPE) {
        p.scraped.set(p.cum);
        this.record(t, p);
      }
    }
    return this.look(t);
  }

  /** What the judge reads now: the last scraped value of every series. */
  look(t: number): Scrape {
    const errors: SeriesSample[] = [];
    const latency: SeriesSample[] = [];
    for (const p of this.pods) {
      const s = p.scraped;
      errors.push({ key: p.keys.ok, arm: p.arm, role: 'ok', value: s[0] ?? 0 }, { key: p.keys.bad, arm: p.arm, role: 'bad', value: s[1] ?? 0 });
      let within = 0;
      let all = 0;
      for (let b = 0; b < NB; b++) {
        all += s[2 + b] ?? 0;
        if (b <= this.edgeIndex) within += s[2 + b] ?? 0;
      }
      latency.push({ key: p.keys.total, arm: p.arm, role: 'total', value: all }, { key: p.keys.within, arm: p.arm, role: 'within', value: within });
    }
    return { t, errors, latency };
  }

  private record(t: number, only?: Pod): void {
    for (const p of only === undefined ? this.pods : [only]) {
      if (p.history === undefined) continue;
      const s = p.scraped;
      p.history[0]?.push({ t, v: s[0] ?? 0 });
      p.history[1]?.push({ t, v: s[1] ?? 0 });
      let cum = 0;
      for (let b = 0; b < NB; b++) {
        cum += s[2 + b] ?? 0;
        p.history[2 + b]?.push({ t, v: cum });
      }
    }
  }

  /** The canary's series for PromQL: ok and 5xx request counters, and le-cumulative buckets (the last is +Inf). */
  canarySeries(): { ok: Sample[][]; bad: Sample[][]; buckets: Sample[][][] } {
    const canary = this.pods.filter((p) => p.history !== undefined);
    return {
      ok: canary.map((p) => p.history?.[0] ?? []),
      bad: canary.map((p) => p.history?.[1] ?? []),
      buckets: Array.from({ length: NB }, (_, b) => canary.map((p) => p.history?.[2 + b] ?? [])),
    };
  }
}
