import { describe, expect, it } from '@jest/globals';
import type { Rollout } from '../api/rollout/schema.ts';
import { podTemplateHash } from '../rollout/hash.ts';
import { abortPatches, imagePatch, parseImageArgs, pausePatches, promotePatches, restartPatches, resumePatches, retryPatches, undoTarget, undoTemplate } from './patches.ts';
import type { ReplicaSetView } from './view/snapshot.ts';

const steps = [{ setWeight: 20 }, { pause: {} }, { analysis: { templates: [{ templateName: 't' }] } }, { pause: {} }];
const rollout = (status: Rollout['status'], spec: Partial<Rollout['spec']> = {}): Rollout => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'web' },
  spec: { strategy: { canary: { steps } }, ...spec },
  status,
});

describe('promote (Argo Rollouts plugin patches)', () => {
  it('clears the pause conditions of a paused step', () => {
    expect(promotePatches(rollout({ currentStepIndex: 1, pauseConditions: [{ reason: 'CanaryPauseStep' }], controllerPause: true }), false)).toEqual({
      status: { pauseConditions: null },
      message: 'rollout "web" promoted',
    });
  });

  it('after an inconclusive analysis only clears the pause conditions, as Argo (the operator moves past the step)', () => {
    expect(promotePatches(rollout({ currentStepIndex: 2, pauseConditions: [{ reason: 'InconclusiveAnalysisRun' }], controllerPause: true }), false)).toEqual({
      status: { pauseConditions: null },
      message: 'rollout "web" promoted',
    });
  });

  it('skips the current step when nothing is paused, and never past the last', () => {
    expect(promotePatches(rollout({ currentStepIndex: 2 }), false).status).toEqual({ pauseConditions: null, currentStepIndex: 3 });
    expect(promotePatches(rollout({}), false).status).toEqual({ pauseConditions: null, currentStepIndex: 1 });
    expect(promotePatches(rollout({ currentStepIndex: 4 }), false)).toEqual({ message: expect.stringContaining('no step left') });
  });

  it('spec.paused: unpauses and skips the current step in the same promote, as Argo; with a pause condition clears it instead', () => {
    expect(promotePatches(rollout({ currentStepIndex: 2 }, { paused: true }), false)).toEqual({
      spec: { paused: false },
      status: { pauseConditions: null, currentStepIndex: 3 },
      message: 'rollout "web" promoted: skipped step 2 (unpaused)',
    });
    expect(promotePatches(rollout({ currentStepIndex: 1, pauseConditions: [{ reason: 'CanaryPauseStep' }] }, { paused: true }), false)).toEqual({
      spec: { paused: false },
      status: { pauseConditions: null },
      message: 'rollout "web" promoted',
    });
    expect(promotePatches(rollout({ currentStepIndex: 4 }, { paused: true }), false)).toEqual({ spec: { paused: false }, message: 'rollout "web" promoted (unpaused)' });
  });

  it('--full sets promoteFull unless the current revision is already stable, and unpauses spec.paused (the operator skips nothing while it is set)', () => {
    expect(promotePatches(rollout({ currentPodHash: 'b', stableRS: 'a' }), true)).toEqual({ status: { promoteFull: true }, message: 'rollout "web" fully promoted' });
    expect(promotePatches(rollout({ currentPodHash: 'b', stableRS: 'a' }, { paused: true }), true)).toEqual({ spec: { paused: false }, status: { promoteFull: true }, message: 'rollout "web" fully promoted' });
    expect(promotePatches(rollout({ currentPodHash: 'a', stableRS: 'a' }), true)).toEqual({ message: 'rollout "web" is already fully promoted' });
  });

  it('blue-green: clears the pause, never touches a step index', () => {
    const bg = rollout({ pauseConditions: [{ reason: 'BlueGreenPause' }] }, { strategy: { blueGreen: { activeService: 'a' } } });
    expect(promotePatches(bg, false).status).toEqual({ pauseConditions: null });
    expect(promotePatches({ ...bg, status: {} }, false)).toEqual({ message: 'rollout "web" is not paused: nothing to promote' });
  });
});

describe('abort, retry, pause, resume, restart (Argo Rollouts plugin patches)', () => {
  const r = rollout({ currentStepIndex: 1 });
  it('abort and retry write status.abort on the status subresource, nothing in spec', () => {
    expect(abortPatches(r)).toEqual({ status: { abort: true }, message: 'rollout "web" aborted' });
    expect(retryPatches(r)).toEqual({ status: { abort: false }, message: 'rollout "web" retried' });
  });
  it('pause and resume write spec.paused only', () => {
    expect(pausePatches(r)).toEqual({ spec: { paused: true }, message: 'rollout "web" paused' });
    expect(resumePatches(r)).toEqual({ spec: { paused: false }, message: 'rollout "web" resumed' });
  });
  it('restart writes spec.restartAt as RFC 3339', () => {
    const at = new Date('2026-01-02T03:04:05.000Z');
    expect(restartPatches(r, at)).toEqual({ spec: { restartAt: '2026-01-02T03:04:05.000Z' }, message: 'rollout "web" restarts its pods from 2026-01-02T03:04:05.000Z' });
  });
});

const rs = (hash: string, template: Record<string, unknown>): ReplicaSetView => ({ metadata: { name: `web-${hash}`, labels: { 'rollouts-pod-template-hash': hash } }, spec: { template } });

describe('undo', () => {
  const t1 = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:1' }] } };
  const t2 = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:2' }] } };
  // What the apiserver stores in a ReplicaSet: the template with defaults and our hash label.
  const defaulted = (t: typeof t1, hash: string): Record<string, unknown> => ({
    metadata: { creationTimestamp: null, labels: { ...t.metadata.labels, 'rollouts-pod-template-hash': hash } },
    spec: { containers: t.spec.containers.map((c) => ({ ...c, imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log', resources: {} })), dnsPolicy: 'ClusterFirst', restartPolicy: 'Always' },
  });
  const h1 = podTemplateHash(t1);
  const h2 = podTemplateHash(t2);

  it('picks the previous revision by default and a numbered one on request (by creation when nothing is annotated)', () => {
    const list = [rs(h1, {}), rs(h2, {}), rs('h3', {})];
    expect(undoTarget(list, 'h3', undefined).revision).toBe(2);
    expect(undoTarget(list, h1, 0).revision).toBe(3); // back from a rollback: the newest other revision
    expect(undoTarget(list, 'h3', 1).rs.metadata.name).toBe(`web-${h1}`);
    expect(() => undoTarget(list, 'h3', 4)).toThrow('--to-revision: no revision 4 (the Rollout keeps revisions 1, 2, 3)');
  });

  it('numbers by the revision annotation: deleting old ReplicaSets renumbers nothing', () => {
    const annotated = (hash: string, revision: number, created: string): ReplicaSetView => ({
      metadata: { name: `web-${hash}`, creationTimestamp: created, labels: { 'rollouts-pod-template-hash': hash }, annotations: { 'rollout.argoproj.io/revision': String(revision) } },
    });
    // Revisions 1 and 2 were deleted by revisionHistoryLimit; 3 and 4 are left, listed oldest first.
    const list = [annotated('c', 3, '2026-01-01T00:00:03Z'), annotated('d', 4, '2026-01-01T00:00:04Z')];
    expect(undoTarget(list, 'd', 3).rs.metadata.name).toBe('web-c');
    expect(() => undoTarget(list, 'd', 1)).toThrow('--to-revision: no revision 1 (the Rollout keeps revisions 3, 4)');
    expect(undoTarget(list, 'd', undefined)).toMatchObject({ revision: 3 });
    // A rollback reused revision 3 (created first): "previous" is still the highest-numbered other one.
    expect(undoTarget(list, 'c', undefined)).toMatchObject({ revision: 4 });
  });

  it("restores the template as written (the apiserver's defaults left out), so it hashes to the old revision", () => {
    const out = undoTemplate(rs(h1, defaulted(t1, h1)), { template: t2, replicaSet: rs(h2, defaulted(t2, h2)) });
    expect(out).toEqual({ template: t1, exact: true });
  });

  it('keeps a field the user wrote even when it equals a default, and says when it cannot match', () => {
    const explicit = { ...t1, spec: { ...t1.spec, restartPolicy: 'Always' } };
    const he = podTemplateHash(explicit);
    const current = { ...t2, spec: { ...t2.spec, restartPolicy: 'Always' } };
    expect(undoTemplate(rs(he, defaulted(t1, he)), { template: current, replicaSet: rs(h2, defaulted(t2, h2)) })).toEqual({ template: explicit, exact: true });
    expect(undoTemplate(rs('other', defaulted(t1, 'other')), { template: t2, replicaSet: undefined }).exact).toBe(false);
  });
});

describe('set image', () => {
  const template = { spec: { containers: [{ name: 'app', image: 'a:1' }, { name: 'side', image: 's:1' }], initContainers: [{ name: 'init', image: 'i:1' }] } };

  it('parses CONTAINER=IMAGE and refuses anything else', () => {
    expect(parseImageArgs(['app=reg/a:2', '*=x@sha256:1'])).toEqual([
      { container: 'app', image: 'reg/a:2' },
      { container: '*', image: 'x@sha256:1' },
    ]);
    expect(() => parseImageArgs(['app'])).toThrow('"app": expected CONTAINER=IMAGE');
    expect(() => parseImageArgs([])).toThrow('missing CONTAINER=IMAGE');
  });

  it('replaces the named images behind a resourceVersion test, * meaning all', () => {
    expect(imagePatch(template, '/spec/template', [{ container: 'side', image: 's:2' }], '42')).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'replace', path: '/spec/template/spec/containers/1/image', value: 's:2' },
    ]);
    expect(imagePatch(template, '/spec/template', [{ container: '*', image: 'z' }], undefined)).toHaveLength(3);
    expect(() => imagePatch(template, '/spec/template', [{ container: 'web', image: 'z' }], '1')).toThrow('no container named "web" (have: app, side, init)');
  });
  it('does not skip past a webhook gate on a plain promote (the gate decides; --full goes past it)', () => {
    const held = rollout({ currentStepIndex: 1, gates: { waiting: { name: 'approve', type: 'confirm-promotion' } } });
    expect(promotePatches(held, false)).toEqual({ message: 'rollout "web" is waiting for gate approve (confirm-promotion): it goes on when the gate answers 2xx, or use --full' });
    expect(promotePatches(held, true).status).toEqual({ promoteFull: true });
  });
});
