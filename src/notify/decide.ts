// Which notifications an object owes, from its state alone (pure). Argo Rollouts fires its builtin triggers on the
// controller's events; here each trigger is a state of the Rollout's status with a `oncePer` key, so a notification is
// owed once per trigger, revision and recipient however often (or after however many restarts) it is reconciled. The
// keys already sent live in an annotation on the object, as Argo CD keeps them.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { KubeObject } from '../kube/client.ts';

export const SUBSCRIBE_PREFIXES = ['notifications.argoproj.io/subscribe.', 'notifications.sluice.dev/subscribe.'] as const;
/** Argo's list form: `[{trigger: [..], destinations: [{service, recipients: [..]}]}]` as YAML. */
export const SUBSCRIPTIONS_ANNOTATIONS = ['notifications.argoproj.io/subscriptions', 'notifications.sluice.dev/subscriptions'] as const;

const oneOrMany = z.union([z.string(), z.array(z.string())]).transform((v) => (typeof v === 'string' ? [v] : v));
const subscriptionListSchema = z.array(
  z.object({
    trigger: oneOrMany,
    destinations: z.array(z.object({ service: z.string().min(1), recipients: oneOrMany.optional() })),
  }),
);

/** The list form's subscriptions; a value that is not valid YAML of that shape subscribes to nothing. */
function listed(raw: string | undefined): { trigger: string; service: string; recipients: string[] }[] {
  if (raw === undefined) return [];
  let y: unknown;
  try {
    y = parseYaml(raw);
  } catch {
    return [];
  }
  const r = subscriptionListSchema.safeParse(y);
  if (!r.success) return [];
  return r.data.flatMap((s) => s.trigger.flatMap((trigger) => s.destinations.map((d) => ({ trigger, service: d.service, recipients: d.recipients ?? [] }))));
}
/** Sent keys → unix seconds, as JSON (Argo CD's `notified.notifications.argoproj.io`, under Sluice's own prefix). */
export const NOTIFIED_ANNOTATION = 'notified.notifications.sluice.dev';
/** How many sent keys an object keeps: the newest; older revisions' keys can never fire again. */
export const MAX_NOTIFIED_KEYS = 64;

export interface Subscription {
  trigger: string;
  service: string;
  recipient: string;
}

/** `notifications.argoproj.io/subscribe.<trigger>.<service>: a;b` → one subscription per recipient. */
export function subscriptions(annotations: Readonly<Record<string, string>> | undefined): Subscription[] {
  const out: Subscription[] = [];
  const seen = new Set<string>();
  const entries: { trigger: string; service: string; recipients: string[] }[] = SUBSCRIPTIONS_ANNOTATIONS.flatMap((a) => listed(annotations?.[a]));
  for (const [k, v] of Object.entries(annotations ?? {})) {
    const prefix = SUBSCRIBE_PREFIXES.find((p) => k.startsWith(p));
    if (prefix === undefined) continue;
    const rest = k.slice(prefix.length);
    const dot = rest.indexOf('.');
    if (dot <= 0 || dot === rest.length - 1) continue;
    entries.push({ trigger: rest.slice(0, dot), service: rest.slice(dot + 1), recipients: v.split(/[;,]/) });
  }
  for (const { trigger, service, recipients: raw } of entries) {
    const recipients = raw.map((r) => r.trim()).filter((r) => r !== '');
    for (const recipient of recipients.length > 0 ? recipients : ['']) {
      const id = `${trigger}\n${service}\n${recipient}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ trigger, service, recipient });
    }
  }
  return out.sort((a, b) => `${a.trigger}.${a.service}.${a.recipient}`.localeCompare(`${b.trigger}.${b.service}.${b.recipient}`));
}

interface RunRef {
  name?: string;
  status?: string;
}

interface RolloutLike {
  status?: {
    phase?: string;
    currentPodHash?: string;
    stableRS?: string;
    currentStepIndex?: number;
    abort?: boolean;
    pauseConditions?: { reason?: string; startTime?: string }[];
    canary?: { currentStepAnalysisRunStatus?: RunRef; currentBackgroundAnalysisRunStatus?: RunRef };
    blueGreen?: { prePromotionAnalysisRunStatus?: RunRef; postPromotionAnalysisRunStatus?: RunRef };
  };
}

/** The builtin triggers of Argo Rollouts that hold for this Rollout now, each with its oncePer key. */
export function rolloutTriggers(obj: KubeObject): Map<string, string> {
  const s = (obj as RolloutLike).status ?? {};
  const fired = new Map<string, string>();
  const hash = s.currentPodHash;
  const stable = s.stableRS;
  if (hash === undefined || hash === '') return fired;
  const updating = stable !== undefined && stable !== '' && hash !== stable;
  if (updating) fired.set('on-rollout-updated', hash);
  // Once per revision: not per abortedAt, which the rollout controller writes a moment after `abort` (a person's patch).
  if (s.abort === true) fired.set('on-rollout-aborted', hash);
  else if (s.phase === 'Healthy' && hash === stable) fired.set('on-rollout-completed', hash);
  const pause = s.pauseConditions?.[0];
  if (pause !== undefined && s.abort !== true) fired.set('on-rollout-paused', `${hash}/${s.currentStepIndex ?? 0}/${pause.startTime ?? ''}`);
  if (updating && (s.currentStepIndex ?? 0) > 0) fired.set('on-rollout-step-completed', `${hash}/${(s.currentStepIndex ?? 1) - 1}`);
  const runs = [s.canary?.currentStepAnalysisRunStatus, s.canary?.currentBackgroundAnalysisRunStatus, s.blueGreen?.prePromotionAnalysisRunStatus, s.blueGreen?.postPromotionAnalysisRunStatus];
  for (const r of runs) {
    if (r?.name === undefined) continue;
    if (r.status === 'Failed') fired.set('on-analysis-run-failed', r.name);
    else if (r.status === 'Error') fired.set('on-analysis-run-error', r.name);
    else if (r.status === 'Running') fired.set('on-analysis-run-running', r.name);
  }
  return fired;
}

/** The builtin triggers a kind fires (Argo Rollouts' and Argo CD's catalog names). */
export const BUILTIN_TRIGGERS = {
  rollout: ['on-rollout-updated', 'on-rollout-aborted', 'on-rollout-completed', 'on-rollout-paused', 'on-rollout-step-completed', 'on-analysis-run-failed', 'on-analysis-run-error', 'on-analysis-run-running'],
  app: ['on-created', 'on-deleted', 'on-deployed', 'on-health-degraded', 'on-sync-failed', 'on-sync-running', 'on-sync-status-unknown', 'on-sync-succeeded'],
} as const;

interface AppLike {
  metadata?: { uid?: string; deletionTimestamp?: string };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string };
    operationState?: { phase?: string; syncResult?: { revision?: string } };
  };
}

/**
 * Argo CD's catalog triggers for an Application, as states of its status. Each fires once per revision (the commit
 * the sync applied), so a retried failure or a self-heal of the same commit is not announced again.
 */
export function applicationTriggers(obj: KubeObject): Map<string, string> {
  const a = obj as AppLike;
  const s = a.status ?? {};
  const fired = new Map<string, string>();
  fired.set('on-created', a.metadata?.uid ?? 'created');
  if (a.metadata?.deletionTimestamp !== undefined) fired.set('on-deleted', a.metadata.uid ?? 'deleted');
  const op = s.operationState;
  const revision = op?.syncResult?.revision ?? s.sync?.revision ?? '';
  if (op?.phase === 'Succeeded') fired.set('on-sync-succeeded', revision);
  if (op?.phase === 'Failed' || op?.phase === 'Error') fired.set('on-sync-failed', revision);
  if (op?.phase === 'Running') fired.set('on-sync-running', revision);
  if (op?.phase === 'Succeeded' && s.health?.status === 'Healthy') fired.set('on-deployed', revision);
  if (s.health?.status === 'Degraded') fired.set('on-health-degraded', s.sync?.revision ?? revision);
  if (s.sync?.status === 'Unknown') fired.set('on-sync-status-unknown', s.sync.revision ?? revision);
  return fired;
}

/** Sent keys from the annotation; a malformed value counts as none sent (it is rewritten on the next send). */
export function notifiedKeys(annotations: Readonly<Record<string, string>> | undefined): Record<string, number> {
  const raw = annotations?.[NOTIFIED_ANNOTATION];
  if (raw === undefined) return {};
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number'));
  } catch {
    return {};
  }
}

/** The annotation's value with `key` added, keeping the newest MAX_NOTIFIED_KEYS. */
export function withNotified(prev: Record<string, number>, key: string, at: number): string {
  const all = Object.entries({ ...prev, [key]: at }).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return JSON.stringify(Object.fromEntries(all.slice(0, MAX_NOTIFIED_KEYS)));
}

export interface Owed {
  /** `<oncePer>:<trigger>:<service>:<recipient>`: the identity of one notification. */
  key: string;
  trigger: string;
  service: string;
  recipient: string;
}

/** The notifications this object owes and has not sent: subscribed, fired, not yet in the annotation. */
export function owed(obj: KubeObject, fired: ReadonlyMap<string, string>): Owed[] {
  const sent = notifiedKeys(obj.metadata?.annotations);
  const out: Owed[] = [];
  for (const sub of subscriptions(obj.metadata?.annotations)) {
    const oncePer = fired.get(sub.trigger);
    if (oncePer === undefined) continue;
    const key = `${oncePer}:${sub.trigger}:${sub.service}:${sub.recipient}`;
    if (sent[key] === undefined) out.push({ key, ...sub });
  }
  return out;
}
