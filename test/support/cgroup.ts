// A memory cgroup for one test process, so the operator runs under the memory limit a pod would give it. That matters
// for memory figures: Node sizes V8's heap from the cgroup's limit (uv_get_constrained_memory), and V8 lets the heap
// grow up to 4× its live size between collections when its limit is large (a host's 24 GiB) but only about 1.3–1.4×
// when it is the few hundred MiB a 1 GiB container gets. Root only (cgroup v1's memory controller, or v2 with the
// memory controller enabled for children); a caller that asks for a limit and cannot have one gets an error.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryCgroup {
  /** The file a process writes its own pid into to join the group. */
  procsFile: string;
  limitMiB: number;
  /** Removes the group (once its processes have exited). */
  remove(): void;
}

export class CgroupUnavailableError extends Error {
  override readonly name = 'CgroupUnavailableError';
}

const V1 = '/sys/fs/cgroup/memory';
const V2 = '/sys/fs/cgroup';

/** Creates `name` under the memory hierarchy with a hard limit of `limitMiB`. */
export function memoryCgroup(name: string, limitMiB: number): MemoryCgroup {
  if (!Number.isInteger(limitMiB) || limitMiB < 64) throw new CgroupUnavailableError(`memory limit: an integer number of MiB ≥ 64, got ${limitMiB}`);
  const bytes = String(limitMiB * 2 ** 20);
  const v2 = existsSync(join(V2, 'cgroup.controllers')) && readFileSync(join(V2, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('memory');
  const dir = v2 ? join(V2, name) : join(V1, name);
  try {
    if (!v2 && !existsSync(V1)) throw new Error(`neither ${V1} (cgroup v1) nor a cgroup v2 hierarchy with the memory controller`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'), bytes);
  } catch (err) {
    throw new CgroupUnavailableError(`cannot create a memory cgroup with a ${limitMiB} MiB limit at ${dir} (root and a writable cgroup hierarchy are needed; the soak runs without a limit with npm run chaos -- --memory-mib=0): ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    procsFile: join(dir, 'cgroup.procs'),
    limitMiB,
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        // still has a process (a zombie being reaped) or already gone: a leftover empty group costs nothing
      }
    },
  };
}

/**
 * The command that runs `argv` inside the group: a shell writes its own pid into the group, then execs the program,
 * which keeps the pid (so /proc/<pid> sampling still finds it) and starts already limited.
 */
export function inCgroup(group: MemoryCgroup, argv: string[]): { command: string; args: string[] } {
  return { command: '/bin/sh', args: ['-c', 'echo $$ > "$0" && exec "$@"', group.procsFile, ...argv] };
}
