// `npm run chaos [-- --kills=N --fuzz=N --seed=N --skip-kills --skip-fuzz --skip-outages --bigrepo --soak --soak-minutes=N]`: the full reliability campaign.
// The outage tests (test/chaos/outages: apiserver and etcd stopped 30 s with 10 Rollouts and 5 Applications in flight,
// Prometheus 60 s, the Git server down 30 s, slow, force-pushed, its branch deleted, over the limits; with --bigrepo
// also a real 50,000-file and 500 MiB repository against the default limits) run after the kills.
// Fuzzing (10,000 inputs per target by default, test/chaos/fuzz/run.ts) runs beside the kill campaign, which runs as the jest integration test
// test/chaos/kills/kills.int.test.ts with test/chaos/hostile (1,000 generated Rollouts on the apiserver; the jest global
// setup starts the control plane), sized up through the environment,
// with a second, shorter campaign at the chart's default lease timings. Prints one table and writes
// test-results/chaos/chaos.json. `--soak` adds, last, the memory soak (test/chaos/soak: one operator process under
// continuous rollouts and syncs for --soak-minutes, 120 by default, its RSS sampled every minute, in a memory cgroup
// of the chart's limits.memory unless --memory-mib=0, since Node sizes its heap from that limit). What is not measured is null, with the reason beside it. Exit 1 on any violation,
// wrong end state or crash.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { TargetReport } from './fuzz/targets.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'test-results', 'chaos');

interface Args {
  kills: number;
  defaultLeaseKills: number;
  fuzz: number;
  seed: number;
  skipKills: boolean;
  skipFuzz: boolean;
  skipOutages: boolean;
  bigRepo: boolean;
  soak: boolean;
  soakMinutes: number;
  /** The soak's and the big-repository run's operator runs in a memory cgroup of this size (0: none); by default the chart's limits.memory. */
  memoryMiB: number;
}

/** The chart's default `resources.limits.memory` in MiB (Mi or Gi), which a pod's Node sizes its heap from. */
function chartMemoryLimitMiB(): number {
  const values = parseYaml(readFileSync(join(ROOT, 'charts', 'sluice', 'values.yaml'), 'utf8')) as { resources?: { limits?: { memory?: string } } };
  const limit = values.resources?.limits?.memory ?? '';
  const m = /^(\d+)(Mi|Gi)$/.exec(limit);
  if (m === null) throw new Error(`charts/sluice/values.yaml: resources.limits.memory: expected <n>Mi or <n>Gi, got ${JSON.stringify(limit)}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { kills: 200, defaultLeaseKills: 10, fuzz: 10_000, seed: Date.now() % 1_000_000, skipKills: false, skipFuzz: false, skipOutages: false, bigRepo: false, soak: false, soakMinutes: 120, memoryMiB: chartMemoryLimitMiB() };
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const num = (): number => {
      const n = Number(m?.[2]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${arg}: expected a whole number`);
      return n;
    };
    if (m === null) throw new Error(`unexpected argument ${arg}`);
    else if (m[1] === 'kills') a.kills = num();
    else if (m[1] === 'default-lease-kills') a.defaultLeaseKills = num();
    else if (m[1] === 'fuzz') a.fuzz = num();
    else if (m[1] === 'seed') a.seed = num();
    else if (m[1] === 'skip-kills') a.skipKills = true;
    else if (m[1] === 'skip-fuzz') a.skipFuzz = true;
    else if (m[1] === 'skip-outages') a.skipOutages = true;
    else if (m[1] === 'bigrepo') a.bigRepo = true;
    else if (m[1] === 'soak') a.soak = true;
    else if (m[1] === 'soak-minutes') a.soakMinutes = num();
    else if (m[1] === 'memory-mib') a.memoryMiB = num();
    else throw new Error(`unknown flag ${arg}`);
  }
  return a;
}

interface KillFigures {
  kills: number;
  violations: unknown[];
  stepProblems: string[];
  wrongEndStates: string[];
  takeoverP50S: number | null;
  takeoverP99S: number | null;
  leaseSeconds: number[];
  measurements: { lost: number; doubleCounted: number; runs: number };
  revisions: { promoted: number; aborted: number };
  unexpectedExits: string[];
  blueGreenRevisions?: number;
  gitops?: { apps: number; revisions: number; drifts: number };
}

/** A child process with inherited output; resolves to its exit code. */
function run(args: string[], env: Record<string, string> = {}): Promise<number | null> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  return new Promise((r) => child.on('exit', (code) => r(code)));
}

const readJson = <T>(f: string): T | undefined => (existsSync(join(OUT, f)) ? (JSON.parse(readFileSync(join(OUT, f), 'utf8')) as T) : undefined);

interface KillRun {
  main?: KillFigures;
  defaults?: KillFigures;
  error?: string;
}

function lastKills(): KillRun | undefined {
  const main = readJson<KillFigures>('kills.json');
  return main === undefined ? undefined : { main, defaults: readJson<KillFigures>('kills-default.json') };
}

function lastFuzz(): TargetReport[] | undefined {
  return readJson<{ targets: TargetReport[] }>('fuzz.json')?.targets;
}

async function runKills(a: Args): Promise<KillRun> {
  for (const f of ['kills.json', 'kills-default.json', 'hostile.json']) rmSync(join(OUT, f), { force: true });
  const code = await run(['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', 'node_modules/jest/bin/jest.js', 'test/chaos/kills', 'test/chaos/hostile', '--selectProjects', 'integration'], {
    SLUICE_CHAOS_KILLS: String(a.kills),
    SLUICE_CHAOS_HEALTHY: '8',
    SLUICE_CHAOS_FAILING: '4',
    SLUICE_CHAOS_BLUEGREEN: '2',
    SLUICE_CHAOS_APPS: '5',
    SLUICE_CHAOS_DEFAULT_LEASE_KILLS: String(a.defaultLeaseKills),
    SLUICE_CHAOS_HOSTILE: '1000',
  });
  return { main: readJson<KillFigures>('kills.json'), defaults: readJson<KillFigures>('kills-default.json'), ...(code !== 0 ? { error: `the kill campaign's test failed (exit ${code}); see its output above` } : {}) };
}

interface OutageFigures {
  name: string;
  downS: number;
  resumeS: number;
  details: Record<string, unknown>;
}

const OUTAGE_FILES = ['outage-apiserver.json', 'outage-etcd.json', 'outage-prometheus.json', 'outage-git-down.json', 'outage-git-slow.json', 'outage-git-forcepush.json', 'outage-git-branch.json', 'outage-git-size.json', 'outage-git-bigrepo.json', 'outage-git-bigrepo-raised.json'] as const;

/** The outage tests (test/chaos/outages), at the issue's durations; each writes its figures beside chaos.json. */
async function runOutages(a: Args): Promise<string | undefined> {
  for (const f of OUTAGE_FILES) rmSync(join(OUT, f), { force: true });
  const code = await run(['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', 'node_modules/jest/bin/jest.js', 'test/chaos/outages', '--selectProjects', 'integration', '--runInBand'], {
    SLUICE_CHAOS_APISERVER_DOWN: '30',
    SLUICE_CHAOS_ETCD_DOWN: '30',
    SLUICE_CHAOS_PROMETHEUS_DOWN: '60',
    SLUICE_CHAOS_GIT_DOWN: '30',
    SLUICE_CHAOS_OUTAGE_CANARIES: '7',
    SLUICE_CHAOS_OUTAGE_BLUEGREEN: '3',
    SLUICE_CHAOS_OUTAGE_APPS: '5',
    ...(a.bigRepo ? { SLUICE_CHAOS_BIGREPO: '1', ...(a.memoryMiB > 0 ? { SLUICE_CHAOS_MEMORY_LIMIT_MIB: String(a.memoryMiB) } : {}) } : {}),
  });
  return code === 0 ? undefined : `the outage tests failed (exit ${code}); see their output above`;
}

function outage(name: string, file: (typeof OUTAGE_FILES)[number], reason: string): { name: string; resumeS: number | null; downS?: number; details?: Record<string, unknown>; reason?: string } {
  const o = readJson<OutageFigures>(file);
  return o === undefined ? { name, resumeS: null, reason } : { name: o.name, downS: o.downS, resumeS: o.resumeS, details: o.details };
}

/** The soak's figures, as test/chaos/soak/soak.int.test.ts writes them (the samples themselves: soak-rss.jsonl). */
interface SoakFigures {
  minutes: number;
  samples: unknown[];
  warmupMinutes: number;
  slopeSamples: number;
  soakSlopeMiBPerHour: number | null;
  heapLimitMiB?: number;
  memoryLimitMiB?: number | null;
  heapUsedSlopeMiBPerHour?: number | null;
  rssMiB: { first: number | null; min: number | null; max: number | null; last: number | null };
  violations: unknown[];
  stepProblems: string[];
  wrongEndStates: string[];
  revisions: { promoted: number; aborted: number; blueGreen: number };
  gitops: { apps: number; revisions: number; drifts: number };
  operatorExit: string | null;
}

/** The memory soak: one operator process, RSS every minute; the slope is fitted after a 10-minute warm-up. */
async function runSoak(a: Args): Promise<{ figures?: SoakFigures; error?: string }> {
  rmSync(join(OUT, 'soak.json'), { force: true });
  const code = await run(['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', 'node_modules/jest/bin/jest.js', 'test/chaos/soak', '--selectProjects', 'integration'], {
    SLUICE_SOAK_MINUTES: String(a.soakMinutes),
    SLUICE_SOAK_SAMPLE_S: '60',
    SLUICE_SOAK_WARMUP_MINUTES: '10',
    SLUICE_CHAOS_HEALTHY: '6',
    SLUICE_CHAOS_FAILING: '3',
    SLUICE_CHAOS_BLUEGREEN: '1',
    SLUICE_CHAOS_APPS: '3',
    ...(a.memoryMiB > 0 ? { SLUICE_SOAK_MEMORY_LIMIT_MIB: String(a.memoryMiB) } : {}),
  });
  return { figures: readJson<SoakFigures>('soak.json'), ...(code !== 0 ? { error: `the soak's test failed (exit ${code}); see its output above` } : {}) };
}

async function runFuzz(a: Args): Promise<TargetReport[] | undefined> {
  rmSync(join(OUT, 'fuzz.json'), { force: true });
  await run(['test/chaos/fuzz/run.ts', String(a.fuzz), String(a.seed)]);
  return lastFuzz();
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  mkdirSync(OUT, { recursive: true });
  // Side by side: the fuzzer is pure CPU, the kill campaign mostly waits on leases and the apiserver.
  // A skipped half reports the figures of its last run, if any (so one half can be re-run alone).
  const [fuzz, kills] = await Promise.all([a.skipFuzz ? lastFuzz() : runFuzz(a), a.skipKills ? lastKills() : runKills(a)]);
  // After the kills, not beside them: the outages stop a control plane and time the return.
  const outageError = a.skipOutages ? undefined : await runOutages(a);
  // Last and alone: the soak's RSS should not share the machine with the campaign's own other halves.
  const soak = a.soak ? await runSoak(a) : undefined;
  const sk = soak?.figures;
  const k = kills?.main;
  const notRun = a.skipOutages ? 'not run (--skip-outages) and no earlier figures' : (outageError ?? 'no figures written');
  const result = {
    kills: k?.kills ?? null,
    violations: k === undefined ? null : k.violations.length + k.stepProblems.length,
    wrongEndStates: k === undefined ? null : k.wrongEndStates.length,
    takeoverP50S: k?.takeoverP50S ?? null,
    takeoverP99S: k?.takeoverP99S ?? null,
    outages: [
      outage('kube-apiserver stopped 30 s (10 Rollouts, 5 Applications)', 'outage-apiserver.json', notRun),
      outage('etcd stopped 30 s (10 Rollouts, 5 Applications)', 'outage-etcd.json', notRun),
      outage('Prometheus stopped 60 s', 'outage-prometheus.json', notRun),
      outage('Git server down 30 s', 'outage-git-down.json', notRun),
      outage('Git server at 1 byte/s', 'outage-git-slow.json', notRun),
      outage('Git force-push rewriting the branch', 'outage-git-forcepush.json', notRun),
      outage('Git target branch deleted', 'outage-git-branch.json', notRun),
      outage('Git repository over the limits', 'outage-git-size.json', notRun),
      outage('Git repositories of 50,000 files and 500 MiB, default limits', 'outage-git-bigrepo.json', a.bigRepo ? notRun : 'not run (pass --bigrepo)'),
      outage('Git repository of 50,000 files, --git-max-files raised', 'outage-git-bigrepo-raised.json', a.bigRepo ? notRun : 'not run (pass --bigrepo)'),
    ],
    fuzz: fuzz === undefined ? null : { inputs: fuzz.reduce((s, t) => s + t.inputs, 0), crashes: fuzz.reduce((s, t) => s + t.crashes, 0), unlocated: fuzz.reduce((s, t) => s + t.unlocated, 0), seed: a.skipFuzz ? (readJson<{ seed: number }>('fuzz.json')?.seed ?? null) : a.seed, targets: fuzz },
    hostile: readJson<{ generated: number; accepted: number; invalid: number; unjudged: string[]; missingInvalid: string[]; operatorExited: boolean }>('hostile.json') ?? null,
    soakSlopeMiBPerHour: sk?.soakSlopeMiBPerHour ?? null,
    soakReason: !a.soak ? 'not run (pass --soak)' : sk === undefined ? (soak?.error ?? 'no figures written') : sk.soakSlopeMiBPerHour === null ? `fewer than 3 samples after the ${sk.warmupMinutes}-minute warm-up` : undefined,
    soak: sk === undefined ? null : { heapLimitMiB: sk.heapLimitMiB ?? null, memoryLimitMiB: sk.memoryLimitMiB ?? null, heapUsedSlopeMiBPerHour: sk.heapUsedSlopeMiBPerHour ?? null, minutes: sk.minutes, samples: sk.samples.length, warmupMinutes: sk.warmupMinutes, slopeSamples: sk.slopeSamples, rssMiB: sk.rssMiB, violations: sk.violations.length + sk.stepProblems.length, wrongEndStates: sk.wrongEndStates.length, revisions: sk.revisions, gitops: sk.gitops, operatorExit: sk.operatorExit, samplesFile: join(OUT, 'soak-rss.jsonl') },
    killDetails: k ?? (kills?.error !== undefined ? { error: kills.error } : null),
    reused: { kills: a.skipKills && k !== undefined, fuzz: a.skipFuzz && fuzz !== undefined },
    defaultLease: kills?.defaults ?? null,
  };
  writeFileSync(join(OUT, 'chaos.json'), JSON.stringify(result, null, 2));
  const f = (v: number | string | null | undefined): string => (v === null || v === undefined ? 'n/a' : String(v));
  const rows: [string, string][] = [
    ['leader kills', `${f(result.kills)} (lease ${k?.leaseSeconds.join('/') ?? 'n/a'} s)${a.skipKills && k !== undefined ? ' (last run)' : ''}`],
    ['invariant violations (observer)', f(result.violations)],
    ['wrong end states', f(result.wrongEndStates)],
    ['takeover p50 / p99', `${f(result.takeoverP50S)} s / ${f(result.takeoverP99S)} s`],
    ['takeover p50 / p99, chart defaults (15/10/2 s)', `${f(kills?.defaults?.takeoverP50S)} s / ${f(kills?.defaults?.takeoverP99S)} s over ${f(kills?.defaults?.kills)} kills`],
    ['AnalysisRun measurements lost / double-counted', k === undefined ? 'n/a' : `${k.measurements.lost} / ${k.measurements.doubleCounted} (of ${k.measurements.runs} runs)`],
    ['revisions promoted / aborted during kills', k === undefined ? 'n/a' : `${k.revisions.promoted} / ${k.revisions.aborted}`],
    ['blue-green revisions / Git revisions synced / drifts healed during kills', k === undefined ? 'n/a' : `${f(k.blueGreenRevisions)} / ${f(k.gitops?.revisions)} / ${f(k.gitops?.drifts)} (${f(k.gitops?.apps)} Applications)`],
    ...result.outages.map((o): [string, string] => [`resume after ${o.name}`, o.resumeS === null ? `n/a (${o.reason})` : `${o.resumeS} s${'details' in o && o.details !== undefined ? ` ${JSON.stringify(o.details)}` : ''}${a.skipOutages ? ' (last run)' : ''}`]),
    ['fuzz inputs / crashes / unlocated rejections', result.fuzz === null ? 'n/a' : `${result.fuzz.inputs} / ${result.fuzz.crashes} / ${result.fuzz.unlocated} (seed ${f(result.fuzz.seed)}${a.skipFuzz ? ', last run' : ''})`],
    ['hostile Rollouts applied / accepted / invalid / not judged', result.hostile === null ? 'n/a' : `${result.hostile.generated} / ${result.hostile.accepted} / ${result.hostile.invalid} / ${result.hostile.unjudged.length + result.hostile.missingInvalid.length}${result.hostile.operatorExited ? ' (the operator EXITED)' : ''}`],
    ['soak RSS slope', result.soakSlopeMiBPerHour === null ? `n/a (${result.soakReason})` : `${result.soakSlopeMiBPerHour} MiB/h over ${sk?.slopeSamples} samples after a ${sk?.warmupMinutes}-min warm-up (${sk?.minutes} min, RSS ${sk?.rssMiB.min}-${sk?.rssMiB.max} MiB; V8 heap in use: ${f(sk?.heapUsedSlopeMiBPerHour)} MiB/h; heap limit ${sk?.heapLimitMiB ?? 'n/a'} MiB, ${sk?.memoryLimitMiB ? `in a ${sk.memoryLimitMiB} MiB memory cgroup` : 'no memory limit'})`],
    ['soak violations / wrong end states / operator exit', result.soak === null ? 'n/a' : `${result.soak.violations} / ${result.soak.wrongEndStates} / ${result.soak.operatorExit ?? 'none'} (revisions promoted/aborted/blue-green ${result.soak.revisions.promoted}/${result.soak.revisions.aborted}/${result.soak.revisions.blueGreen}, Git ${result.soak.gitops.revisions}, drifts ${result.soak.gitops.drifts})`],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`\n${rows.map(([n, v]) => `${n.padEnd(width)}  ${v}`).join('\n')}\n\nwritten: ${join(OUT, 'chaos.json')}\n`);
  const bad = (result.hostile !== null && (result.hostile.operatorExited || result.hostile.unjudged.length + result.hostile.missingInvalid.length > 0)) || (result.violations ?? 0) > 0 || (result.wrongEndStates ?? 0) > 0 || (result.fuzz?.crashes ?? 0) > 0 || (result.fuzz?.unlocated ?? 0) > 0 || kills?.error !== undefined || outageError !== undefined || soak?.error !== undefined;
  return bad ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
