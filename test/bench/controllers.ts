// The controllers under test, each a child process on the shared control plane with its defaults: Sluice
// (src/main.ts, as the tests and the demo start it) and Argo Rollouts (the binary peers/build.sh builds).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePorts } from '../cluster/ports.ts';
import { waitFor } from '../support/wait.ts';
import { startOperator } from '../support/operator-process.ts';
import { sumBy, total, WRITE_VERBS, type Counts } from './promtext.ts';

export type ControllerName = 'sluice' | 'argo-rollouts';

export interface Controller {
  name: ControllerName;
  pid: number;
  logFile: string;
  /** The controller's own apiserver requests, keyed "<kind?> <VERB>", writes only. */
  ownWrites(): Promise<Counts>;
  /** Every apiserver request the controller counted itself (reads and watches too). */
  ownRequests(): Promise<number>;
  stop(): Promise<void>;
}

export interface Plane {
  kubeconfig: string;
  kubectl(args: string[], input?: string): Promise<string>;
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));

async function terminate(child: ChildProcess): Promise<void> {
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(timer);
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.text();
}

export async function startSluice(plane: Plane, identity: string, args: string[] = [], env: Record<string, string> = {}): Promise<Controller & { metricsUrl: string }> {
  const op = await startOperator(plane.kubeconfig, identity, args, env);
  const pid = op.child.pid;
  if (pid === undefined) throw new Error('sluice: no pid');
  return {
    name: 'sluice',
    pid,
    logFile: op.logFile,
    metricsUrl: op.metricsUrl,
    ownWrites: async () => sumBy(await scrape(op.metricsUrl), 'sluice_apiserver_requests_total', (l) => (WRITE_VERBS.has((l.verb ?? '').toUpperCase()) ? `all ${(l.verb ?? '').toUpperCase()}` : undefined)),
    ownRequests: async () => total(sumBy(await scrape(op.metricsUrl), 'sluice_apiserver_requests_total', () => 'all')),
    stop: () => terminate(op.child),
  };
}

const ARGO_NAMESPACE = 'argo-rollouts';
const ARGO_LEASE = 'argo-rollouts-controller-lock';

/** Builds (or finds in the cache) the Argo Rollouts controller; returns the binary and the module's CRD directory. */
export function buildArgo(): { binary: string; crds: string } {
  const r = spawnSync('bash', [resolve(import.meta.dirname, 'peers', 'build.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`test/bench/peers/build.sh failed (exit ${r.status ?? r.signal})`);
  const lines = r.stdout.trim().split('\n');
  const bin = lines.at(-1) ?? '';
  const moduleDir = (lines.find((l) => l.startsWith('argo-module ')) ?? '').slice('argo-module '.length);
  return { binary: join(bin, 'rollouts-controller'), crds: join(moduleDir, 'manifests', 'crds') };
}

/**
 * Argo Rollouts with its default flags, except: free ports for metrics and healthz (it binds every interface; we only
 * ever connect to 127.0.0.1), and --istio-api-version=v1beta1 because the stand-in Istio CRDs serve only v1beta1
 * (real Istio serves v1alpha3 too). Its leader-election Lease is never released on exit, so a stale one is deleted first.
 */
export async function startArgo(plane: Plane, binary: string, logDir: string): Promise<Controller> {
  await plane.kubectl(['create', 'namespace', ARGO_NAMESPACE]).catch(() => undefined);
  await plane.kubectl(['delete', 'lease', ARGO_LEASE, '-n', ARGO_NAMESPACE, '--ignore-not-found']);
  const [metricsPort, healthzPort] = await freePorts(2);
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, 'argo-rollouts.log');
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(binary, [`--kubeconfig=${plane.kubeconfig}`, `--metricsPort=${metricsPort}`, `--healthzPort=${healthzPort}`, '--istio-api-version=v1beta1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, POD_NAMESPACE: ARGO_NAMESPACE },
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${binary}`);
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  try {
    await waitFor(`argo-rollouts healthz on 127.0.0.1:${healthzPort} (log: ${logFile})`, async () => {
      if (child.exitCode !== null) throw new Error(`argo-rollouts exited with ${child.exitCode}; see ${logFile}`);
      return (await fetch(`http://127.0.0.1:${healthzPort}/healthz`).catch(() => undefined))?.status === 200;
    }, 60_000, 200);
    await waitFor('argo-rollouts to take its leader Lease', async () => {
      const holder = await plane.kubectl(['get', 'lease', ARGO_LEASE, '-n', ARGO_NAMESPACE, '--ignore-not-found', '-o', 'jsonpath={.spec.holderIdentity}']);
      return holder.trim() !== '';
    }, 60_000, 250);
  } catch (err) {
    await terminate(child);
    throw err;
  }
  return {
    name: 'argo-rollouts',
    pid,
    logFile,
    ownWrites: async () =>
      sumBy(await scrape(metricsUrl), 'controller_clientset_k8s_request_total', (l) => {
        const verb = (l.verb ?? '').toUpperCase();
        // argoproj/pkg takes the "kind" from the URL's last segment: a write to /rollouts/<name> is labelled
        // with the Rollout's name (the bench names them r00000…), a create with "".
        const kind = /^r\d{5}$/.test(l.kind ?? '') ? 'rollouts' : l.kind || '(create)';
        return WRITE_VERBS.has(verb) ? `${kind} ${verb}` : undefined;
      }),
    ownRequests: async () => total(sumBy(await scrape(metricsUrl), 'controller_clientset_k8s_request_total', () => 'all')),
    stop: () => terminate(child),
  };
}
