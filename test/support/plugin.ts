// Runs the kubectl plugin the way a person does: the control plane's kubectl, with the directory holding
// bin/kubectl-sluice first on PATH, so kubectl finds the plugin and runs `kubectl sluice …` through it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { CLUSTER_ENV } from '../cluster/env.ts';
import { kubeconfigPath } from './cluster.ts';

export const PLUGIN_DIR = join(import.meta.dirname, '..', '..', 'bin');

export interface PluginResult {
  stdout: string;
  stderr: string;
  code: number;
}

function kubectlBin(): string {
  const dir = process.env[CLUSTER_ENV.binDir];
  if (dir === undefined || dir === '') throw new Error(`${CLUSTER_ENV.binDir} is not set: run under the jest "integration" project`);
  return join(dir, 'kubectl');
}

/** PATH with the plugin first, then the Node running the tests (the plugin's `#!/usr/bin/env node`). */
export function pluginEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _jestNodeOptions, ...env } = process.env;
  return { ...env, PATH: [PLUGIN_DIR, dirname(process.execPath), process.env.PATH ?? ''].join(':'), KUBECONFIG: kubeconfigPath(), ...extra };
}

/** `kubectl sluice ARGS…` (KUBECONFIG points at the test cluster); resolves with its output and exit code. */
export function sluice(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; interruptAfterMs?: number } = {}): Promise<PluginResult> {
  return new Promise((resolve) => {
    const child = execFile(kubectlBin(), ['sluice', ...args], { env: pluginEnv(opts.env), timeout: opts.timeoutMs ?? 120_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ stdout, stderr, code });
    });
    // kubectl execs the plugin in its own process, so the signal reaches the plugin as Ctrl-C would.
    if (opts.interruptAfterMs !== undefined) setTimeout(() => child.kill('SIGINT'), opts.interruptAfterMs);
  });
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `kubectl sluice ARGS…` on a pseudo-terminal (util-linux `script`), `columns` wide: stdout is what the terminal
 * received, escape sequences included.
 */
export function sluiceOnTty(args: string[], columns = 120): Promise<PluginResult> {
  const command = `stty cols ${columns} rows 60; exec ${[kubectlBin(), 'sluice', ...args].map(shellQuote).join(' ')}`;
  return new Promise((resolve) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: pluginEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? 1 }));
  });
}

/** `kubectl sluice dashboard --port 0 ARGS…` left running: resolves with the address it prints (token included). */
export function startPluginDashboard(args: string[], env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(kubectlBin(), ['sluice', 'dashboard', '--port', '0', ...args], { env: pluginEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Sluice dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)\n/.exec(out);
      if (m?.[1] !== undefined) resolve({ url: m[1], child });
    });
    child.on('exit', (code) => reject(new Error(`kubectl sluice dashboard exited ${code}: ${err}`)));
  });
}
