// The short fuzz campaign of `npm test`: every target, a few hundred generated inputs each, a fixed seed (so a failure
// reproduces with `node test/chaos/fuzz/run.ts <runs> <seed>`). `npm run chaos` runs 10,000 per target, random seeds.
import { describe, expect, it } from '@jest/globals';
import { fuzzTarget, TARGETS } from './targets.ts';

const RUNS = Number(process.env.SLUICE_FUZZ_RUNS ?? 200);
const SEED = Number(process.env.SLUICE_FUZZ_SEED ?? 16);

describe(`fuzz (${RUNS} inputs per target, seed ${SEED})`, () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))('%s: no uncaught exception; every rejection names its field or file:line', (_name, t) => {
    const r = fuzzTarget(t, RUNS, SEED);
    expect(r.inputs).toBe(RUNS);
    expect({ crashes: r.crashes, unlocated: r.unlocated, examples: r.examples }).toEqual({ crashes: 0, unlocated: 0, examples: [] });
  }, 180_000);
});
