// The notifications controller: its own queue over the Rollout cache (shared with the rollout controller, no extra
// watch). A reconcile asks decide.ts what the Rollout owes and queues it; sends happen off the reconcile path.
import type { Registry } from 'prom-client';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import type { Logger } from '../log/logger.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Manager } from '../runtime/manager.ts';
import { rolloutTriggers, subscriptions } from './decide.ts';
import type { DeliveryOptions } from './delivery.ts';
import { Notifier } from './notifier.ts';

export interface NotificationControllerDeps {
  client: KubeClient;
  log: Logger;
  events: EventRecorder;
  registry?: Registry;
  operatorNamespace?: string;
  delivery?: DeliveryOptions;
}

export function registerNotificationController(manager: Manager, deps: NotificationControllerDeps): Notifier {
  const rollouts = manager.cache<KubeObject>(R.rollout);
  const notifier = new Notifier({
    ...deps,
    log: deps.log.child({ component: 'notifications' }),
    operatorNamespace: deps.operatorNamespace ?? process.env.SLUICE_NOTIFICATIONS_NAMESPACE ?? process.env.POD_NAMESPACE,
  });
  let watching: AbortSignal | undefined;
  manager.addController({
    name: 'notifications',
    for: rollouts,
    workers: 1,
    reconciler: {
      async reconcile(req) {
        // Losing the lease (or stopping) drops queued sends: their keys are unrecorded, so the next leader sends them.
        if (watching !== req.signal) {
          watching = req.signal;
          req.signal.addEventListener('abort', () => notifier.queue.stop(), { once: true });
        }
        const obj = rollouts.get(req.namespace, req.name);
        if (obj === undefined || obj.metadata?.deletionTimestamp !== undefined) return;
        if (subscriptions(obj.metadata?.annotations).length === 0) return;
        await notifier.reconcile('rollout', R.rollout, obj, rolloutTriggers(obj), req.log);
      },
    },
  });
  return notifier;
}
