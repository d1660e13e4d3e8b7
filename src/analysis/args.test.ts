import { describe, expect, it } from '@jest/globals';
import type { Metric } from '../api/analysis/schema.ts';
import { ArgError, readField, resolveArgs, substituteArgs, type SecretReader } from './args.ts';
import { errorStatus, runStatus } from './status.ts';
import { decideRun, recordMeasurement } from './decide/decide.ts';
import { planMetrics } from './decide/plan.ts';

const run = { metadata: { name: 'r1', namespace: 'ns', uid: 'u-1', labels: { app: 'cart' }, annotations: { 'x.io/team': 'shop' } } };
const secrets: SecretReader = { read: (ns, name, key) => Promise.resolve(ns === 'ns' && name === 's' && key === 'token' ? 'hunter2' : undefined) };

describe('args', () => {
  it('resolves value, secretKeyRef and fieldRef', async () => {
    const values = await resolveArgs(
      [
        { name: 'a', value: 'plain' },
        { name: 'b', valueFrom: { secretKeyRef: { name: 's', key: 'token' } } },
        { name: 'c', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'd', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'e', valueFrom: { fieldRef: { fieldPath: 'metadata.annotations["x.io/team"]' } } },
      ],
      run,
      secrets,
    );
    expect(Object.fromEntries(values)).toEqual({ a: 'plain', b: 'hunter2', c: 'cart', d: 'ns', e: 'shop' });
  });

  it('names the field of an arg that cannot be resolved', async () => {
    await expect(resolveArgs([{ name: 'x' }], run, secrets)).rejects.toThrow(new ArgError('spec.args[0]', 'arg "x" has no value (set value or valueFrom)'));
    await expect(resolveArgs([{ name: 'x', value: '1' }, { name: 'y', valueFrom: { secretKeyRef: { name: 's', key: 'nope' } } }], run, secrets)).rejects.toThrow(/^spec\.args\[1\]\.valueFrom\.secretKeyRef: /);
    await expect(resolveArgs([{ name: 'z', valueFrom: { fieldRef: { fieldPath: 'spec.replicas' } } }], run, secrets)).rejects.toThrow(/spec\.args\[0\]\.valueFrom\.fieldRef/);
    expect(readField(run, 'metadata.labels.app')).toBe('cart');
  });

  it('substitutes every string of a metric, limits included', () => {
    const m: Metric = { name: 'm', count: '{{args.n}}', successCondition: 'result[0] > {{args.min}}', provider: { prometheus: { address: 'http://{{args.host}}', query: 'sum(x{app="{{args.app}}"})', headers: [{ key: 'Authorization', value: 'Bearer {{args.token}}' }] } } };
    const out = substituteArgs(m, 0, new Map([['n', '3'], ['min', '0.9'], ['host', '127.0.0.1:9090'], ['app', 'cart'], ['token', 't']]));
    expect(out).toEqual({ name: 'm', count: '3', successCondition: 'result[0] > 0.9', provider: { prometheus: { address: 'http://127.0.0.1:9090', query: 'sum(x{app="cart"})', headers: [{ key: 'Authorization', value: 'Bearer t' }] } } });
    expect(planMetrics({ metrics: [{ ...out, interval: '1s' }] })[0]?.count).toBe(3);
    expect(() => substituteArgs(m, 2, new Map())).toThrow(/^spec\.metrics\[2\]\.count: references undeclared arg "n"/);
  });
});

describe('status', () => {
  it('lists every metric, Pending until measured, and sets completedAt once', () => {
    const plans = planMetrics({ metrics: [{ name: 'a', provider: {} }, { name: 'b', provider: {} }], dryRun: [{ metricName: 'b' }] });
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const d0 = decideRun(plans, [], { terminate: false, startedAtMs: t0, nowMs: t0 });
    const s0 = runStatus(plans, [], d0, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', undefined);
    expect(s0.metricResults?.map((r) => [r.name, r.phase, r.dryRun])).toEqual([['a', 'Pending', undefined], ['b', 'Pending', true]]);
    expect(s0.completedAt).toBeUndefined();
    const a = recordMeasurement(plans[0] as never, undefined, { phase: 'Successful', value: '1', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:00.100Z' });
    const b = recordMeasurement(plans[1] as never, undefined, { phase: 'Failed', value: '0', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:00.100Z' });
    const d1 = decideRun(plans, [a, b], { terminate: false, startedAtMs: t0, nowMs: t0 + 200 });
    const s1 = runStatus(plans, [a, b], d1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.200Z', s0);
    expect(s1).toMatchObject({ phase: 'Successful', completedAt: '2026-01-01T00:00:00.200Z', runSummary: { count: 1, successful: 1 }, dryRunSummary: { count: 1, failed: 1 } });
    expect(errorStatus(s1, 'boom', 'later')).toMatchObject({ phase: 'Error', message: 'boom', startedAt: '2026-01-01T00:00:00.000Z', completedAt: 'later' });
  });
});
