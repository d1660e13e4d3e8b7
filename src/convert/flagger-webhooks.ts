// Flagger's webhooks → Sluice. The checks map to AnalysisTemplates measured by the webhook provider (the same POST
// of Flagger's payload): pre-rollout hooks become one analysis step before the first weight, rollout hooks (load
// tests, per-iteration checks; Flagger's default type) a template of the background analysis, measured every
// interval and failing after `threshold` failed calls. The gates and notifications (confirm-*, post-rollout,
// rollback, event) hold or react to a rollout and have no Sluice equivalent yet: reported, with what to use.
import { z } from 'zod';
import type { PathSegment } from '../lint/source.ts';
import { SLUICE_API, type ConvertContext, type Manifest } from './types.ts';

const WHY_NOT: Readonly<Record<string, string>> = {
  'confirm-rollout': 'Sluice has no webhook gates yet: start the rollout paused (spec.paused) and resume it with `kubectl sluice promote`',
  'confirm-traffic-increase': 'Sluice has no webhook gates yet: put `pause: {}` steps where the weight must wait, promoted with `kubectl sluice promote`',
  'confirm-promotion': 'Sluice has no webhook gates yet: end the steps with `pause: {}`, promoted with `kubectl sluice promote`',
  'post-rollout': 'Sluice calls no hook after a rollout: watch the Rollout\'s RolloutCompleted and RolloutAborted Events instead',
  rollback: 'Sluice has no rollback hook yet: abort with `kubectl sluice abort`',
  event: 'Sluice sends no event webhooks: its Kubernetes Events carry the same news',
};

export interface ConvertedWebhooks {
  /** The AnalysisTemplate of the pre-rollout hooks (an analysis step before the first weight). */
  preRollout?: string;
  /** The AnalysisTemplate of the rollout hooks (in the background analysis). */
  rollout?: string;
}

interface Hook {
  index: number;
  name: string;
  url: string;
  timeout?: string;
  metadata?: Record<string, string>;
}

export function convertWebhooks(ctx: ConvertContext, at: PathSegment[], input: { canary: string; namespace: string | undefined; interval: string; failureLimit: number }): ConvertedWebhooks {
  const f = ctx.fields;
  const hooks: Record<'pre-rollout' | 'rollout', Hook[]> = { 'pre-rollout': [], rollout: [] };
  for (const i of f.keys(...at)) {
    const h: PathSegment[] = [...at, i];
    const type = f.string(...h, 'type') ?? 'rollout';
    if (type !== 'pre-rollout' && type !== 'rollout') {
      f.consume(h);
      ctx.report(h, 'unmapped', `webhook type ${type}: ${WHY_NOT[type] ?? 'not a Flagger webhook type Sluice knows'}: left out`);
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
    // Flagger's muteAlert concerns its alerts, which Sluice does not send; nothing is lost by dropping it.
    f.take(...h, 'muteAlert');
    hooks[type].push({ index: Number(i), name, url, ...(timeout !== undefined ? { timeout } : {}), ...(metadata !== undefined ? { metadata } : {}) });
  }
  const out: ConvertedWebhooks = {};
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
          provider: { webhook: { url: h.url, type, ...(h.timeout !== undefined ? { timeout: h.timeout } : {}), ...(h.metadata !== undefined ? { metadata: h.metadata } : {}) } },
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
