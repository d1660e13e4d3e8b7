// Runs the real operator (src/main.ts) as a child process, the way a Deployment would, with its logs in a file.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../cluster/ports.ts';
import { inCgroup, memoryCgroup } from './cgroup.ts';

const MAIN = resolve(import.meta.dirname, '..', '..', 'src', 'main.ts');

export interface OperatorProcess {
  child: ChildProcess;
  identity: string;
  metricsUrl: string;
  logFile: string;
  exited: Promise<number | null>;
  /** A metric's summed value from /metrics (0 when absent). */
  metric(name: string, labelMatch?: string): Promise<number>;
  kill(signal: NodeJS.Signals): void;
}

export interface OperatorOptions {
  /** Run the process in a memory cgroup with this limit, as a pod's `resources.limits.memory` would (root only). */
  memoryLimitMiB?: number;
}

/** `env` is added to this process's environment (e.g. webhook secrets, which the operator reads only from there). */
export async function startOperator(kubeconfig: string, identity: string, extraArgs: string[] = [], env: Record<string, string> = {}, opts: OperatorOptions = {}): Promise<OperatorProcess> {
  const port = await freePort();
  const logDir = resolve('test-results', 'operator-logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${identity}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  // The heap flag the image's ENTRYPOINT sets (Dockerfile), so tests run the operator as it runs in a pod.
  const argv = [process.execPath, '--max-semi-space-size=4', MAIN, `--kubeconfig=${kubeconfig}`, `--identity=${identity}`, `--metrics-addr=127.0.0.1:${port}`, ...extraArgs];
  const group = opts.memoryLimitMiB === undefined ? undefined : memoryCgroup(`sluice-test-${identity}`.slice(0, 60), opts.memoryLimitMiB);
  const cmd = group === undefined ? { command: argv[0] ?? '', args: argv.slice(1) } : inCgroup(group, argv);
  const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      group?.remove();
      r(code);
    }),
  );
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const metric = async (name: string, labelMatch = ''): Promise<number> => {
    const text = await (await fetch(metricsUrl)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(name) && (l[name.length] === '{' || l[name.length] === ' ') && l.includes(labelMatch))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  };
  // Ready once the probe server answers /readyz (caches synced).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`operator ${identity} exited with ${child.exitCode}; see ${logFile}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`operator ${identity} not ready after 30 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, identity, metricsUrl, logFile, exited, metric, kill: (s) => child.kill(s) };
}
