// Which controllers the operator runs. Each controller folder owns its wiring; this file only lists them.
import type { KubeClient } from './kube/client.ts';
import type { Logger } from './log/logger.ts';
import type { EventRecorder } from './runtime/events.ts';
import type { Manager } from './runtime/manager.ts';
import type { Registry } from 'prom-client';
import type { SourceLimits } from './gitops/source/git.ts';
import { registerAnalysisController } from './analysis/controller.ts';
import { registerApplicationController } from './gitops/controller.ts';
import { ClusterRegistry } from './fleet/registry.ts';
import { registerApplicationSetController } from './gitops/appset/controller.ts';
import { RemoteRollouts } from './fleet/rollouts.ts';
import { GitSource } from './gitops/source/git.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerNotificationController } from './notify/controller.ts';
import { registerRolloutController } from './rollout/controller.ts';
import { registerExperimentController } from './experiment/controller.ts';

export interface ControllerDeps {
  client: KubeClient;
  log: Logger;
  events: EventRecorder;
  workers: number;
  /** Concurrent Rollout reconciles (workers when unset). */
  rolloutWorkers?: number;
  /** Default Prometheus for builtin analysis checks. */
  prometheusAddress?: string;
  /** Where the operator's own metrics are served (the notifications counters register there). */
  registry?: Registry;
  /** Where cluster Secrets live (src/fleet): fleet mode (remote clusters, ApplicationSets) is off without it. */
  clusterSecretNamespace?: string;
  /** Told of every request to a remote cluster (the operator's request metrics count them with its own). */
  onRequest?: (method: string, path: string, status: number) => void;
  /** Deadline and size limits of Git sources (defaults: DEFAULT_LIMITS). */
  gitLimits?: Partial<SourceLimits>;
  /** This replica's identity (Events' reporting instance in remote clusters). */
  identity?: string;
}

/** What the caller may look at afterwards (the tests: which clusters run remote Rollouts). */
export interface Registered {
  remoteRollouts?: RemoteRollouts;
}

export function registerControllers(manager: Manager, deps: ControllerDeps): Registered {
  registerRolloutController(manager, deps);
  registerAnalysisController(manager, deps);
  registerExperimentController(manager, deps);
  const clusters = deps.clusterSecretNamespace === undefined ? undefined : new ClusterRegistry({ manager, namespace: deps.clusterSecretNamespace, log: deps.log.child({ component: 'clusters' }), clientOptions: { onRequest: deps.onRequest } });
  registerApplicationController(manager, { ...deps, clusters });
  let remoteRollouts: RemoteRollouts | undefined;
  if (clusters !== undefined) {
    // Rollouts in remote clusters run from the leader (the sharder's leader when sharded): one controller per cluster.
    const remote = (remoteRollouts = new RemoteRollouts({ registry: clusters, home: deps.client, log: deps.log.child({ component: 'remote-rollouts' }), instance: deps.identity ?? 'sluice', workers: deps.workers, ...(deps.rolloutWorkers !== undefined ? { rolloutWorkers: deps.rolloutWorkers } : {}), ...(deps.prometheusAddress !== undefined ? { prometheusAddress: deps.prometheusAddress } : {}) }));
    manager.whileLeading((signal) => remote.lead(signal));
    manager.onStop(() => remote.settled());
  }
  // Fleet mode only: ApplicationSets create and delete Applications, which the chart's default RBAC does not grant.
  if (clusters !== undefined) registerApplicationSetController(manager, { ...deps, clusters, source: new GitSource({ cacheDir: join(process.env.SLUICE_GIT_CACHE ?? join(tmpdir(), 'sluice-git'), 'appset') }) });
  registerNotificationController(manager, deps);
  return remoteRollouts === undefined ? {} : { remoteRollouts };
}
