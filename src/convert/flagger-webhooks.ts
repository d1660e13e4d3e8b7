// Flagger's webhooks → Sluice. The checks map to AnalysisTemplates measured by the webhook provider (the same POST
// of Flagger's payload): pre-rollout hooks become one analysis step before the first weight, rollout hooks (load
// tests, per-iteration checks; Flagger's default type) a template of the background analysis, measured every
// interval and failing after `threshold` failed calls. The gates and notifications (confirm-*, post-rollout,
// rollback, event) become the Rollout's own webhooks (spec.strategy.canary.webhooks), asked again every interval.
import { z } from 'zod';
import type { RolloutWebhook, RolloutWebhookType } from '../api/rollout/schema.ts';
import type { PathSegment } from '../lint/source.ts';
import { SLUICE_API, type ConvertContext, type Manifest } from './types.ts';

const GATE_TYPES: readonly string[] = ['confirm-rollout', 'confirm-traffic-increase', 'confirm-promotion', 'post-rollout', 'rollback', 'event'] satisfies RolloutWebhookType[];

export interface ConvertedWebhooks {
  /** The AnalysisTemplate of the pre-rollout hooks (an analysis step before the first weight). */
  preRollout?: string;
  /** The AnalysisTemplate of the rollout hooks (in the background analysis). */
  rollout?: string;
  /** Gates and notifications, as the Rollout's spec.strategy.canary.webhooks. */
  gates?: RolloutWebhook[];
}

interface Hook {
  index: number;
  name: string;
  url: string;
  timeout?: string;
  retries?: number;
  metadata?: Record<string, string>;
}

/** The types asked again while they hold (or watch for a rollback). */
const GATE_HOLDS = new Set(['confirm-rollout', 'confirm-traffic-increase', 'confirm-promotion', 'rollback']);

export function convertWebhooks(ctx: ConvertContext, at: PathSegment[], input: { canary: string; namespace: string | undefined; interval: string; failureLimit: number }): ConvertedWebhooks {
  const f = ctx.fields;
  const hooks: Record<'pre-rollout' | 'rollout', Hook[]> = { 'pre-rollout': [], rollout: [] };
  const gates: RolloutWebhook[] = [];
  for (const i of f.keys(...at)) {
    const h: PathSegment[] = [...at, i];
    const type = f.string(...h, 'type') ?? 'rollout';
    if (type !== 'pre-rollout' && type !== 'rollout' && !GATE_TYPES.includes(type)) {
      f.consume(h);
      ctx.report(h, 'unmapped', `webhook type ${type}: not a Flagger webhook type Sluice knows: left out`);
      continue;
    }
    const name = f.string(...h, 'name') ?? `hook-${String(i)}`;
    const url = f.string(...h, 'url');
    if (url === undefined || !/^https?:\/\//.test(url)) {
      ctx.report([...h, 'url'], 'error', `must be an http(s) URL, got ${url === undefined ? 'nothing' : `"${url}"`}`);
      f.consume(h);
      continue;
    }
    const timeout = f.string(...h, 'timeout');
    const metadata = f.typed(z.record(z.string(), z.string()), ...h, 'metadata');
    const retries = f.number(...h, 'retries');
    // Flagger's muteAlert concerns its alerts, which Sluice does not send; nothing is lost by dropping it.
    f.take(...h, 'muteAlert');
    if (type !== 'pre-rollout' && type !== 'rollout') {
      // Flagger asks a held gate again every analysis interval; so does the Rollout.
      gates.push({ name, type: type as RolloutWebhookType, url, ...(timeout !== undefined ? { timeout } : {}), ...(retries !== undefined ? { retries } : {}), ...(GATE_HOLDS.has(type) ? { interval: input.interval } : {}), ...(metadata !== undefined ? { metadata } : {}) });
      continue;
    }
    hooks[type].push({ index: Number(i), name, url, ...(timeout !== undefined ? { timeout } : {}), ...(retries !== undefined ? { retries } : {}), ...(metadata !== undefined ? { metadata } : {}) });
  }
  const out: ConvertedWebhooks = gates.length > 0 ? { gates } : {};
  if (gates.length > 0) ctx.report(at, 'note', `gates and notifications (${[...new Set(gates.map((g) => g.type))].join(', ')}): the Rollout's webhooks (spec.strategy.canary.webhooks); a held gate is asked again every ${input.interval}`);
  const emit = (suffix: string, type: 'pre-rollout' | 'rollout', list: Hook[], every: boolean): string => {
    const template = `${input.canary}-${suffix}`;
    ctx.emit({
      apiVersion: SLUICE_API,
      kind: 'AnalysisTemplate',
      metadata: { name: template, ...(input.namespace !== undefined ? { namespace: input.namespace } : {}) },
      spec: {
        metrics: list.map((h) => ({
          name: h.name,
          // A rollout hook is called every interval for as long as the background analysis runs; a pre-rollout once.
          ...(every ? { interval: input.interval, failureLimit: input.failureLimit, consecutiveErrorLimit: input.failureLimit } : { count: 1, consecutiveErrorLimit: 0 }),
          provider: { webhook: { url: h.url, type, ...(h.timeout !== undefined ? { timeout: h.timeout } : {}), ...(h.retries !== undefined ? { retries: h.retries } : {}), ...(h.metadata !== undefined ? { metadata: h.metadata } : {}) } },
        })),
      },
    } satisfies Manifest);
    return template;
  };
  if (hooks['pre-rollout'].length > 0) {
    out.preRollout = emit('pre-rollout', 'pre-rollout', hooks['pre-rollout'], false);
    ctx.report(at, 'note', `pre-rollout webhooks: an analysis step (AnalysisTemplate ${out.preRollout}) before the first weight; a failing or unreachable hook aborts the rollout`);
  }
  if (hooks.rollout.length > 0) {
    out.rollout = emit('webhooks', 'rollout', hooks.rollout, true);
    ctx.report(at, 'note', `rollout webhooks: called every ${input.interval} by the background analysis (AnalysisTemplate ${out.rollout}); ${input.failureLimit + 1} failed calls abort, as Flagger's threshold`);
  }
  return out;
}
