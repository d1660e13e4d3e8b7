// The benchmark on a running control plane: every selected scenario for every selected controller, one controller at
// a time, and the rows with their ratios. run.ts (npm run bench) starts the plane; the smoke test uses the shared one.
import { cpus, totalmem, release } from 'node:os';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeClient } from '../../src/kube/client.ts';
import { ProcessGuard } from '../dataplane/guard.ts';
import type { BenchArgs } from './args.ts';
import { buildArgo, startArgo, startSluice, type Controller, type Plane } from './controllers.ts';
import { runGitops } from './gitops.ts';
import { markdown, withRatios, type Row } from './report.ts';
import { runRollouts } from './rollouts.ts';
import { upstreamCrdDir } from '../crds/upstream.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface BenchContext {
  plane: Plane;
  /** Directory of the control plane's binaries (its kubectl is the baseline's). */
  binDir: string;
  say: (line: string) => void;
  /** Appended to namespaces; when set, Sluice is scoped to the bench's namespaces (a control plane shared with tests). */
  suffix?: string;
  idleSeconds?: number;
  /** Settling pauses before memory readings, and the no-op refresh's window (default 3000 ms). */
  settleMs?: number;
}

export interface BenchResult {
  meta: Record<string, unknown>;
  rows: Row[];
  markdown: string;
}

async function installCrds(plane: Plane, dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    // Argo's manifests/crds is a kustomization (its kustomization.yaml is no object to apply).
    const source = existsSync(join(dir, 'kustomization.yaml')) ? ['-k', dir] : ['-f', dir];
    await plane.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=sluice-bench', ...source]);
    const names = await plane.kubectl(['get', ...source, '-o', 'name']);
    await plane.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names.split('\n').filter((l) => l !== '')]);
  }
}

function machine(): Record<string, unknown> {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    go: go.status === 0 ? go.stdout.trim() : 'unavailable',
    shared: 'yes: other agents build and test on the same cores; compare the ratios, not the seconds',
  };
}

/** A scenario that fails becomes a row saying why, so one failure does not lose the rest of the run. */
async function failed(scenario: string, n: number, controller: string, ctx: BenchContext, run: () => Promise<Row>): Promise<Row> {
  try {
    return await run();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.say(`FAILED ${scenario} N=${n} ${controller}: ${message}`);
    return { scenario, n, controller, figures: {}, notes: [`failed: ${message}`] };
  }
}

export async function runBench(args: BenchArgs, ctx: BenchContext): Promise<BenchResult> {
  const suffix = ctx.suffix ?? '';
  const scoped = suffix !== '';
  const logDir = resolve(args.out, 'logs');
  mkdirSync(logDir, { recursive: true });
  const client = KubeClient.fromDefault({ qps: 2000, burst: 4000 }, ctx.plane.kubeconfig);
  const guard = new ProcessGuard('sluice-bench');
  const rows: Row[] = [];
  const meta: Record<string, unknown> = { startedAt: new Date().toISOString(), args, machine: machine() };
  try {
    const rolloutScenarios = args.scenarios.filter((s) => s !== 'gitops');
    let argo: { binary: string; crds: string } | undefined;
    if (rolloutScenarios.length > 0 && args.controllers.includes('argo-rollouts')) {
      argo = buildArgo();
      meta.argoRollouts = { binary: argo.binary, crds: argo.crds };
    }
    await installCrds(ctx.plane, [join(ROOT, 'crds'), upstreamCrdDir(), ...(argo ? [argo.crds] : [])]);

    for (const variant of rolloutScenarios) {
      for (const controller of args.controllers) {
        ctx.say(`== ${variant}: N=${args.n} × ${args.replicas} pods, ${controller}`);
        const start = async (ns: string): Promise<Controller> => {
          if (controller === 'sluice') {
            const c = await startSluice(ctx.plane, `sluice-bench-${variant}${suffix}`, scoped ? [`--namespace=${ns}`] : []);
            guard.add(c.pid, process.execPath);
            return c;
          }
          if (argo === undefined) throw new Error('the Argo Rollouts peer was not built');
          const c = await startArgo(ctx.plane, argo.binary, logDir);
          guard.add(c.pid, argo.binary);
          return c;
        };
        rows.push(await failed(variant, args.n, controller, ctx, () => runRollouts({ plane: ctx.plane, client, variant, n: args.n, replicas: args.replicas, cycles: args.cycles, controller, suffix, idleSeconds: ctx.idleSeconds ?? 10, settleMs: ctx.settleMs ?? 3000, start, say: ctx.say })));
      }
    }
    if (args.scenarios.includes('gitops')) {
      for (const size of args.appSizes) {
        ctx.say(`== gitops: an app of ${size} objects, Sluice and kubectl apply --server-side`);
        const run = (): Promise<Row[]> => runGitops({ plane: ctx.plane, kubectlBin: join(ctx.binDir, 'kubectl'), client, size, suffix, scoped, settleMs: ctx.settleMs ?? 3000, guard: (pid, cmd) => guard.add(pid, cmd), say: ctx.say });
        rows.push(...(await run().catch(async (err: unknown) => [await failed('gitops', size, 'sluice', ctx, () => Promise.reject(err instanceof Error ? err : new Error(String(err))))])));
      }
    }
  } finally {
    guard.close();
  }
  meta.finishedAt = new Date().toISOString();
  const result = withRatios(rows);
  const md = markdown(result);
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'bench.json'), JSON.stringify({ meta, rows: result }, null, 2) + '\n');
  writeFileSync(join(args.out, 'bench.md'), `# Sluice benchmark (${String(meta.startedAt)})\n\n${md}`);
  return { meta, rows: result, markdown: md };
}
