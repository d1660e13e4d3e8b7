// npm run demo: GitOps progressive delivery end to end on one machine. Builds (or reuses) the local control plane
// and installs Prometheus exactly as `npm test` does, then runs the scenario in scripts/demo/ (the same code the
// e2e test test/e2e/demo.int.test.ts runs): a real Git server holds the config repo, Sluice syncs it, a good
// release is canaried and promoted by its analysis, a bad one is aborted by its analysis, `git revert` restores.
// Traffic comes from a data-plane EMULATOR (test/dataplane), not a mesh: it is labelled as such everywhere.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ensureBinaries, startControlPlane } from '../test/cluster/controlplane.ts';
import { runScenario, summary } from './demo/scenario.ts';
import { startStack, type Stack } from './demo/stack.ts';
import { createLogger } from '../src/log/logger.ts';
import { KubeClient } from '../src/kube/client.ts';
import { startLocalDashboard } from '../src/dashboard/server.ts';

const out = (s: string): void => void process.stdout.write(s);
const say = (s: string): void => out(`${s}\n`);

// Ctrl-C (or a TERM/HUP) stops everything the demo started instead of leaving it running.
const interrupted = new Promise<number>((r) => {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => r(130));
});

async function main(): Promise<number> {
  const t0 = Date.now();
  say('== set-up (the same steps as npm test: control-plane binaries, cached after the first build; Prometheus from Debian)');
  const binDir = await ensureBinaries();
  const prom = spawnSync('bash', [resolve(import.meta.dirname, '..', 'test', 'prometheus', 'install.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (prom.status !== 0) throw new Error(`test/prometheus/install.sh failed (exit ${prom.status ?? prom.signal})`);
  say(`  ${prom.stdout.trim()}`);

  const cp = await startControlPlane({ binDir, logDir: resolve('test-results', 'demo', 'cluster-logs'), progress: (m) => say(`  control plane: ${m}`) });
  let stack: Stack | undefined;
  let dashboard: Awaited<ReturnType<typeof startLocalDashboard>> | undefined;
  try {
    say(`  control plane up (etcd, kube-apiserver, controller-manager, scheduler, kwok nodes) after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    await cp.kubectl(['create', 'namespace', 'sluice-system']);
    stack = await startStack({
      cluster: { kubeconfig: cp.kubeconfig, kubectl: (args, input) => cp.kubectl(args, input) },
      appNamespace: 'sluice-system',
      namespace: 'demo',
      identity: 'sluice-demo',
      logDir: resolve('test-results', 'demo', 'app-logs'),
      say: (l) => say(`  ${l}`),
    });
    // The web dashboard, as `kubectl sluice dashboard` serves it: watch the canary in a browser while the demo runs.
    const dashboardClient = KubeClient.fromDefault({}, cp.kubeconfig);
    const log = createLogger({ level: 'warn' });
    dashboard = await startLocalDashboard(dashboardClient, { port: 3100, log }).catch(() => startLocalDashboard(dashboardClient, { port: 0, log }));
    say(`  dashboard: ${dashboard.address}  (open it to watch the canary live; up until the demo ends)`);
    if (await Promise.race([interrupted, Promise.resolve(0)]) !== 0) return 130;
    say(`\n== the demo (everything above is running; ${((Date.now() - t0) / 1000).toFixed(1)}s so far)`);
    const report = await Promise.race([runScenario(stack, { tty: process.stdout.isTTY, size: () => ({ rows: process.stdout.rows, columns: process.stdout.columns }), write: out, t0: Date.now() }), interrupted]);
    if (typeof report === 'number') {
      say('\ninterrupted: stopping everything');
      return report;
    }
    out(summary(report));
    say(`  wall clock including set-up: ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return report.ok ? 0 : 1;
  } finally {
    await dashboard?.close();
    await stack?.stop();
    await cp.stop();
    say('stopped: the operator, the emulator and its app processes, Prometheus, the Git server and the control plane.');
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
