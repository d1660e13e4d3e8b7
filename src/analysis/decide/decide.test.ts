import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { AnalysisPhase, MetricResult } from '../../api/analysis/schema.ts';
import { assessMetric, decideRun, endInProgress, ENDED_IN_PROGRESS, nextDue, recordMeasurement, type Taken } from './decide.ts';
import { judge, type Observation } from './judge.ts';
import { missingDataPolicies, planMetrics, PlanError, type MetricPlan, type MissingDataPolicy } from './plan.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();

const plan = (over: Partial<MetricPlan> = {}): MetricPlan => ({
  name: 'm',
  intervalMs: 1000,
  initialDelayMs: 0,
  count: 3,
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
  errorRetryMs: 1000,
  dryRun: false,
  retention: 10,
  missingData: 'inconclusive',
  ...over,
});

const taken = (phase: Taken['phase'], at: number, extra: Partial<Taken> = {}): Taken => ({ phase, value: '[1]', startedAt: iso(at), finishedAt: iso(at), ...extra });

/** Records phases in order, one second apart, and returns the result. */
function record(p: MetricPlan, phases: (Taken['phase'] | 'Ignored')[]): MetricResult | undefined {
  let r: MetricResult | undefined;
  phases.forEach((ph, i) => {
    r = recordMeasurement(p, r, ph === 'Ignored' ? taken('Inconclusive', T0 + i * 1000, { ignored: true }) : taken(ph, T0 + i * 1000));
  });
  return r;
}

describe('the measurement truth table (judge)', () => {
  const value = (n: number): Observation => ({ kind: 'value', result: [n], display: `[${n}]` });
  const missing: Observation = { kind: 'missing', reason: 'empty vector', display: '[]' };
  it.each<[string | undefined, string | undefined, Observation, MissingDataPolicy, string]>([
    [undefined, undefined, missing, 'fail', 'Failed'],
    [undefined, undefined, missing, 'inconclusive', 'Inconclusive'],
    [undefined, undefined, missing, 'ignore', 'Inconclusive/ignored'],
    ['result[0] > 1', undefined, missing, 'inconclusive', 'Inconclusive'],
    ['result[0] > ', undefined, value(1), 'fail', 'Error'],
    [undefined, 'nope(result)', value(1), 'fail', 'Error'],
    ['result[0] > 1', 'result[0] > 5', value(9), 'fail', 'Failed'],
    ['result[0] > 1', undefined, value(2), 'fail', 'Successful'],
    ['result[0] > 1', undefined, value(0), 'fail', 'Failed'],
    ['result[0] > 1', 'result[0] < 0', value(2), 'fail', 'Successful'],
    ['result[0] > 1', 'result[0] < 0', value(0.5), 'fail', 'Inconclusive'],
    [undefined, 'result[0] < 0', value(2), 'fail', 'Successful'],
    [undefined, undefined, value(2), 'fail', 'Inconclusive'],
  ])('success %s, failure %s, %j (%s) → %s', (successCondition, failureCondition, obs, policy, want) => {
    const j = judge({ successCondition, failureCondition }, obs, policy);
    expect(j.ignored === true ? `${j.phase}/ignored` : j.phase).toBe(want);
    expect(j.value).toBe(obs.display);
  });

  it('lets a condition that tests isNaN judge a NaN answer (it states its own NaN policy)', () => {
    const nan: Observation = { kind: 'missing', reason: 'NaN', display: '[NaN]', result: [Number.NaN] };
    expect(judge({ failureCondition: 'isNaN(result[0]) || result[0] < 0.9' }, nan, 'ignore').phase).toBe('Failed');
    expect(judge({ successCondition: 'isNaN(result[0])' }, nan, 'fail').phase).toBe('Successful');
    // Without isNaN in a condition the policy decides; an empty vector has nothing to test either way.
    expect(judge({ successCondition: 'result[0] > 1' }, nan, 'fail').phase).toBe('Failed');
    expect(judge({ failureCondition: 'isNaN(result[0])' }, missing, 'inconclusive').phase).toBe('Inconclusive');
  });

  it('names the condition that erred', () => {
    expect(judge({ failureCondition: 'bad(' }, { kind: 'value', result: 1, display: '1' }, 'fail').message).toMatch(/^failureCondition: /);
    expect(judge({ successCondition: 'result[0] > 1' }, { kind: 'value', result: 1, display: '1' }, 'fail').message).toMatch(/^successCondition: .*cannot read number 0/);
  });
});

describe('the metric truth table (assessMetric)', () => {
  it.each<[string, Partial<MetricPlan>, (Taken['phase'] | 'Ignored')[], boolean, AnalysisPhase]>([
    ['nothing yet', {}, [], false, 'Pending'],
    ['one success of three', {}, ['Successful'], false, 'Running'],
    ['count reached, all successful', {}, ['Successful', 'Successful', 'Successful'], false, 'Successful'],
    ['first failure with failureLimit 0 ends at once', {}, ['Failed'], false, 'Failed'],
    ['failures within failureLimit', { failureLimit: 1 }, ['Failed', 'Successful', 'Successful'], false, 'Successful'],
    ['failures beyond failureLimit', { failureLimit: 1 }, ['Failed', 'Failed'], false, 'Failed'],
    ['failureLimit -1 never fails on measurements', { failureLimit: -1 }, ['Failed', 'Failed', 'Successful'], false, 'Successful'],
    ['failureLimit -1 and no success', { failureLimit: -1 }, ['Failed', 'Failed', 'Failed'], false, 'Inconclusive'],
    ['inconclusive beyond inconclusiveLimit', {}, ['Inconclusive'], false, 'Inconclusive'],
    ['inconclusive within inconclusiveLimit', { inconclusiveLimit: 1 }, ['Inconclusive', 'Successful'], false, 'Running'],
    ['errors within consecutiveErrorLimit', { consecutiveErrorLimit: 2 }, ['Error', 'Error'], false, 'Running'],
    ['errors beyond consecutiveErrorLimit', { consecutiveErrorLimit: 2 }, ['Error', 'Error', 'Error'], false, 'Error'],
    ['a success resets consecutive errors', { consecutiveErrorLimit: 1 }, ['Error', 'Successful', 'Error', 'Successful', 'Successful'], false, 'Successful'],
    ['errors do not count toward count', {}, ['Successful', 'Error', 'Successful'], false, 'Running'],
    ['ignored no-data counts toward count', {}, ['Ignored', 'Successful', 'Ignored'], false, 'Successful'],
    ['only ignored no-data is never Successful', {}, ['Ignored', 'Ignored', 'Ignored'], false, 'Inconclusive'],
    ['terminated with a success', { count: undefined }, ['Successful'], true, 'Successful'],
    ['terminated before any measurement', { count: undefined }, [], true, 'Inconclusive'],
    ['terminated with only errors', {}, ['Error'], true, 'Inconclusive'],
    ['failure limit wins over termination', { count: undefined }, ['Failed'], true, 'Failed'],
    ['indefinite metric keeps running', { count: undefined }, ['Successful', 'Successful', 'Successful', 'Successful'], false, 'Running'],
  ])('%s', (_name, over, phases, terminating, want) => {
    const p = plan(over);
    expect(assessMetric(p, record(p, phases), terminating).phase).toBe(want);
  });

  it('keeps counters and trims history to the retention (at least one)', () => {
    const p = plan({ retention: 2, count: 5 });
    const r = record(p, ['Successful', 'Error', 'Successful', 'Ignored']);
    expect(r).toMatchObject({ count: 3, successful: 2, error: 1, consecutiveError: 0, inconclusive: 0 });
    expect(r?.measurements).toHaveLength(2);
    expect(r?.measurements?.[1]?.message).toMatch(/^ignored: /);
  });
});

describe('scheduling (nextDue)', () => {
  it('waits initialDelay, then interval after each measurement, and retries errors sooner', () => {
    const p = plan({ initialDelayMs: 5000, intervalMs: 30_000, errorRetryMs: 10_000 });
    expect(nextDue(p, undefined, T0)).toBe(T0 + 5000);
    const r1 = recordMeasurement(p, undefined, taken('Successful', T0 + 5000));
    expect(nextDue(p, r1, T0)).toBe(T0 + 35_000);
    const r2 = recordMeasurement(p, r1, taken('Error', T0 + 35_000));
    expect(nextDue(p, r2, T0)).toBe(T0 + 45_000);
  });

  it('has nothing due once complete', () => {
    const p = plan({ count: 1, intervalMs: undefined });
    expect(nextDue(p, record(p, ['Successful']), T0)).toBeUndefined();
  });
});

describe('the run truth table (decideRun)', () => {
  const a = plan({ name: 'a' });
  const b = plan({ name: 'b' });
  const run = (plans: MetricPlan[], results: (MetricResult | undefined)[], terminate = false, nowMs = T0 + 100_000) =>
    decideRun(plans, results.filter((r): r is MetricResult => r !== undefined), { terminate, startedAtMs: T0, nowMs });

  it('measures every metric at the start and requeues at the earliest due time', () => {
    const d = run([a, plan({ name: 'b', initialDelayMs: 3000 })], [], false, T0);
    expect(d.phase).toBe('Running');
    expect(d.due).toEqual(['a']);
    expect(d.nextAt).toBe(T0 + 3000);
  });

  it('fails at once when one metric fails, ending the others', () => {
    const d = run([a, b], [record(a, ['Failed']), record(b, ['Successful'])]);
    expect(d).toMatchObject({ phase: 'Failed', completed: true, due: [] });
    expect(d.message).toContain('metric "a" Failed');
    expect(d.metrics.find((m) => m.name === 'b')?.phase).toBe('Successful');
  });

  it('takes the worst decisive phase (Failed over Error over Inconclusive)', () => {
    const e = plan({ name: 'e', consecutiveErrorLimit: 0 });
    expect(run([a, e], [record(a, ['Inconclusive']), record(e, ['Error'])]).phase).toBe('Error');
    expect(run([a, e], [record(a, ['Failed']), record(e, ['Error'])]).phase).toBe('Failed');
  });

  it('is Successful only when every metric completed Successful', () => {
    expect(run([a, b], [record(a, ['Successful', 'Successful', 'Successful']), record(b, ['Successful'])]).phase).toBe('Running');
    expect(run([a, b], [record(a, ['Successful', 'Successful', 'Successful']), record(b, ['Successful', 'Successful', 'Successful'])]).phase).toBe('Successful');
  });

  it('ignores dry-run metrics for the verdict but reports them', () => {
    const dry = plan({ name: 'dry', dryRun: true });
    const d = run([a, dry], [record(a, ['Successful', 'Successful', 'Successful']), record(dry, ['Failed'])]);
    expect(d.phase).toBe('Successful');
    expect(d.dryRunSummary).toMatchObject({ count: 1, failed: 1 });
    expect(d.runSummary).toMatchObject({ count: 1, successful: 1 });
  });

  it('says a terminated run was terminated', () => {
    const inf = plan({ name: 'a', count: undefined });
    const d1 = run([inf], [record(inf, ['Successful'])], true);
    expect(d1).toMatchObject({ phase: 'Successful', completed: true });
    expect(d1.message).toMatch(/^Run Terminated/);
    const d2 = run([inf], [], true);
    expect(d2.phase).toBe('Inconclusive');
    expect(d2.message).toMatch(/^Run Terminated; metric "a" Inconclusive: no measurement was taken/);
  });
});

describe('plans', () => {
  it("applies Argo's defaults and the spec's dry-run and retention", () => {
    const [p, q] = planMetrics({
      metrics: [
        { name: 'x', provider: { prometheus: { query: 'up' } } },
        { name: 'y', interval: '30s', count: '5', failureLimit: '2', provider: { prometheus: { query: 'up' } } },
      ],
      dryRun: [{ metricName: 'y' }],
      measurementRetention: [{ metricName: '*', limit: 3 }],
    });
    expect(p).toMatchObject({ count: 1, intervalMs: undefined, failureLimit: 0, consecutiveErrorLimit: 4, errorRetryMs: 10_000, dryRun: false, retention: 3, missingData: 'inconclusive' });
    expect(q).toMatchObject({ count: 5, intervalMs: 30_000, failureLimit: 2, errorRetryMs: 10_000, dryRun: true });
    expect(planMetrics({ metrics: [{ name: 'z', interval: '2s', provider: {} }] })[0]).toMatchObject({ count: undefined, errorRetryMs: 2000 });
  });

  it('names the field of a limit that did not resolve to an integer', () => {
    expect(() => planMetrics({ metrics: [{ name: 'x', failureLimit: 'lots', provider: {} }] })).toThrow(PlanError);
    expect(() => planMetrics({ metrics: [{ name: 'x', failureLimit: 'lots', provider: {} }] })).toThrow(/spec\.metrics\[0\]\.failureLimit/);
  });

  it('reads the missing-data annotation', () => {
    const r = missingDataPolicies('fail, latency=ignore');
    expect(r.ok && r.policy('latency')).toBe('ignore');
    expect(r.ok && r.policy('other')).toBe('fail');
    const d = missingDataPolicies(undefined);
    expect(d.ok && d.policy('x')).toBe('inconclusive');
    expect(missingDataPolicies('x=maybe')).toMatchObject({ ok: false });
  });

  it("lets a metric's own missingData field win over the run's annotation", () => {
    const fromAnnotation = missingDataPolicies('fail');
    if (!fromAnnotation.ok) throw new Error('annotation rejected');
    const [own, inherited] = planMetrics(
      { metrics: [{ name: 'a', missingData: 'ignore', provider: {} }, { name: 'b', provider: {} }] },
      fromAnnotation.policy,
    );
    expect(own?.missingData).toBe('ignore');
    expect(inherited?.missingData).toBe('fail');
  });
});

// A whole run simulated: every due metric gets the next scripted outcome, time jumps to the requeue.
const planArb: fc.Arbitrary<MetricPlan> = fc.record({
  name: fc.constant('m'),
  intervalMs: fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: undefined }),
  initialDelayMs: fc.integer({ min: 0, max: 10_000 }),
  count: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
  failureLimit: fc.integer({ min: -1, max: 3 }),
  inconclusiveLimit: fc.integer({ min: 0, max: 3 }),
  consecutiveErrorLimit: fc.integer({ min: 0, max: 4 }),
  errorRetryMs: fc.integer({ min: 1, max: 10_000 }),
  dryRun: fc.boolean(),
  retention: fc.integer({ min: 1, max: 10 }),
  missingData: fc.constantFrom<MissingDataPolicy>('fail', 'inconclusive', 'ignore'),
}).map((p) => (p.intervalMs === undefined && p.count === undefined ? { ...p, count: 1 } : p));

const outcomeArb = fc.constantFrom<Taken['phase'] | 'Ignored'>('Successful', 'Failed', 'Inconclusive', 'Error', 'Ignored');

function simulate(plans: MetricPlan[], script: (Taken['phase'] | 'Ignored')[], terminateAfter: number | undefined) {
  let results: MetricResult[] = [];
  let now = T0;
  let steps = 0;
  let terminate = false;
  const trace: { decision: ReturnType<typeof decideRun>; now: number; results: MetricResult[] }[] = [];
  for (let i = 0; i < 200; i++) {
    if (terminateAfter !== undefined && steps >= terminateAfter) terminate = true;
    const decision = decideRun(plans, results, { terminate, startedAtMs: T0, nowMs: now });
    trace.push({ decision, now, results });
    if (decision.completed) break;
    for (const name of decision.due) {
      const p = plans.find((x) => x.name === name) as MetricPlan;
      const ph = script[steps % script.length] ?? 'Successful';
      steps += 1;
      const prev = results.find((r) => r.name === name);
      const next = recordMeasurement(p, prev, ph === 'Ignored' ? taken('Inconclusive', now, { ignored: true }) : taken(ph, now));
      results = [...results.filter((r) => r.name !== name), next];
    }
    if (decision.due.length === 0) {
      if (decision.nextAt === undefined) break;
      expect(decision.nextAt).toBeGreaterThan(now);
      now = decision.nextAt;
    }
  }
  return trace;
}

describe('properties of a simulated run', () => {
  const arbs = [fc.array(planArb, { minLength: 1, maxLength: 3 }).map((ps) => ps.map((p, i) => ({ ...p, name: `m${i}` }))), fc.array(outcomeArb, { minLength: 1, maxLength: 12 }), fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined })] as const;

  it('never calls a metric Successful without a successful measurement (invariant 8)', () => {
    fc.assert(
      fc.property(...arbs, (plans, script, terminateAfter) => {
        for (const { decision, results } of simulate(plans, script, terminateAfter)) {
          for (const m of decision.metrics) {
            if (m.phase === 'Successful') expect(results.find((r) => r.name === m.name)?.successful ?? 0).toBeGreaterThan(0);
          }
          if (decision.phase === 'Successful' && decision.metrics.some((m) => !m.dryRun)) {
            for (const m of decision.metrics.filter((x) => !x.dryRun)) expect(results.find((r) => r.name === m.name)?.successful ?? 0).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('ends the run at the first decision once a gating metric exceeds a limit (abort fast)', () => {
    fc.assert(
      fc.property(...arbs, (plans, script, terminateAfter) => {
        for (const { decision, results } of simulate(plans, script, terminateAfter)) {
          const breached = plans.some((p) => {
            const r = results.find((x) => x.name === p.name);
            return !p.dryRun && r !== undefined && ((p.failureLimit >= 0 && (r.failed ?? 0) > p.failureLimit) || (r.consecutiveError ?? 0) > p.consecutiveErrorLimit);
          });
          if (breached) {
            expect(decision.completed).toBe(true);
            expect(['Failed', 'Error']).toContain(decision.phase);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('always terminates, keeps counters consistent and history bounded', () => {
    fc.assert(
      fc.property(...arbs, (plans, script, terminateAfter) => {
        const trace = simulate(plans, script, terminateAfter);
        const last = trace.at(-1);
        // Indefinite metrics with a benign script may run forever unless terminated; everything else completes.
        const indefinite = plans.some((p) => p.count === undefined);
        if (!indefinite || terminateAfter !== undefined) expect(last?.decision.completed).toBe(true);
        for (const { results } of trace) {
          for (const r of results) {
            const p = plans.find((x) => x.name === r.name) as MetricPlan;
            expect((r.measurements ?? []).length).toBeLessThanOrEqual(p.retention);
            expect((r.successful ?? 0) + (r.failed ?? 0) + (r.inconclusive ?? 0)).toBeLessThanOrEqual(r.count ?? 0);
            if (p.count !== undefined) expect(r.count ?? 0).toBeLessThanOrEqual(p.count);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a completed run is never Running and a running one always has work now or a future requeue', () => {
    fc.assert(
      fc.property(...arbs, (plans, script, terminateAfter) => {
        for (const { decision, now } of simulate(plans, script, terminateAfter)) {
          if (decision.completed) expect(decision.phase).not.toBe('Running');
          else expect(decision.due.length > 0 || (decision.nextAt !== undefined && decision.nextAt > now)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('measurements under way (a Job running)', () => {
  const running: Observation = { kind: 'running', display: 'job j1 running', metadata: { 'job-name': 'j1' }, resumeAfterMs: 5000 };
  const look = (obs: Observation, at: number): Taken => ({ ...judge({}, obs, 'fail'), startedAt: iso(at), finishedAt: iso(at) });
  const done: Observation = { kind: 'verdict', display: 'Complete', judgement: { phase: 'Successful', value: 'Complete', metadata: { 'job-name': 'j1' } } };

  it('counts toward nothing, is replaced by the next look, and the finished one keeps its start', () => {
    const p = plan({ count: 1, intervalMs: undefined });
    let r = recordMeasurement(p, undefined, look(running, T0));
    expect(r.phase).toBe('Running');
    expect(r.count ?? 0).toBe(0);
    expect(r.measurements).toEqual([{ phase: 'Running', value: 'job j1 running', startedAt: iso(T0), resumeAt: iso(T0 + 5000), metadata: { 'job-name': 'j1' } }]);
    r = recordMeasurement(p, r, look(running, T0 + 5000));
    expect(r.measurements).toHaveLength(1);
    expect(r.measurements?.[0]).toMatchObject({ startedAt: iso(T0), resumeAt: iso(T0 + 10_000) });
    r = recordMeasurement(p, r, look(done, T0 + 7000));
    expect(r).toMatchObject({ phase: 'Successful', count: 1, successful: 1 });
    expect(r.measurements).toEqual([{ phase: 'Successful', value: 'Complete', startedAt: iso(T0), finishedAt: iso(T0 + 7000), metadata: { 'job-name': 'j1' } }]);
  });

  it('is due at its resumeAt, or at once when its provider saw it finish', () => {
    const p = plan({ count: 2 });
    const r = recordMeasurement(p, undefined, look(running, T0));
    expect(nextDue(p, r, T0)).toBe(T0 + 5000);
    expect(nextDue(p, r, T0, true)).toBe(T0);
    const d = decideRun([p], [r], { terminate: false, startedAtMs: T0, nowMs: T0 + 1000 });
    expect(d).toMatchObject({ due: [], nextAt: T0 + 5000, phase: 'Running' });
    expect(decideRun([p], [r], { terminate: false, startedAtMs: T0, nowMs: T0 + 1000, resumeNow: new Set(['m']) }).due).toEqual(['m']);
  });

  it('a terminated run ends it Inconclusive without touching the counters (never a success: invariant 8)', () => {
    const p = plan({ count: 3 });
    let r = recordMeasurement(p, undefined, look(done, T0));
    r = recordMeasurement(p, r, look(running, T0 + 1000));
    const ended = endInProgress(r, iso(T0 + 2000));
    expect(ended.measurements?.at(-1)).toEqual({ phase: 'Inconclusive', value: 'job j1 running', startedAt: iso(T0 + 1000), finishedAt: iso(T0 + 2000), message: ENDED_IN_PROGRESS, metadata: { 'job-name': 'j1' } });
    expect(ended).toMatchObject({ count: 1, successful: 1, inconclusive: 0 });
    expect(endInProgress(ended, iso(T0 + 3000))).toBe(ended);
    expect(decideRun([p], [ended], { terminate: true, startedAtMs: T0, nowMs: T0 + 3000 }).phase).toBe('Successful');
  });

  it('never counts toward a verdict however many looks it takes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 20 }), (looks) => {
        const p = plan({ count: 5 });
        let r: MetricResult | undefined;
        looks.forEach((finish, i) => {
          r = recordMeasurement(p, r, look(finish ? done : running, T0 + i * 1000));
        });
        const finished = looks.filter(Boolean).length;
        expect(r?.count ?? 0).toBe(finished);
        expect(r?.successful ?? 0).toBe(finished);
        expect((r?.measurements ?? []).filter((m) => m.phase === 'Running')).toHaveLength(looks.at(-1) === false ? 1 : 0);
      }),
    );
  });
});
