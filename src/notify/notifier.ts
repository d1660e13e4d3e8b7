// The shell around decide.ts: reads the notification ConfigMap and Secret, queues what an object owes, and after a
// send records the key on the object (so no restart or new leader sends it again). Errors become Events naming the
// ConfigMap key; secrets never reach a log line, an Event or a status.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';
import type { ResourceType } from '../kube/resource.ts';
import type { Logger } from '../log/logger.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { CONFIGMAP_NAMES, ConfigKeyError, type NotificationConfig } from './config.ts';
import { BUILTIN_TRIGGERS, NOTIFIED_ANNOTATION, notifiedKeys, owed, subscriptions, withNotified, type Owed } from './decide.ts';
import { DeliveryQueue, type DeliveryOptions } from './delivery.ts';
import { renderNotification, templateData } from './render.ts';
import { readConfigs } from './source.ts';
import { buildService } from './services/index.ts';
import { customTriggers } from './when.ts';
import { DeliveryError } from './services/port.ts';
import { TemplateError } from './template/parse.ts';

export interface NotifierDeps {
  client: KubeClient;
  log: Logger;
  events: EventRecorder;
  registry?: Registry;
  /** Where the operator-wide ConfigMap lives; the object's own namespace is read first (Argo's self-service). */
  operatorNamespace?: string;
  delivery?: DeliveryOptions;
  configTtlMs?: number;
}

export type Kind = 'rollout' | 'app';

/** Everything needed to send one owed notification. */
interface Plan {
  owed: Owed;
  serviceType: string;
  cfg: NotificationConfig;
  templates: string[];
}

/** Custom triggers' templates for this reconcile: only the conditions that hold send theirs. */
type HeldTemplates = ReadonlyMap<string, string[]>;

export class Notifier {
  readonly queue: DeliveryQueue;
  private readonly d: NotifierDeps;
  private readonly cache = new Map<string, { at: number; configs: Promise<NotificationConfig[]> }>();
  private readonly reported = new Set<string>();
  /** Sent, but the annotation write failed: never send these again from this process. */
  private readonly unrecorded = new Set<string>();
  private readonly jobs = new Map<string, { obj: KubeObject; owed: Owed; log: Logger; serviceType: string }>();
  private readonly cooldown = new Map<string, number>();
  private readonly sent: Counter<'service' | 'result'>;
  private readonly depth: Gauge;

  constructor(d: NotifierDeps) {
    this.d = d;
    const registers = d.registry === undefined ? [] : [d.registry];
    this.sent = new Counter({ name: 'sluice_notifications_total', help: 'Notification deliveries by service type and result (sent, failed, retried).', labelNames: ['service', 'result'], registers });
    this.depth = new Gauge({ name: 'sluice_notification_queue_depth', help: 'Notifications queued, sending or waiting to retry.', registers });
    this.queue = new DeliveryQueue({
      ...d.delivery,
      onGiveUp: (job, err, attempts) => this.gaveUp(job.key, err, attempts),
      onRetry: (job, err, attempt, delayMs) => {
        const j = this.jobs.get(job.key);
        if (j === undefined) return;
        this.sent.inc({ service: j.serviceType, result: 'retried' });
        j.log.info({ attempt, retryInMs: delayMs, err: err instanceof Error ? err.message : String(err) }, 'notification delivery failed; will retry');
      },
    });
  }

  /** Reads the configs the object's namespace sees (its own first), cached for a few seconds. */
  configs(namespace: string | undefined): Promise<NotificationConfig[]> {
    const namespaces = [...new Set([namespace, this.d.operatorNamespace].filter((n): n is string => n !== undefined && n !== ''))];
    const id = namespaces.join(',');
    const hit = this.cache.get(id);
    if (hit !== undefined && Date.now() - hit.at < (this.d.configTtlMs ?? 5000)) return hit.configs;
    const configs = readConfigs(this.d.client, namespaces);
    this.cache.set(id, { at: Date.now(), configs });
    configs.catch(() => this.cache.delete(id));
    return configs;
  }

  /** Queues what `obj` owes for the triggers that hold now. Never waits for a send. */
  async reconcile(kind: Kind, resource: ResourceType, obj: KubeObject, fired: ReadonlyMap<string, string>, log: Logger): Promise<void> {
    const builtin: readonly string[] = BUILTIN_TRIGGERS[kind];
    const custom = subscriptions(obj.metadata?.annotations)
      .map((s) => s.trigger)
      .filter((t) => !builtin.includes(t));
    let held: HeldTemplates = new Map();
    if (custom.length > 0) {
      const c = customTriggers(kind, obj, custom, await this.configs(obj.metadata?.namespace), Object.keys(notifiedKeys(obj.metadata?.annotations)));
      for (const e of c.errors) this.report(obj, e.key, e.message);
      if (c.disarm.length > 0) await this.disarm(resource, obj, c.disarm, log);
      fired = new Map([...fired, ...c.fired]);
      held = c.templates;
    }
    const now = Date.now();
    const due = owed(obj, fired).filter((o) => {
      const k = queueKey(obj, o.key);
      return !this.queue.has(k) && !this.unrecorded.has(k) && (this.cooldown.get(k) ?? 0) <= now;
    });
    if (due.length === 0) return;
    const configs = await this.configs(obj.metadata?.namespace);
    for (const o of due) {
      const plan = this.plan(o, configs, obj, held);
      if (plan === undefined) continue;
      const key = queueKey(obj, o.key);
      this.cooldown.delete(key);
      const added = this.queue.add({
        key,
        run: async (signal) => {
          await this.deliver(kind, resource, obj, plan, log, signal);
          this.jobs.delete(key);
        },
      });
      if (added) this.jobs.set(key, { obj, owed: o, log, serviceType: plan.serviceType });
      if (added) log.info({ trigger: o.trigger, service: o.service, recipient: o.recipient }, 'notification queued');
      this.depth.set(this.queue.size);
    }
  }

  /** Finds the trigger, its templates and the service; a missing or broken one is an Event naming the key. */
  private plan(o: Owed, configs: NotificationConfig[], obj: KubeObject, held: HeldTemplates): Plan | undefined {
    const cfg = configs.find((c) => c.triggers.has(o.trigger) || c.errors.some((e) => e.key === `trigger.${o.trigger}`));
    if (cfg === undefined) {
      this.report(obj, `trigger.${o.trigger}`, configs.length === 0 ? `no notification ConfigMap (${CONFIGMAP_NAMES.join(', ')}) in ${obj.metadata?.namespace ?? ''}${this.d.operatorNamespace !== undefined ? ` or ${this.d.operatorNamespace}` : ''}` : `the trigger ${o.trigger} is not configured`);
      return undefined;
    }
    const broken = cfg.errors.find((e) => e.key === `trigger.${o.trigger}`);
    if (broken !== undefined) return this.report(obj, broken.key, broken.message);
    const templates = held.get(o.trigger) ?? [...new Set((cfg.triggers.get(o.trigger) ?? []).flatMap((c) => c.send))];
    for (const t of templates) {
      const e = cfg.errors.find((x) => x.key === `template.${t}`);
      if (e !== undefined) return this.report(obj, e.key, e.message);
    }
    const svc = configs.map((c) => c.services.get(o.service)).find((s) => s !== undefined);
    const svcErr = configs.flatMap((c) => c.errors).find((e) => e.key === `service.${o.service}` || e.key.endsWith(`.${o.service}`));
    if (svc === undefined) return this.report(obj, svcErr?.key ?? `service.${o.service}`, svcErr?.message ?? `the service ${o.service} is not configured in ${cfg.source}`);
    return { owed: o, cfg, templates, serviceType: svc.type };
  }

  private report(obj: KubeObject, key: string, message: string): undefined {
    const id = `${obj.metadata?.uid ?? ''}|${key}|${message}`;
    if (this.reported.has(id)) return undefined;
    if (this.reported.size > 10_000) this.reported.clear();
    this.reported.add(id);
    this.d.log.warn({ object: `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`, key }, `notification config error: ${message}`);
    void this.d.events.record(obj, 'Warning', 'NotificationConfigError', message.startsWith(key) ? message : `${key}: ${message}`);
    return undefined;
  }

  private async deliver(kind: Kind, resource: ResourceType, seen: KubeObject, plan: Plan, log: Logger, signal: AbortSignal): Promise<void> {
    const { owed: o, cfg } = plan;
    const ns = seen.metadata?.namespace;
    const name = seen.metadata?.name ?? '';
    let obj: KubeObject;
    try {
      obj = await this.d.client.get(resource, ns, name);
    } catch (err) {
      if (err instanceof KubeApiError && err.kind === 'NotFound') return;
      throw new DeliveryError(`reading ${name}: ${err instanceof Error ? err.message : String(err)}`, true);
    }
    if (notifiedKeys(obj.metadata?.annotations)[o.key] !== undefined) return; // another process sent it
    const svcCfg = [cfg.services.get(o.service)].find((s) => s !== undefined) ?? (await this.configs(ns)).map((c) => c.services.get(o.service)).find((s) => s !== undefined);
    if (svcCfg === undefined) throw new DeliveryError(`the service ${o.service} is gone from the config`, false);
    let rendered;
    try {
      const service = buildService(svcCfg);
      const templates = plan.templates.map((t) => cfg.templates.get(t)).filter((t) => t !== undefined);
      rendered = renderNotification(templates, templateData(kind, obj, cfg.context, svcCfg.type, o.recipient));
      const delivered = await service.send(rendered, { recipient: o.recipient }, signal);
      this.sent.inc({ service: svcCfg.type, result: delivered ? 'sent' : 'skipped' });
      log.info({ trigger: o.trigger, service: o.service, recipient: o.recipient, delivered }, delivered ? 'notification sent' : 'notification has nothing for this service');
    } catch (err) {
      if (err instanceof TemplateError || err instanceof ConfigKeyError) throw new DeliveryError(err.message, false);
      throw err;
    }
    await this.record(resource, ns, name, o.key, log);
  }

  /** Adds the key to the object's annotation, conditional on its resourceVersion; never throws (the send happened). */
  private async record(resource: ResourceType, ns: string | undefined, name: string, key: string, log: Logger): Promise<void> {
    for (let i = 0; i < 8; i++) {
      try {
        const cur = await this.d.client.get(resource, ns, name);
        const prev = notifiedKeys(cur.metadata?.annotations);
        if (prev[key] !== undefined) return;
        await this.d.client.mergePatch(resource, ns, name, { metadata: { resourceVersion: cur.metadata?.resourceVersion, annotations: { [NOTIFIED_ANNOTATION]: withNotified(prev, key, Math.floor(Date.now() / 1000)) } } });
        return;
      } catch (err) {
        if (err instanceof KubeApiError && err.kind === 'NotFound') return;
        if (!(err instanceof KubeApiError && err.kind === 'Conflict')) await new Promise((r) => setTimeout(r, 200 * (i + 1)));
      }
    }
    this.unrecorded.add(`${ns ?? ''}/${name}|${key}`);
    log.error({ key }, 'notification sent but could not be recorded on the object; this process will not send it again');
  }

  /** Drops sent keys of custom conditions that stopped holding, so each fires again when it next turns true. */
  private async disarm(resource: ResourceType, obj: KubeObject, keys: string[], log: Logger): Promise<void> {
    const prev = notifiedKeys(obj.metadata?.annotations);
    for (const k of keys) delete prev[k];
    try {
      await this.d.client.mergePatch(resource, obj.metadata?.namespace, obj.metadata?.name ?? '', { metadata: { resourceVersion: obj.metadata?.resourceVersion, annotations: { [NOTIFIED_ANNOTATION]: JSON.stringify(prev) } } });
      log.info({ keys }, 'custom trigger conditions no longer hold; they will notify again when they next do');
    } catch (err) {
      // A conflict or a gone object: the next reconcile sees the newer object and decides again.
      log.debug({ err: err instanceof Error ? err.message : String(err) }, 'could not re-arm custom triggers yet');
    }
  }

  /** A delivery that will not be retried now: an Event on the object and a log line, then a cool-down. */
  private gaveUp(key: string, err: unknown, attempts: number): void {
    const job = this.jobs.get(key);
    this.jobs.delete(key);
    this.depth.set(this.queue.size);
    if (job === undefined) return;
    this.cooldown.set(key, Date.now() + COOLDOWN_MS);
    const o = job.owed;
    this.sent.inc({ service: job.serviceType, result: 'failed' });
    const why = err instanceof Error ? err.message : String(err);
    const message = `${o.trigger} to ${o.service}${o.recipient !== '' ? `:${o.recipient}` : ''} failed after ${attempts} attempt(s): ${why}`;
    job.log.warn({ trigger: o.trigger, service: o.service, recipient: o.recipient, attempts, err: why }, 'notification failed');
    void this.d.events.record(job.obj, 'Warning', 'NotificationFailed', message);
  }
}

/** After giving up, a notification is offered again only this much later (a later reconcile re-queues it). */
const COOLDOWN_MS = 5 * 60_000;

/** Keys are per object: the uid keeps a re-created object with the same name apart. */
export const queueKey = (obj: KubeObject, key: string): string => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}|${key}`;
