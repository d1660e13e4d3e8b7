import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { isConflict, isNotFound, KubeApiError } from '../../kube/errors.ts';
import type { ResourceType } from '../../kube/resource.ts';
import type { Reconciler, ReconcileRequest, ReconcileResult } from '../controller.ts';
import type { Cache } from '../manager.ts';
import type { Metrics } from '../metrics.ts';
import { DRAIN_LABEL, OWNER_LABEL } from './decide.ts';

const pointer = (label: string): string => `/metadata/labels/${label.replace(/~/g, '~0').replace(/\//g, '~1')}`;
/** How soon to look again while a reconcile of the drained object is still running here. */
const BUSY_RETRY_MS = 100;

export interface DrainOptions {
  client: KubeClient;
  id: string;
  metrics: Metrics;
  resource: ResourceType;
  /** This shard's objects the sharder marked for draining (selector: owner=<id>,drain). */
  draining: Cache<KubeObject>;
  /** The controllers' own cache (owner=<id>,!drain): the object must have left it before we let go. */
  own: Cache<KubeObject>;
  /** Whether a worker of this replica is reconciling the key right now. */
  busy: (key: string) => boolean;
}

/**
 * The shard's half of the drain handshake. Once the object has left the controllers' cache (no new reconcile can
 * start on it) and no reconcile of it is in flight, the shard removes its owner label and the drain label: the
 * acknowledgement that lets the sharder hand the object to its new owner. The removal is conditional on the owner
 * label still naming us, so a late acknowledgement never strips a label the sharder wrote since.
 */
export function drainAcknowledger(o: DrainOptions): Reconciler {
  return {
    async reconcile(req: ReconcileRequest): Promise<ReconcileResult | void> {
      const obj = o.draining.get(req.namespace, req.name);
      if (obj === undefined || obj.metadata?.labels?.[OWNER_LABEL] !== o.id) return;
      if (o.own.get(req.namespace, req.name) !== undefined || o.busy(req.key)) return { requeueAfterMs: BUSY_RETRY_MS };
      try {
        await o.client.jsonPatch(
          o.resource,
          req.namespace,
          req.name,
          [
            { op: 'test', path: pointer(OWNER_LABEL), value: o.id },
            { op: 'remove', path: pointer(OWNER_LABEL) },
            { op: 'remove', path: pointer(DRAIN_LABEL) },
          ],
          { fieldManager: 'sluice-shard' },
        );
      } catch (err) {
        // A failed test (422) or a vanished object: the sharder already moved on; nothing is ours to release.
        if ((err instanceof KubeApiError && err.kind === 'Invalid') || isNotFound(err) || isConflict(err)) return;
        throw err;
      }
      o.metrics.shardDrainsAcknowledged.inc({ resource: o.resource.plural });
      req.log.info({ shard: o.id }, 'drained: acknowledged the move to another shard');
    },
  };
}
