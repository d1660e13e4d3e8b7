// The Application controller's shell. Today it judges the spec and reports it in status; the sync joins here.
import type { ApplicationStatus } from '../api/application/schema.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import type { Controller, ReconcileRequest } from '../runtime/controller.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Manager } from '../runtime/manager.ts';
import { appSpecStatus, appSpecStatusChanged, checkApplication, INVALID_SPEC_ERROR } from './spec.ts';

export const GITOPS_STATUS_MANAGER = 'sluice';

type ApplicationObject = KubeObject & { status?: ApplicationStatus };

export function registerApplicationController(manager: Manager, deps: { client: KubeClient; events: EventRecorder; workers: number }): Controller {
  const apps = manager.cache<ApplicationObject>(R.application);
  const reconcile = async (req: ReconcileRequest): Promise<void> => {
    const raw = apps.get(req.namespace, req.name);
    if (raw === undefined || raw.metadata?.deletionTimestamp !== undefined) return;
    const check = checkApplication(raw);
    const next = appSpecStatus(raw.status, check, raw.metadata?.generation ?? 0, new Date().toISOString());
    if (!appSpecStatusChanged(raw.status, next)) return;
    const written = await deps.client.apply<KubeObject>(R.application, { metadata: { name: req.name, namespace: req.namespace }, status: next }, GITOPS_STATUS_MANAGER, {
      force: true,
      subresource: 'status',
    });
    controller.expectations.expect(req.key, written.metadata?.resourceVersion);
    if (!check.ok) {
      req.log.warn({ errors: check.errors }, 'invalid spec');
      await deps.events.record(raw, 'Warning', INVALID_SPEC_ERROR, next.conditions.find((c) => c.type === INVALID_SPEC_ERROR)?.message ?? '');
    }
  };
  const controller = manager.addController({ name: 'application', for: apps, reconciler: { reconcile }, workers: deps.workers });
  return controller;
}
