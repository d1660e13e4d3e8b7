// `node test/chaos/fuzz/run.ts [runs] [seed]`: every fuzz target, `runs` inputs each (10,000 by default); prints a
// line per target and the first examples of what went wrong; writes test-results/chaos/fuzz.json. Exit 1 on a crash or
// an unlocated rejection.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fuzzTarget, TARGETS, type TargetReport } from './targets.ts';

const OUT = resolve(import.meta.dirname, '..', '..', '..', 'test-results', 'chaos');

export function fuzzAll(runs: number, seed: number, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): TargetReport[] {
  const reports: TargetReport[] = [];
  for (const t of TARGETS) {
    const started = Date.now();
    const r = fuzzTarget(t, runs, seed);
    reports.push(r);
    log(`fuzz ${t.name.padEnd(22)} ${String(r.inputs).padStart(6)} inputs  ${r.crashes} crashes  ${r.unlocated} unlocated  ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const e of r.examples) log(`    ${e.replace(/\n/g, '\n    ')}`);
  }
  return reports;
}

if (import.meta.main) {
  const runs = Number(process.argv[2] ?? 10_000);
  const seed = Number(process.argv[3] ?? Date.now() % 1_000_000);
  process.stderr.write(`seed ${seed}\n`);
  const reports = fuzzAll(runs, seed);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'fuzz.json'), JSON.stringify({ seed, runs, targets: reports }, null, 2));
  process.exit(reports.some((r) => r.crashes > 0 || r.unlocated > 0) ? 1 : 0);
}
