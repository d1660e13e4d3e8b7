// The composition root: config → clients → manager → controllers → HTTP server. Nothing here decides anything.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, usage, type Config } from './config/config.ts';
import { registerControllers } from './controllers.ts';
import { applicationWebhook } from './gitops/controller.ts';
import { approvalReplayGuard, handleApproval } from './approval/approve.ts';
import { handleWebhook } from './gitops/webhook/webhook.ts';
import { ROLLOUT_FIELD_MANAGER } from './rollout/controller.ts';
import { KubeClient } from './kube/client.ts';
import { KubeconfigError, loadKubeAuth } from './kube/kubeconfig.ts';
import { R } from './kube/resource.ts';
import { createLogger } from './log/logger.ts';
import { EventRecorder } from './runtime/events.ts';
import { Manager } from './runtime/manager.ts';
import { Metrics } from './runtime/metrics.ts';
import { startProbeServer } from './server/http.ts';
import { startOperatorDashboard } from './dashboard/operator.ts';

const EVENT_QPS = 20;
const EVENT_BURST = 100;

export async function runOperator(config: Config): Promise<number> {
  const log = createLogger({ level: config.logLevel });
  const metrics = new Metrics({ processMetrics: true });
  const auth = loadKubeAuth(config.kubeconfig);
  const client = new KubeClient(auth, { qps: config.qps, burst: config.burst, onRequest: metrics.countRequest });
  // Events get a budget of their own (as client-go's event broadcaster): a burst of them never delays a step.
  const eventClient = new KubeClient(auth, { qps: EVENT_QPS, burst: EVENT_BURST, onRequest: metrics.countRequest });
  const manager = new Manager({
    client,
    log,
    metrics,
    namespaces: config.namespaces,
    resyncMs: 10 * 60_000,
    // Sharding needs a leader too: the sharder runs there.
    leaderElection: config.leaderElect || config.shards === 'auto'
      ? {
          namespace: config.leaderElectionNamespace,
          name: config.leaderElectionId,
          identity: config.identity,
          leaseDurationMs: config.leaderElectionLeaseDuration * 1000,
          renewDeadlineMs: config.leaderElectionRenewDeadline * 1000,
          retryPeriodMs: config.leaderElectionRetryPeriod * 1000,
        }
      : undefined,
    sharding:
      config.shards === 'auto'
        ? {
            id: config.identity,
            namespace: config.leaderElectionNamespace,
            ring: config.leaderElectionId,
            // Experiments too (one a Rollout controls goes with it); ApplicationSets in fleet mode: one replica owns
            // each set, as each Application.
            resources: [R.rollout, R.application, R.analysisRun, R.experiment, ...(config.clusterSecretNamespace !== undefined ? [R.applicationSet] : [])],
            leaseDurationMs: config.leaderElectionLeaseDuration * 1000,
            renewDeadlineMs: config.leaderElectionRenewDeadline * 1000,
            retryPeriodMs: config.leaderElectionRetryPeriod * 1000,
          }
        : undefined,
  });
  const events = new EventRecorder({ client: eventClient, log, instance: config.identity });
  registerControllers(manager, { client, log, events, workers: config.workers, rolloutWorkers: config.rolloutWorkers, prometheusAddress: config.prometheusAddress, registry: metrics.registry, clusterSecretNamespace: config.clusterSecretNamespace, onRequest: metrics.countRequest, identity: config.identity,
    gitLimits: { timeoutMs: config.gitTimeout * 1000, maxFetchBytes: config.gitMaxFetchBytes, maxFiles: config.gitMaxFiles, maxTreeBytes: config.gitMaxTreeBytes } });

  const [host = '127.0.0.1', port = '8080'] = config.metricsAddr.split(/:(?=\d+$)/);
  // Git push webhooks: a secret per kind of sender, from the environment (never a flag: flags show in `ps`).
  const hook = applicationWebhook(manager, client, { github: process.env.SLUICE_WEBHOOK_GITHUB_SECRET, gitlab: process.env.SLUICE_WEBHOOK_GITLAB_SECRET, generic: process.env.SLUICE_WEBHOOK_SECRET }, { applicationSets: config.clusterSecretNamespace !== undefined });
  // Signed approvals of paused Rollouts; a signature is good once (per replica: a replay elsewhere is still bound to
  // the revision and step it names).
  const approvals = { client, log, seen: approvalReplayGuard(), fieldManager: ROLLOUT_FIELD_MANAGER };
  const probes = await startProbeServer({
    host,
    port: Number(port),
    registry: metrics.registry,
    healthy: () => true,
    ready: () => manager.ready(),
    webhook: (req, res) => handleWebhook(req, res, hook),
    approve: (req, res) => handleApproval(req, res, approvals),
  });
  const dashboard = config.dashboardAddr === undefined ? undefined : await startOperatorDashboard(config, client, log);
  log.info({ identity: config.identity, namespaces: config.namespaces.length > 0 ? config.namespaces : 'all', metrics: `${host}:${probes.port}`, leaderElect: config.leaderElect, shards: config.shards }, 'sluice starting');

  let shuttingDown = false;
  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down: finishing in-flight reconciles');
    void manager.stop();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  const outcome = await manager.run();
  if (outcome === 'lost') {
    // As controller-runtime does: a process that lost the lease exits, and its replacement campaigns afresh.
    log.error(config.shards === 'auto' ? 'shard or leader lease lost; exiting' : 'leader election lost; exiting');
    // Nothing is reconciling any more; stop the watches and lease loops too, or they keep the process alive.
    await manager.stop();
    await dashboard?.close();
    await probes.close();
    return 1;
  }
  if (!shuttingDown) await manager.stop();
  await dashboard?.close();
  await probes.close();
  log.info('stopped');
  return 0;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage());
    return;
  }
  let config: Config;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sluice: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  try {
    process.exitCode = await runOperator(config);
  } catch (err) {
    if (err instanceof KubeconfigError) {
      process.stderr.write(`sluice: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`sluice: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
