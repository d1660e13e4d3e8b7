// An Argo-shaped AnalysisTemplate goes through the whole pure path: schema, validation, args, plans, conditions.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { analysisTemplateSchema } from '../api/analysis/schema.ts';
import { validateAnalysisSpec } from '../api/analysis/validate.ts';
import { resolveArgs, substituteArgs } from './args.ts';
import { judge } from './decide/judge.ts';
import { planMetrics } from './decide/plan.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'analysis');

describe('an Argo AnalysisTemplate', () => {
  const t = analysisTemplateSchema.parse(parse(readFileSync(join(FIXTURES, 'argo-analysistemplate.yaml'), 'utf8')));

  it('validates, resolves its args and plans with the values they carry', async () => {
    expect(validateAnalysisSpec(t.spec)).toEqual([]);
    // A Rollout would pass service-name; here the run carries it as a value.
    const args = (t.spec.args ?? []).map((a) => (a.name === 'service-name' ? { ...a, value: 'cart.shop.svc.cluster.local' } : a));
    const values = await resolveArgs(args, { metadata: { name: 'run', namespace: 'shop' } }, { read: (_ns, name, key) => Promise.resolve(name === 'analysis-secrets' && key === 'token' ? 's3cret' : undefined) });
    const metrics = t.spec.metrics.map((m, i) => substituteArgs(m, i, values));
    expect(metrics[0]?.provider.prometheus?.headers).toEqual([{ key: 'Authorization', value: 'Bearer s3cret' }]);
    expect(metrics[0]?.provider.prometheus?.query).toContain('destination_service=~"cart.shop.svc.cluster.local"');
    expect(metrics[2]?.provider.web?.url).toBe('http://127.0.0.1:8080/health?svc=cart.shop.svc.cluster.local');
    const plans = planMetrics({ ...t.spec, metrics });
    expect(plans.map((p) => [p.name, p.count, p.intervalMs, p.initialDelayMs, p.failureLimit, p.dryRun, p.retention])).toEqual([
      ['success-rate', 5, 30_000, 0, 1, false, 3],
      ['latency', undefined, 60_000, 120_000, 0, true, 3],
      ['health', 1, undefined, 0, 0, false, 3],
    ]);
  });

  it('judges with its conditions', () => {
    const [sr, lat, health] = t.spec.metrics;
    const v = (result: unknown) => ({ kind: 'value' as const, result: result as never, display: '' });
    expect(judge(sr ?? { name: '', provider: {} }, v([0.99]), 'inconclusive').phase).toBe('Successful');
    expect(judge(sr ?? { name: '', provider: {} }, v([0.8]), 'inconclusive').phase).toBe('Inconclusive');
    expect(judge(sr ?? { name: '', provider: {} }, v([0.2]), 'inconclusive').phase).toBe('Failed');
    expect(judge(sr ?? { name: '', provider: {} }, v([Number.NaN]), 'inconclusive').phase).toBe('Failed');
    expect(judge(lat ?? { name: '', provider: {} }, v([]), 'inconclusive').phase).toBe('Successful');
    expect(judge(health ?? { name: '', provider: {} }, v({ status: 'ok' }), 'inconclusive').phase).toBe('Successful');
  });
});
