// Printing the benchmark: a small table per cell, and the targets of issue 14 checked against the rows.
import type { Row } from './bench.ts';
import { cellName, type Cell } from './cells.ts';
import { JUDGE_DEFAULTS, MAX_DURATION_S } from './policies.ts';
import { SCRAPE_S } from './sim.ts';

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);
export function secs(x: number | null, undecidedAsLate = true): string {
  if (x === null) return undecidedAsLate ? `>${MAX_DURATION_S / 60}m` : '—';
  if (x < 120) return `${Math.round(x)} s`;
  return `${(x / 60).toFixed(1)} m`;
}

export function cellTable(rows: readonly Row[]): string {
  const first = rows[0];
  if (first === undefined) return '';
  const head = `== ${cellName(first.cell)}  (tested ratio ${first.testedRatio.toFixed(2)})`;
  const lines = [head, '  policy   false-abort  false-promo  median    p90       aborted  passed'];
  for (const r of rows) {
    if (r.policy === 'sprt') {
      lines.push(`  sprt     ${'(floor: Wald expected time)'.padEnd(25)}  ${secs(r.medianDecideS, false).padEnd(8)}`);
      continue;
    }
    lines.push(
      `  ${r.policy.padEnd(8)} ${pct(r.falseAbortRate).padEnd(12)} ${pct(r.falsePromotionRate).padEnd(12)} ${secs(r.medianDecideS).padEnd(9)} ${secs(r.p90DecideS).padEnd(9)} ${pct(r.abortRate).padEnd(8)} ${pct(r.passRate)}`,
    );
  }
  return lines.join('\n');
}

export interface TargetCheck {
  name: string;
  ok: boolean;
  detail: string[];
}

const sameCell = (a: Cell, b: Cell) => a.rps === b.rps && a.share === b.share && a.baseline === b.baseline && a.regression === b.regression && a.metric === b.metric;

/** The targets of issue 14, measured (a benchmark result, not a test: some targets may be out of reach). */
export function checkTargets(rows: readonly Row[]): TargetCheck[] {
  const sluice = rows.filter((r) => r.policy === 'sluice');
  const floorOf = (c: Cell) => rows.find((r) => r.policy === 'sprt' && sameCell(r.cell, c))?.medianDecideS ?? null;
  const aa = sluice.filter((r) => r.falseAbortRate !== null);
  const worstAA = Math.max(0, ...aa.map((r) => r.falseAbortRate ?? 0));
  const bigReg = sluice.filter((r) => r.falsePromotionRate !== null && r.testedRatio >= JUDGE_DEFAULTS.maxRatio);
  const promoFails = bigReg.filter((r) => (r.falsePromotionRate ?? 0) > JUDGE_DEFAULTS.beta);
  const slow = sluice.filter((r) => {
    const floor = floorOf(r.cell);
    if (r.falsePromotionRate === null || floor === null || floor >= MAX_DURATION_S || r.testedRatio <= 1) return false;
    // The median over all runs (a run not aborted counts as late), not only over the aborted ones.
    return r.medianDecideS === null || r.medianDecideS > 2 * floor + SCRAPE_S;
  });
  const fast = sluice.filter((r) => r.cell.metric === 'errors' && r.cell.rps >= 100 && r.cell.share === 0.2 && r.cell.regression === 10);
  return [
    {
      name: `A/A false-abort rate <= alpha (${JUDGE_DEFAULTS.alpha}) in every cell`,
      ok: aa.every((r) => (r.falseAbortRate ?? 0) <= JUDGE_DEFAULTS.alpha),
      detail: [`worst ${pct(worstAA)} over ${aa.length} A/A cells`, ...aa.filter((r) => (r.falseAbortRate ?? 0) > JUDGE_DEFAULTS.alpha).map((r) => `${cellName(r.cell)}: ${pct(r.falseAbortRate)}`)],
    },
    {
      name: `false promotion of regressions >= maxRatio (${JUDGE_DEFAULTS.maxRatio}) <= beta (${JUDGE_DEFAULTS.beta})`,
      ok: promoFails.length === 0,
      detail: [`worst ${pct(Math.max(0, ...bigReg.map((r) => r.falsePromotionRate ?? 0)))} over ${bigReg.length} cells`, ...promoFails.map((r) => `${cellName(r.cell)}: ${pct(r.falsePromotionRate)}`)],
    },
    {
      name: 'median time to abort <= 2 x SPRT floor + one scrape, where the floor is under maxDuration',
      ok: slow.length === 0,
      detail: slow.map((r) => `${cellName(r.cell)}: median ${secs(r.medianDecideS)} (aborted ${pct(r.abortRate)}), floor ${secs(floorOf(r.cell), false)} (limit ${secs(2 * (floorOf(r.cell) ?? 0) + SCRAPE_S, false)})`),
    },
    {
      name: '>= 100 rps, 20% share, x10 5xx regression aborted in <= 1 minute (median)',
      ok: fast.every((r) => r.medianDecideS !== null && r.medianDecideS <= 60 && r.abortRate === 1),
      detail: fast.map((r) => `${cellName(r.cell)}: median ${secs(r.medianDecideS)}, p90 ${secs(r.p90DecideS)}, aborted ${pct(r.abortRate)}`),
    },
  ];
}
