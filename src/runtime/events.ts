import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';

export type EventType = 'Normal' | 'Warning';

interface Recorded {
  namespace: string;
  name: string;
  count: number;
  at: number;
}

/**
 * Kubernetes Events for transitions (`kubectl describe` and `kubectl get events` show them). A repeat of the same
 * event on the same object within `windowMs` bumps the count of the first instead of creating another object.
 * Recording never fails a reconcile: a lost Event is logged and forgotten.
 */
export class EventRecorder {
  private readonly recent = new Map<string, Recorded>();
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly component: string;
  private readonly instance: string;
  private readonly windowMs: number;

  constructor(opts: { client: KubeClient; log: Logger; instance: string; component?: string; windowMs?: number }) {
    this.client = opts.client;
    this.log = opts.log;
    this.instance = opts.instance;
    this.component = opts.component ?? 'sluice';
    this.windowMs = opts.windowMs ?? 10 * 60_000;
  }

  async record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const md = obj.metadata ?? {};
    const namespace = md.namespace ?? 'default';
    const dedupe = `${md.uid ?? md.name}|${type}|${reason}|${message}`;
    const now = new Date().toISOString();
    try {
      const prev = this.recent.get(dedupe);
      if (prev !== undefined && Date.now() - prev.at < this.windowMs) {
        prev.count++;
        prev.at = Date.now();
        await this.client.mergePatch(R.event, prev.namespace, prev.name, { count: prev.count, lastTimestamp: now });
        return;
      }
      const name = `${md.name ?? 'object'}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`;
      await this.client.create(R.event, {
        metadata: { name, namespace },
        involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: md.name, namespace: md.namespace, uid: md.uid, resourceVersion: md.resourceVersion },
        type,
        reason,
        message: message.slice(0, 1024),
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component },
        reportingComponent: `sluice.dev/${this.component}`,
        reportingInstance: this.instance,
      });
      this.recent.set(dedupe, { namespace, name, count: 1, at: Date.now() });
      if (this.recent.size > 5000) this.prune();
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err), reason }, 'could not record an Event');
    }
  }

  private prune(): void {
    const cutoff = Date.now() - this.windowMs;
    for (const [k, v] of this.recent) if (v.at < cutoff) this.recent.delete(k);
  }
}
