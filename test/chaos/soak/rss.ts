// The soak's memory figures: a process's resident set read from /proc (what the kernel charges it, the figure a pod's
// memory limit is checked against), and the trend over the samples by least squares.
import { readFileSync } from 'node:fs';

export interface RssSample {
  /** Minutes since the soak's work began. */
  minute: number;
  rssMiB: number;
  /**
   * The V8 heap in use (the operator's sluice_nodejs_heap_size_used_bytes), when its /metrics answered: RSS also holds
   * heap V8 committed and keeps after a collection, so a leak of live objects shows here first.
   */
  heapUsedMiB?: number;
  atIso: string;
}

/** VmRSS of `pid` in MiB, from /proc/<pid>/status. Throws (naming the file) when the process is gone or the line is missing. */
export function readRssMiB(pid: number): number {
  const file = `/proc/${pid}/status`;
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  const m = line === undefined ? null : /^VmRSS:\s+(\d+)\s+kB$/.exec(line.trim());
  if (m === null) throw new Error(`${file}: no "VmRSS: <n> kB" line (a kernel thread, or not Linux?)`);
  return Number(m[1]) / 1024;
}

/**
 * Least-squares slope of RSS against time, in MiB per hour, over the samples taken at or after `warmupMinutes` (start-up,
 * the caches' first fill and the JIT's settling are not a trend). Null with fewer than 3 such samples: no line to fit.
 */
export function slopeMiBPerHour(samples: readonly RssSample[], warmupMinutes: number): { slope: number | null; used: number } {
  const xs = samples.filter((s) => s.minute >= warmupMinutes);
  if (xs.length < 3) return { slope: null, used: xs.length };
  const n = xs.length;
  const mx = xs.reduce((a, s) => a + s.minute / 60, 0) / n;
  const my = xs.reduce((a, s) => a + s.rssMiB, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const s of xs) {
    sxy += (s.minute / 60 - mx) * (s.rssMiB - my);
    sxx += (s.minute / 60 - mx) ** 2;
  }
  if (sxx === 0) return { slope: null, used: n };
  return { slope: sxy / sxx, used: n };
}
