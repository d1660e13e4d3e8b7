import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import { EventCorrelator } from './event-correlator.ts';

export type EventType = 'Normal' | 'Warning';

/**
 * Kubernetes Events for transitions (`kubectl describe` and `kubectl get events` show them). A repeat of the same
 * event on the same object within `windowMs` bumps the count of the first instead of creating another object, and
 * many different messages for one object and reason are combined into one Event (`event-correlator.ts`).
 * Recording never fails a reconcile: a lost Event is logged and forgotten.
 */
export class EventRecorder {
  private readonly correlator: EventCorrelator;
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly component: string;
  private readonly instance: string;

  constructor(opts: { client: KubeClient; log: Logger; instance: string; component?: string; windowMs?: number }) {
    this.client = opts.client;
    this.log = opts.log;
    this.instance = opts.instance;
    this.component = opts.component ?? 'sluice';
    this.correlator = new EventCorrelator(opts.windowMs ?? 10 * 60_000);
  }

  async record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const md = obj.metadata ?? {};
    const namespace = md.namespace ?? 'default';
    const now = new Date().toISOString();
    try {
      const write = this.correlator.decide({ object: md.uid ?? `${namespace}/${md.name ?? ''}`, type, reason, message }, Date.now());
      if (write.kind === 'update') {
        try {
          await this.client.mergePatch(R.event, write.namespace, write.name, { count: write.count, lastTimestamp: now, message: write.message.slice(0, 1024) });
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          this.correlator.forget(write.key); // expired by the apiserver's --event-ttl, or deleted: start a new one
        }
      }
      const name = `${md.name ?? 'object'}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`;
      await this.client.create(R.event, {
        metadata: { name, namespace },
        involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: md.name, namespace: md.namespace, uid: md.uid, resourceVersion: md.resourceVersion },
        type,
        reason,
        message: write.message.slice(0, 1024),
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component },
        reportingComponent: `sluice.dev/${this.component}`,
        reportingInstance: this.instance,
      });
      this.correlator.recordCreated(write.key, name, namespace, Date.now());
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err), reason }, 'could not record an Event');
    }
  }
}
