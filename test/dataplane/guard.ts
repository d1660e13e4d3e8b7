// Processes that must not outlive this one: test/cluster/watchdog.sh (the control plane's) watches this process and,
// should it die without cleaning up (SIGKILL, a killed jest worker), stops every process registered here.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const WATCHDOG = join(import.meta.dirname, '..', 'cluster', 'watchdog.sh');

export class ProcessGuard {
  private readonly dir: string;
  private readonly pids: string;

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    this.pids = join(this.dir, 'pids');
    writeFileSync(this.pids, '');
    spawn('bash', [WATCHDOG, String(process.pid), this.pids, this.dir], { stdio: 'ignore', detached: true }).unref();
  }

  /** `command` is the process's argv[0]: a recycled pid running something else is never signalled. */
  add(pid: number | undefined, command: string): void {
    if (pid !== undefined) appendFileSync(this.pids, `${pid} ${command}\n`);
  }

  /** Everything was stopped properly: nothing left for the watchdog (it exits with this process). */
  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
