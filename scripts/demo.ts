// npm run demo: GitOps progressive delivery end to end on one machine. Builds (or reuses) the local control plane and
// Traefik and installs Prometheus exactly as `npm test` does, then runs the scenario in scripts/demo/ (the same code
// the e2e test test/e2e/demo.int.test.ts runs): a real Git server holds the config repo, Sluice syncs it, a good
// release is canaried and promoted by its analysis, a bad one is aborted by its analysis, `git revert` restores.
// Traffic is real by default: a load generator's HTTP requests through a real Traefik (Gateway API) to the app's
// processes, judged on Traefik's metrics. `npm run demo -- --istio` uses the Istio data-plane EMULATOR instead
// (test/dataplane: no mesh runs here), labelled as such everywhere.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ensureBinaries, startControlPlane } from '../test/cluster/controlplane.ts';
import { ensureTraefik, TRAEFIK_BIN_ENV } from '../test/dataplane/traefik/traefik.ts';
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

const USAGE = 'usage: npm run demo [-- --istio]   (default: the real data plane, Traefik on the Gateway API; --istio: the Istio data-plane emulator)';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--istio');
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown.join(' ')}\n${USAGE}`);
  const istio = args.includes('--istio');
  const t0 = Date.now();
  say(`== set-up (the same steps as npm test: control-plane binaries${istio ? '' : ' and Traefik'}, cached after the first build; Prometheus from Debian)`);
  const binDir = await ensureBinaries();
  // Traefik: built from its Go module into ~/.cache/sluice by the same script npm test runs (minutes, the first time).
  const traefikBin = istio ? undefined : (process.env[TRAEFIK_BIN_ENV] ?? (await ensureTraefik()));
  if (traefikBin !== undefined) say(`  Traefik: ${traefikBin}/traefik`);
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
      plane: traefikBin === undefined ? { kind: 'istio-emulator' } : { kind: 'traefik', binDir: traefikBin },
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
    stack.setLog(() => undefined); // the pods' last comings and goings would print under the summary
    out(summary(report));
    say(`  wall clock including set-up: ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return report.ok ? 0 : 1;
  } finally {
    await dashboard?.close();
    await stack?.stop();
    await cp.stop();
    say(`stopped: the operator, ${istio ? 'the data-plane emulator and its app processes' : 'the load generator, Traefik, the kube-proxy emulator, the app processes'}, Prometheus, the Git server and the control plane.`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
