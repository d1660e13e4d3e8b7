// Memory and CPU of a controller process, read from /proc the way `ps` does: VmRSS, and utime + stime in clock ticks.
import { readFileSync } from 'node:fs';

export interface ProcSample {
  rssBytes: number;
  cpuSeconds: number;
}

/** VmRSS from /proc/<pid>/status, in bytes. */
export function parseRss(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (m === null) throw new Error('no VmRSS line in /proc/<pid>/status');
  return Number(m[1]) * 1024;
}

/**
 * utime + stime (fields 14 and 15 of /proc/<pid>/stat) in seconds. The command name (field 2) may hold spaces and
 * parentheses, so fields are counted from the last ')'.
 */
export function parseCpuSeconds(stat: string, ticksPerSecond = 100): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('malformed /proc/<pid>/stat');
  return (utime + stime) / ticksPerSecond;
}

export function sampleProc(pid: number): ProcSample {
  return { rssBytes: parseRss(readFileSync(`/proc/${pid}/status`, 'utf8')), cpuSeconds: parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8')) };
}

/** Samples RSS every `everyMs` until stopped; returns the peak (and the CPU seconds spent meanwhile). */
export function peakSampler(pid: number, everyMs = 250): { stop(): { peakRssBytes: number; cpuSeconds: number } } {
  const first = sampleProc(pid);
  let peak = first.rssBytes;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, sampleProc(pid).rssBytes);
    } catch {
      // the process exited; the caller notices on its own
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const last = sampleProc(pid);
      return { peakRssBytes: Math.max(peak, last.rssBytes), cpuSeconds: last.cpuSeconds - first.cpuSeconds };
    },
  };
}
