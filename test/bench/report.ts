// bench.json rows and the Markdown table of ratios. Figures are what one controller measured in one run; ratios are
// Sluice's figure over the peer's from the same run, so the machine's noise hits both sides alike.

export type Figures = Record<string, number | null>;

export interface Row {
  scenario: string;
  n: number;
  controller: string;
  figures: Figures;
  /** Sluice / peer for every figure both measured (only on Sluice's rows). */
  ratios?: Figures;
  /** Breakdowns (writes by resource and verb, ...), not compared. */
  detail?: Record<string, unknown>;
  notes?: string[];
}

/** What each figure means, its unit, and whether smaller is better (for the table's wording). */
export const FIGURES: Record<string, { label: string; unit: string }> = {
  createToHealthyS: { label: 'create → all Healthy', unit: 's' },
  updateToHealthyS: { label: 'new image → all Healthy again', unit: 's' },
  stepLatencyP50Ms: { label: 'step latency p50 (pause expiry → new weight seen)', unit: 'ms' },
  stepLatencyP99Ms: { label: 'step latency p99', unit: 'ms' },
  promoteLatencyP50Ms: { label: 'promotion latency p50 (last pause expiry → full promotion seen)', unit: 'ms' },
  promoteLatencyP99Ms: { label: 'promotion latency p99', unit: 'ms' },
  controllerWritesPerRollout: { label: 'writes per completed rollout (apiserver: Rollouts, ReplicaSets, Services, VirtualServices)', unit: '' },
  allWritesPerRollout: { label: 'writes per completed rollout (apiserver: everything, incl. pods, events, leases)', unit: '' },
  ownWritesPerRollout: { label: 'writes per completed rollout (controller\'s own request metric)', unit: '' },
  idleRssMiB: { label: 'RSS at idle (N Healthy; app synced)', unit: 'MiB' },
  peakRssMiB: { label: 'RSS peak during the update', unit: 'MiB' },
  rssGrowthMiB: { label: 'RSS growth over the update cycles (idle after last − idle after first)', unit: 'MiB' },
  updateCpuS: { label: 'CPU seconds during the update', unit: 's' },
  idleCpuPerMin: { label: 'CPU seconds per minute at idle, N Healthy', unit: 's' },
  firstSyncS: { label: 'first sync (apply → every object applied)', unit: 's' },
  changeAppliedS: { label: 'one-object change: push + webhook → applied', unit: 's' },
  noopRequests: { label: 'no-op refresh: apiserver requests', unit: '' },
  noopCpuS: { label: 'no-op refresh: CPU seconds', unit: 's' },
  driftHealS: { label: 'drift (kubectl edit of one object) → healed', unit: 's' },
};

export const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;

/** Adds `ratios` to each Sluice row against the peer row of the same scenario and N. */
export function withRatios(rows: Row[]): Row[] {
  return rows.map((r) => {
    if (r.controller !== 'sluice') return r;
    const peer = rows.find((p) => p !== r && p.scenario === r.scenario && p.n === r.n);
    if (peer === undefined) return r;
    const ratios: Figures = {};
    for (const [k, v] of Object.entries(r.figures)) {
      // A difference of two noisy readings (it can be negative): compared side by side, never as a ratio.
      if (k === 'rssGrowthMiB') continue;
      const q = ratio(v, peer.figures[k]);
      if (q !== null) ratios[k] = Math.round(q * 100) / 100;
    }
    return { ...r, ratios };
  });
}

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** One table per scenario and N: figure | Sluice | peer | Sluice/peer. */
export function markdown(rows: Row[]): string {
  const out: string[] = [];
  const groups = new Map<string, Row[]>();
  for (const r of rows) groups.set(`${r.scenario} N=${r.n}`, [...(groups.get(`${r.scenario} N=${r.n}`) ?? []), r]);
  for (const [title, group] of groups) {
    const sluice = group.find((r) => r.controller === 'sluice');
    const peer = group.find((r) => r.controller !== 'sluice');
    out.push(`### ${title}`, '', `| figure | Sluice | ${peer?.controller ?? 'peer'} | Sluice / ${peer?.controller ?? 'peer'} |`, '|---|---|---|---|');
    const keys = Object.keys(FIGURES).filter((k) => sluice?.figures[k] !== undefined || peer?.figures[k] !== undefined);
    for (const k of keys) {
      const f = FIGURES[k];
      const unit = f?.unit ? ` (${f.unit})` : '';
      const q = sluice?.ratios?.[k];
      out.push(`| ${f?.label ?? k}${unit} | ${fmt(sluice?.figures[k])} | ${fmt(peer?.figures[k])} | ${q === undefined || q === null ? '–' : `${q.toFixed(2)}×`} |`);
    }
    for (const r of group) for (const n of r.notes ?? []) out.push('', `- ${r.controller}: ${n}`);
    out.push('');
  }
  return out.join('\n');
}

/** The nearest-rank percentile (p in 0..100) of `xs`; null when empty. */
export function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i] ?? null;
}
