// Renders test-results/bench/judge.json as the Markdown table published in docs/judge.md:
//   node test/bench/judge/markdown.ts [test-results/bench/judge.json]
import { readFileSync } from 'node:fs';
import type { Row } from './bench.ts';
import { checkTargets, secs } from './report.ts';

const file = process.argv[2] ?? 'test-results/bench/judge.json';
const rows = JSON.parse(readFileSync(file, 'utf8')) as Row[];
const key = (r: Row) => JSON.stringify(r.cell);
const byCell = new Map<string, Partial<Record<Row['policy'], Row>>>();
for (const r of rows) byCell.set(key(r), { ...byCell.get(key(r)), [r.policy]: r });

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(1)}%`);
const err = (r: Row | undefined) => (r === undefined ? '—' : r.falseAbortRate !== null ? `FA ${pct(r.falseAbortRate)}` : `FP ${pct(r.falsePromotionRate)}`);
const time = (r: Row | undefined) => (r === undefined ? '—' : `${secs(r.medianDecideS)} (${secs(r.p90DecideS)})`);

const lines = [
  '| rps | share | metric | baseline 5xx | regression | tested ratio | Sluice: error rate | Sluice: median (p90) | Flagger: error rate | Flagger: median | Argo: error rate | Argo: median | SPRT floor |',
  '|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const p of byCell.values()) {
  const c = (p.sluice ?? p.sprt)?.cell;
  if (c === undefined) continue;
  lines.push(
    `| ${c.rps} | ${c.share * 100}% | ${c.metric} | ${(c.baseline * 100).toFixed(1)}% | ×${c.regression} | ${(p.sluice?.testedRatio ?? NaN).toFixed(1)} | ${err(p.sluice)} | ${time(p.sluice)} | ${err(p.flagger)} | ${secs(p.flagger?.medianDecideS ?? null)} | ${err(p.argo)} | ${secs(p.argo?.medianDecideS ?? null)} | ${secs(p.sprt?.medianDecideS ?? null, false)} |`,
  );
}
console.log(lines.join('\n'));
console.log('\nTargets (measured):\n');
for (const t of checkTargets(rows)) {
  console.log(`* **${t.ok ? 'met' : 'not met'}**: ${t.name}`);
  for (const d of t.detail) console.log(`  * ${d}`);
}
