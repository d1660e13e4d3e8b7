import { execFile, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderKubeconfig } from './kubeconfig.ts';
import { apiserverURL, componentSpecs, paths, PORT_NAMES, type Layout, type Ports } from './layout.ts';
import { createPKI } from './pki.ts';
import { freePorts } from './ports.ts';
import { killNow, startProcess, stopProcess, waitHealthy, type Running } from './process.ts';
import { renderNodes } from './nodes.ts';
import { composeStages } from './stages.ts';
import { waitFor } from '../support/wait.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface ControlPlane {
  dir: string;
  binDir: string;
  server: string;
  kubeconfig: string;
  logDir: string;
  processes: Running[];
  /** Runs the kubectl built with the control plane (same version as the server) against it. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** Stops one component and starts it again with the same flags and ports (outage tests). */
  restart(name: string, downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  binDir: string;
  /** How many kwok nodes to create. */
  nodes?: number;
  /** Outlive this process (npm run cluster:up); otherwise a watchdog kills the plane when this process dies. */
  detached?: boolean;
  /** The state directory (certificates, etcd data, kubeconfig); a fresh temporary one by default. Must be empty. */
  dir?: string;
  /** Where the components' logs go; defaults to `<state dir>/logs`. */
  logDir?: string;
  /** Called with each step, for people watching a start-up. */
  progress?: (msg: string) => void;
}

/** Builds the binaries if needed (see build.sh) and returns their directory. */
export function ensureBinaries(): Promise<string> {
  return runBuildScript(join(here, 'build.sh'));
}

/** Runs a build script whose last line on stdout is the bin directory it built (or found cached), and returns it. */
export function runBuildScript(script: string): Promise<string> {
  return new Promise((res, rej) => {
    // stderr passes through: a cold build takes minutes and says so.
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', rej);
    child.on('exit', (code) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir !== '') res(dir);
      else rej(new Error(`${script} failed (exit ${code ?? 'signal'})`));
    });
  });
}

const STATE_VERSION = 1;

interface State {
  version: number;
  dir: string;
  binDir: string;
  server: string;
  kubeconfig: string;
  logDir: string;
  ports: Ports;
  processes: { name: string; pid: number; command: string; logFile: string }[];
}

export async function startControlPlane(opts: StartOptions): Promise<ControlPlane> {
  const progress = opts.progress ?? ((): void => undefined);
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'sluice-cp-')));
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length > 0) throw new Error(`control plane state directory ${dir} is not empty`);
  const p = paths(dir);
  const logDir = resolve(opts.logDir ?? p.logs);
  mkdirSync(logDir, { recursive: true });
  const portList = await freePorts(PORT_NAMES.length);
  const ports = Object.fromEntries(PORT_NAMES.map((n, i) => [n, portList[i]])) as unknown as Ports;
  const layout: Layout = { dir, binDir: opts.binDir, ports };
  const server = apiserverURL(ports);
  const processes: Running[] = [];
  const pidsFile = join(dir, 'pids');
  writeFileSync(pidsFile, '');

  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const bin = join(opts.binDir, 'kubectl');
    return new Promise((res, rej) => {
      const child = execFile(bin, [`--kubeconfig=${p.kubeconfig}`, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err) rej(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`));
        else res(stdout);
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  };

  let stopped = false;
  const onExit = (): void => {
    for (const r of processes) killNow(r);
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    // Reverse order: clients first, etcd last, so nothing logs a storm of connection errors on the way down.
    for (const r of [...processes].reverse()) await stopProcess(r);
    rmSync(dir, { recursive: true, force: true });
  };

  if (!opts.detached) {
    process.on('exit', onExit);
    const wd = spawn('bash', [join(here, 'watchdog.sh'), String(process.pid), pidsFile, dir], { stdio: 'ignore', detached: true });
    wd.unref();
  }

  try {
    progress(`state in ${dir}, logs in ${logDir}`);
    await createPKI(dir);
    await writeFile(p.kubeconfig, renderKubeconfig({ server, caCertPath: p.caCert, clientCertPath: p.adminCert, clientKeyPath: p.adminKey }), { mode: 0o600 });
    await writeFile(p.kwokConfig, composeStages(await readFile(join(opts.binDir, '..', 'kwok-default-stages.yaml'), 'utf8')));
    const ca = await readFile(p.caCert);

    const start = (i: number): Running => {
      const spec = componentSpecs(layout)[i];
      if (spec === undefined) throw new Error(`no component ${i}`);
      const r = startProcess(spec, logDir, opts.detached ?? false);
      processes.push(r);
      appendFileSync(pidsFile, `${r.pid} ${r.command}\n`);
      return r;
    };
    const specs = componentSpecs(layout);
    const healthOf = (i: number) => specs[i]?.health;

    // etcd, then the apiserver, then its clients together.
    for (const i of [0, 1]) {
      const r = start(i);
      const h = healthOf(i);
      if (h) await waitHealthy(r, h, ca, 60_000);
      progress(`${r.name} ready`);
    }
    const rest = specs.slice(2).map((_, k) => start(k + 2));
    await Promise.all(
      rest.map(async (r, k) => {
        const h = healthOf(k + 2);
        if (h) await waitHealthy(r, h, ca, 60_000);
      }),
    );
    progress('kube-controller-manager, kube-scheduler and kwok started');

    await kubectl(['apply', '-f', '-'], renderNodes(opts.nodes ?? 2));
    await kubectl(['wait', '--for=condition=Ready', 'node', '--all', '--timeout=60s']);
    // Pods in the default namespace need its ServiceAccount, which the controller manager creates.
    await waitFor('the default ServiceAccount', async () => (await kubectl(['get', 'serviceaccount', 'default', '-n', 'default', '--ignore-not-found', '-o', 'name'])).trim() !== '', 30_000, 200);
    progress(`nodes Ready; API server at ${server}`);

    const state: State = {
      version: STATE_VERSION,
      dir,
      binDir: opts.binDir,
      server,
      kubeconfig: p.kubeconfig,
      logDir,
      ports,
      processes: processes.map(({ name, pid, command, logFile }) => ({ name, pid, command, logFile })),
    };
    writeFileSync(p.state, JSON.stringify(state, null, 2));
  } catch (err) {
    await stop();
    throw err;
  }
  const restart = async (name: string, downMs = 0): Promise<void> => {
    const i = processes.findIndex((r) => r.name === name);
    const spec = componentSpecs(layout).find((s) => s.name === name);
    const old = processes[i];
    if (old === undefined || spec === undefined) throw new Error(`no component ${name}`);
    await stopProcess(old);
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    const r = startProcess(spec, logDir, opts.detached ?? false);
    processes[i] = r;
    appendFileSync(pidsFile, `${r.pid} ${r.command}\n`);
    if (spec.health) await waitHealthy(r, spec.health, await readFile(p.caCert), 60_000);
  };
  return { dir, binDir: opts.binDir, server, kubeconfig: p.kubeconfig, logDir, processes, kubectl, restart, stop };
}

/** Stops a detached plane from its state file (npm run cluster:down). */
export async function stopFromState(stateFile: string): Promise<boolean> {
  let state: State;
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  } catch {
    return false;
  }
  if (state.version !== STATE_VERSION) throw new Error(`${stateFile}: unknown state version ${String(state.version)}`);
  for (const r of [...state.processes].reverse()) await stopProcess(r);
  rmSync(state.dir, { recursive: true, force: true });
  return true;
}
