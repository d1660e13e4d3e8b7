import { describe, expect, it } from '@jest/globals';
import type { ExperimentSpec, ExperimentStatus } from '../api/experiment/schema.ts';
import { decideExperiment, type ExperimentObserved, type ExperimentRunView, type TemplateReplicaSet } from './decide.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const tmpl = (name: string, replicas = 1): ExperimentSpec['templates'][number] => ({ name, replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } } } });
const SPEC: ExperimentSpec = { templates: [tmpl('baseline'), tmpl('canary', 2)], duration: '1m', analyses: [{ name: 'compare', templateName: 'compare' }] };
const rs = (name: string, replicas: number, available = replicas): TemplateReplicaSet => ({ name, replicas, updated: replicas, ready: available, available });
const run = (phase: ExperimentRunView['phase'], terminating = false): ExperimentRunView => ({ name: 'ex-compare', phase, terminating });

function observe(over: Partial<ExperimentObserved> & { status?: ExperimentStatus } = {}): ExperimentObserved {
  return { now: T0, spec: SPEC, status: {}, replicaSets: {}, hashes: { baseline: 'hb', canary: 'hc' }, runs: {}, ...over };
}

/** Runs the engine the way the controller does: each decision's status is the next observation's. */
function step(o: ExperimentObserved): ExperimentObserved & { last: ReturnType<typeof decideExperiment> } {
  const last = decideExperiment(o);
  return { ...o, status: last.status, last };
}

describe('experiment engine', () => {
  it('creates one ReplicaSet per template at its replicas and is Pending until every pod is available', () => {
    const d = decideExperiment(observe());
    expect(d.actions).toEqual([
      { kind: 'createReplicaSet', template: 'baseline', replicas: 1 },
      { kind: 'createReplicaSet', template: 'canary', replicas: 2 },
    ]);
    expect(d.status.phase).toBe('Pending');
    expect(d.status.templateStatuses?.map((t) => t.status)).toEqual(['Progressing', 'Progressing']);
    expect(d.status.templateStatuses?.[1]?.podTemplateHash).toBe('hc');
    // The progress deadline (600 s by default) is a timer, not a poll.
    expect(d.requeueAfterMs).toBe(600_000);
    const partial = decideExperiment(observe({ status: d.status, replicaSets: { baseline: rs('ex-baseline', 1), canary: rs('ex-canary', 2, 1) } }));
    expect(partial.status.phase).toBe('Pending');
    expect(partial.actions).toEqual([]);
  });

  it('starts the analyses once all templates are available, then succeeds when the duration ends and scales down', () => {
    const ready = { baseline: rs('ex-baseline', 1), canary: rs('ex-canary', 2) };
    let o = step(observe({ replicaSets: ready }));
    expect(o.last.status.phase).toBe('Running');
    expect(o.last.status.availableAt).toBe(new Date(T0).toISOString());
    expect(o.last.actions).toEqual([{ kind: 'createAnalysisRun', analysis: 'compare' }]);
    expect(o.last.requeueAfterMs).toBe(60_000);
    o = step({ ...o, now: T0 + 30_000, runs: { compare: run('Running') } });
    expect(o.last.status.phase).toBe('Running');
    expect(o.last.actions).toEqual([]);
    expect(o.last.status.analysisRuns).toEqual([{ name: 'compare', analysisRun: 'ex-compare', phase: 'Running' }]);
    expect(o.last.requeueAfterMs).toBe(30_000);
    o = step({ ...o, now: T0 + 60_000 });
    expect(o.last.status.phase).toBe('Successful');
    expect(o.last.status.message).toContain('duration');
    expect(o.last.actions).toEqual([
      { kind: 'scaleReplicaSet', template: 'baseline', name: 'ex-baseline', replicas: 0 },
      { kind: 'scaleReplicaSet', template: 'canary', name: 'ex-canary', replicas: 0 },
      { kind: 'terminateAnalysisRun', analysis: 'compare', name: 'ex-compare' },
    ]);
    expect(o.last.status.templateStatuses?.map((t) => t.status)).toEqual(['Successful', 'Successful']);
    expect(o.last.status.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ExperimentCompleted' });
    // Ended and scaled down: nothing more to do, whatever the run reports later.
    o = step({ ...o, now: T0 + 70_000, replicaSets: { baseline: rs('ex-baseline', 0), canary: rs('ex-canary', 0) }, runs: { compare: run('Successful', true) } });
    expect(o.last.actions).toEqual([]);
    expect(o.last.status.phase).toBe('Successful');
    expect(o.last.requeueAfterMs).toBeUndefined();
  });

  it.each(['Failed', 'Error', 'Inconclusive'] as const)('ends %s when an analysis does, naming it', (phase) => {
    const ready = { baseline: rs('ex-baseline', 1), canary: rs('ex-canary', 2) };
    let o = step(observe({ replicaSets: ready }));
    o = step({ ...o, now: T0 + 5_000, runs: { compare: { ...run(phase), message: 'metric error-rate assessed Failed' } } });
    expect(o.last.status.phase).toBe(phase);
    expect(o.last.status.message).toBe(`analysis compare ${phase}: metric error-rate assessed Failed`);
    expect(o.last.actions.filter((a) => a.kind === 'scaleReplicaSet').map((a) => a.kind === 'scaleReplicaSet' && a.replicas)).toEqual([0, 0]);
  });

  it('a Failed analysis outweighs an Inconclusive one', () => {
    const spec: ExperimentSpec = { ...SPEC, analyses: [{ name: 'a', templateName: 't' }, { name: 'b', templateName: 't' }] };
    const d = decideExperiment(observe({ spec, status: { availableAt: new Date(T0).toISOString() }, replicaSets: { baseline: rs('x', 1), canary: rs('y', 2) }, runs: { a: { ...run('Inconclusive'), name: 'ra' }, b: { ...run('Failed'), name: 'rb' } } }));
    expect(d.status.phase).toBe('Failed');
    expect(d.status.message).toMatch(/^analysis b Failed/);
  });

  it('is not Successful at the end of its duration while an analysis has no run: it creates the run and waits for it', () => {
    const ready = { baseline: rs('ex-baseline', 1), canary: rs('ex-canary', 2) };
    let o = step(observe({ replicaSets: ready }));
    // The duration passes and the run was never seen (its creation failed, or the cache has not delivered it).
    o = step({ ...o, now: T0 + 90_000 });
    expect(o.last.status.phase).toBe('Running');
    expect(o.last.actions).toEqual([{ kind: 'createAnalysisRun', analysis: 'compare' }]);
    expect(o.last.requeueAfterMs).toBe(5_000);
    // Once seen, the analysis decides as before: Failed stays Failed, a clean run ends the Experiment Successful.
    expect(step({ ...o, now: T0 + 95_000, runs: { compare: run('Failed') } }).last.status.phase).toBe('Failed');
    const done = step({ ...o, now: T0 + 95_000, runs: { compare: run('Running') } });
    expect(done.last.status.phase).toBe('Successful');
    expect(done.last.actions).toContainEqual({ kind: 'terminateAnalysisRun', analysis: 'compare', name: 'ex-compare' });
  });

  it('without a duration, completes when every analysis required for completion is Successful, terminating the others', () => {
    const spec: ExperimentSpec = { templates: [tmpl('canary')], analyses: [{ name: 'smoke', templateName: 's', requiredForCompletion: true }, { name: 'watch', templateName: 'w' }] };
    const base = observe({ spec, hashes: { canary: 'hc' }, status: { availableAt: new Date(T0).toISOString() }, replicaSets: { canary: rs('ex-canary', 1) } });
    const running = decideExperiment({ ...base, runs: { smoke: { ...run('Running'), name: 'r1' }, watch: { ...run('Running'), name: 'r2' } } });
    expect(running.status.phase).toBe('Running');
    expect(running.requeueAfterMs).toBeUndefined(); // no duration: nothing to time
    const done = decideExperiment({ ...base, runs: { smoke: { ...run('Successful'), name: 'r1' }, watch: { ...run('Running'), name: 'r2' } } });
    expect(done.status.phase).toBe('Successful');
    expect(done.actions).toContainEqual({ kind: 'terminateAnalysisRun', analysis: 'watch', name: 'r2' });
  });

  it('terminate ends it Successful at once, even before the pods are up, and starts no analysis', () => {
    const d = decideExperiment(observe({ spec: { ...SPEC, terminate: true }, replicaSets: { baseline: rs('ex-baseline', 1, 0), canary: rs('ex-canary', 2, 0) } }));
    expect(d.status.phase).toBe('Successful');
    expect(d.status.message).toBe('Experiment terminated');
    expect(d.actions.every((a) => a.kind === 'scaleReplicaSet' && a.replicas === 0)).toBe(true);
    expect(d.actions).toHaveLength(2);
  });

  it('fails a template whose pods are not available within progressDeadlineSeconds', () => {
    const spec = { ...SPEC, progressDeadlineSeconds: 10 };
    let o = step(observe({ spec, replicaSets: { baseline: rs('ex-baseline', 1), canary: rs('ex-canary', 2, 0) } }));
    expect(o.last.requeueAfterMs).toBe(10_000);
    o = step({ ...o, now: T0 + 10_000 });
    expect(o.last.status.phase).toBe('Failed');
    expect(o.last.status.message).toMatch(/^template canary: ReplicaSet ex-canary did not have 2 available pods/);
    expect(o.last.status.templateStatuses?.find((t) => t.name === 'canary')?.status).toBe('Failed');
  });

  it('keeps the pods for scaleDownDelaySeconds after the end', () => {
    const spec = { ...SPEC, duration: '10s', scaleDownDelaySeconds: 5 };
    let o = step(observe({ spec, replicaSets: { baseline: rs('ex-baseline', 1), canary: rs('ex-canary', 2) }, runs: { compare: run('Running') } }));
    o = step({ ...o, now: T0 + 10_000 });
    expect(o.last.status.phase).toBe('Successful');
    expect(o.last.actions.filter((a) => a.kind === 'scaleReplicaSet')).toEqual([]);
    expect(o.last.requeueAfterMs).toBe(5_000);
    o = step({ ...o, now: T0 + 15_000, runs: { compare: run('Successful', true) } });
    expect(o.last.actions.map((a) => a.kind)).toEqual(['scaleReplicaSet', 'scaleReplicaSet']);
  });

  it('gives a template with `service` a Service while it runs, reports it, and deletes it with the scale-down after the delay', () => {
    const spec: ExperimentSpec = { ...SPEC, templates: [{ ...tmpl('baseline'), service: {} }, tmpl('canary', 2)], scaleDownDelaySeconds: 30 };
    const first = decideExperiment(observe({ spec }));
    expect(first.actions).toContainEqual({ kind: 'createService', template: 'baseline' });
    expect(first.actions.filter((a) => a.kind === 'createService')).toHaveLength(1);
    const ready = { baseline: rs('ex-baseline', 1), canary: rs('ex-canary', 2) };
    let o = step(observe({ spec, replicaSets: ready, services: { baseline: 'ex-baseline' } }));
    expect(o.last.actions.filter((a) => a.kind === 'createService')).toEqual([]);
    expect(o.last.status.templateStatuses?.map((t) => [t.serviceName, t.readyEndpoints])).toEqual([['ex-baseline', 0], [undefined, undefined]]);
    o = step({ ...o, readyEndpoints: { baseline: 1 } });
    expect(o.last.status.templateStatuses?.[0]?.readyEndpoints).toBe(1); // what the EndpointSlices publish
    o = step({ ...o, now: T0 + 60_000, runs: { compare: run('Running') } });
    expect(o.last.status.phase).toBe('Successful');
    // Ended: the pods and the Service stay for the delay (the Rollout takes the traffic off meanwhile)...
    expect(o.last.actions.filter((a) => a.kind === 'deleteService' || a.kind === 'scaleReplicaSet')).toEqual([]);
    o = step({ ...o, now: T0 + 90_000 });
    // ...then go together; an ended Experiment never creates its Service again.
    expect(o.last.actions).toContainEqual({ kind: 'deleteService', template: 'baseline', name: 'ex-baseline' });
    expect(o.last.actions).toContainEqual({ kind: 'scaleReplicaSet', template: 'baseline', name: 'ex-baseline', replicas: 0 });
    o = step({ ...o, now: T0 + 95_000, services: {} });
    expect(o.last.actions.filter((a) => a.kind === 'createService')).toEqual([]);
  });
});
