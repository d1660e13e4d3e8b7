// `npm run bench:judge`: the sequential judge against Flagger's and Argo's defaults and the SPRT floor on simulated
// Prometheus series (see docs/judge.md). Options: --runs N (per cell, default 500), --quick (a corner grid, 100 runs),
// --seed S. Writes test-results/bench/judge.json. A benchmark, not a test: it exits 0 whatever the targets say.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { runCell, type Row } from './bench.ts';
import { fullGrid, quickGrid } from './cells.ts';
import { mix } from './random.ts';
import { cellTable, checkTargets } from './report.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '20261202' },
    out: { type: 'string', default: 'test-results/bench/judge.json' },
  },
});
const runs = Number(values.runs ?? (values.quick ? 100 : 500));
const seed = Number(values.seed);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);

const grid = fullGrid();
const cells = values.quick ? quickGrid() : grid;
const started = Date.now();
const rows: Row[] = [];
console.log(`judge benchmark: ${cells.length} cells x ${runs} runs, seed ${seed}`);
for (const [i, cell] of cells.entries()) {
  // The seed of a cell depends on its place in the full grid, so --quick replays the same runs as the full grid.
  const index = grid.findIndex((c) => JSON.stringify(c) === JSON.stringify(cell));
  const cellRows = runCell(cell, runs, mix(seed, index));
  rows.push(...cellRows);
  console.log(cellTable(cellRows));
  process.stderr.write(`[${i + 1}/${cells.length}] ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
console.log('\n== targets (measured)');
for (const t of checkTargets(rows)) {
  console.log(`${t.ok ? 'met    ' : 'NOT met'}  ${t.name}`);
  for (const d of t.detail) console.log(`         ${d}`);
}
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(rows, null, 1)}\n`);
console.log(`\nwrote ${values.out} (${rows.length} rows) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
