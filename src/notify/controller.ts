// The notifications controllers: their own queues over the Rollout and Application caches (shared with the rollout
// and GitOps controllers: no extra watch). A reconcile asks decide.ts what the Rollout owes and queues it; sends happen off the reconcile path.
import type { Registry } from 'prom-client';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import type { Logger } from '../log/logger.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Manager } from '../runtime/manager.ts';
import { applicationTriggers, rolloutTriggers, subscriptions } from './decide.ts';
import type { DeliveryOptions } from './delivery.ts';
import { Notifier, type Kind } from './notifier.ts';
import type { ResourceType } from '../kube/resource.ts';
import type { Cache } from '../runtime/manager.ts';

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
  const watching = new WeakSet<AbortSignal>();
  const add = (name: string, kind: Kind, resource: ResourceType, cache: Cache<KubeObject>, triggers: (o: KubeObject) => Map<string, string>): void => {
    manager.addController({
      name,
      for: cache,
      workers: 1,
      reconciler: {
        async reconcile(req) {
          // Losing the lease (or stopping) drops queued sends: their keys are unrecorded, so the next leader sends them.
          if (!watching.has(req.signal)) {
            watching.add(req.signal);
            req.signal.addEventListener('abort', () => notifier.queue.stop(), { once: true });
          }
          const obj = cache.get(req.namespace, req.name);
          if (obj === undefined || subscriptions(obj.metadata?.annotations).length === 0) return;
          await notifier.reconcile(kind, resource, obj, triggers(obj), req.log);
        },
      },
    });
  };
  add('notifications', 'rollout', R.rollout, rollouts, rolloutTriggers);
  add('notifications-app', 'app', R.application, manager.cache<KubeObject>(R.application), applicationTriggers);
  return notifier;
}
