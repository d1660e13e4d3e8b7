// Which controllers the operator runs. Each controller folder owns its wiring; this file only lists them.
import type { KubeClient } from './kube/client.ts';
import type { Logger } from './log/logger.ts';
import type { EventRecorder } from './runtime/events.ts';
import type { Manager } from './runtime/manager.ts';
import type { Registry } from 'prom-client';
import type { SourceLimits } from './gitops/source/git.ts';
import { registerAnalysisController } from './analysis/controller.ts';
import { registerApplicationController } from './gitops/controller.ts';
import { registerNotificationController } from './notify/controller.ts';
import { registerRolloutController } from './rollout/controller.ts';

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
  /** Deadline and size limits of Git sources (defaults: DEFAULT_LIMITS). */
  gitLimits?: Partial<SourceLimits>;
}

export function registerControllers(manager: Manager, deps: ControllerDeps): void {
  registerRolloutController(manager, deps);
  registerAnalysisController(manager, deps);
  registerApplicationController(manager, deps);
  registerNotificationController(manager, deps);
}
