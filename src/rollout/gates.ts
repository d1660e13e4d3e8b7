// The shell side of the webhook gates (strategy.canary.webhooks and strategy.blueGreen.webhooks): the HTTP calls the
// pure engine cannot make. The engine names the webhook types it consulted (Decision.needGates); gate-calls.ts calls
// them in the background (every hook of a type at once, each with its timeout and retries) and the next reconcile
// decides with the answers. Notifications (post-rollout, event) are sent from the decision's events and never hold.
import type { Logger } from 'pino';
import { parseDuration } from '../api/common/duration.ts';
import type { RolloutWebhook, RolloutWebhookType } from '../api/rollout/schema.ts';
import { failureText, postWebhook, webhookUrl, type WebhookPayload } from '../webhooks/post.ts';
import type { GateResult } from './decide/gates.ts';
import type { EngineEvent } from './decide/types.ts';

const DEFAULT_TIMEOUT_MS = 10_000;

/** Who the calls are about: Flagger's payload fields other than phase and metadata. */
export interface GateTarget {
  name: string;
  namespace: string;
  /** The revision's pod-template hash (Flagger sends its canary's checksum). */
  checksum: string;
}

/** Flagger's phase names in the payload, by the point the hook is called at. */
const PHASE: Record<RolloutWebhookType, string> = {
  'confirm-rollout': 'Waiting',
  'pre-rollout': 'Progressing',
  rollout: 'Progressing',
  'confirm-traffic-increase': 'Progressing',
  'confirm-promotion': 'WaitingPromotion',
  rollback: 'Progressing',
  'post-rollout': 'Succeeded',
  event: 'Progressing',
};

/** One hook, one answer: ok on 2xx; anything else (4xx, or no answer after the retries) is not ok, with why. */
export async function callHook(hook: RolloutWebhook, payload: WebhookPayload, signal: AbortSignal): Promise<GateResult> {
  const url = webhookUrl(hook.url);
  if (typeof url === 'string') return { name: hook.name, ok: false, message: `url ${url}` };
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  try {
    if (hook.timeout !== undefined) timeoutMs = parseDuration(hook.timeout);
  } catch (err) {
    return { name: hook.name, ok: false, message: `timeout: ${err instanceof Error ? err.message : String(err)}` };
  }
  const out = await postWebhook(url, payload, { timeoutMs, retries: hook.retries ?? 0, signal });
  if (out.kind === 'failure') return { name: hook.name, ok: false, message: failureText(out) };
  return { name: hook.name, ok: out.ok, message: `HTTP ${out.status}${out.text !== '' ? `: ${out.text}` : ''}` };
}

/** Calls every hook of a type, in parallel. */
export async function callGates(hooks: readonly RolloutWebhook[], type: RolloutWebhookType, target: GateTarget, signal: AbortSignal): Promise<GateResult[]> {
  const mine = hooks.filter((h) => h.type === type);
  return Promise.all(mine.map((h) => callHook(h, { ...target, phase: PHASE[type], metadata: h.metadata ?? {} }, signal)));
}

/**
 * Notifications, sent in the background: `event` hooks for every event of the decision (Flagger's eventMessage and
 * eventType in the metadata), `post-rollout` hooks once a revision was promoted (Succeeded) or aborted (Failed).
 */
export function notifyHooks(hooks: readonly RolloutWebhook[] | undefined, events: readonly EngineEvent[], outcome: 'Succeeded' | 'Failed' | undefined, target: GateTarget, log: Logger): void {
  if (hooks === undefined || hooks.length === 0) return;
  const send = (hook: RolloutWebhook, phase: string, metadata: Record<string, string>): void => {
    void callHook(hook, { ...target, phase, metadata: { ...hook.metadata, ...metadata } }, AbortSignal.timeout(60_000)).then((r) => {
      if (!r.ok) log.warn({ webhook: hook.name, type: hook.type, answer: r.message }, 'webhook notification not accepted');
    });
  };
  for (const hook of hooks) {
    if (hook.type === 'event') for (const e of events) send(hook, outcome ?? PHASE.event, { eventMessage: e.message, eventType: e.type, eventReason: e.reason, timestamp: String(Date.now()) });
    if (hook.type === 'post-rollout' && outcome !== undefined) send(hook, outcome, {});
  }
}
