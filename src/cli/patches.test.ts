import { describe, expect, it } from '@jest/globals';
import type { Rollout } from '../api/rollout/schema.ts';
import { podTemplateHash } from '../rollout/hash.ts';
import { imagePatch, parseImageArgs, promotePatches, undoTarget, undoTemplate } from './patches.ts';
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

  it('after an inconclusive analysis lifts the controller pause and moves past the step', () => {
    expect(promotePatches(rollout({ currentStepIndex: 2, pauseConditions: [{ reason: 'InconclusiveAnalysisRun' }], controllerPause: true }), false).status).toEqual({
      pauseConditions: null,
      controllerPause: false,
      currentStepIndex: 3,
    });
  });

  it('skips the current step when nothing is paused, and never past the last', () => {
    expect(promotePatches(rollout({ currentStepIndex: 2 }), false).status).toEqual({ pauseConditions: null, currentStepIndex: 3 });
    expect(promotePatches(rollout({ currentStepIndex: 4 }), false)).toEqual({ message: expect.stringContaining('no step left') });
  });

  it('unpauses spec.paused (and clears a pause condition in the same promote)', () => {
    expect(promotePatches(rollout({ currentStepIndex: 2 }, { paused: true }), false)).toEqual({ spec: { paused: false }, message: 'rollout "web" promoted (unpaused)' });
    expect(promotePatches(rollout({ currentStepIndex: 1, pauseConditions: [{ reason: 'CanaryPauseStep' }] }, { paused: true }), false)).toMatchObject({ spec: { paused: false }, status: { pauseConditions: null } });
  });

  it('--full sets promoteFull unless the current revision is already stable', () => {
    expect(promotePatches(rollout({ currentPodHash: 'b', stableRS: 'a' }), true).status).toEqual({ promoteFull: true });
    expect(promotePatches(rollout({ currentPodHash: 'a', stableRS: 'a' }), true)).toEqual({ message: 'rollout "web" is already fully promoted' });
  });

  it('blue-green: clears the pause, never touches a step index', () => {
    const bg = rollout({ pauseConditions: [{ reason: 'BlueGreenPause' }] }, { strategy: { blueGreen: { activeService: 'a' } } });
    expect(promotePatches(bg, false).status).toEqual({ pauseConditions: null });
    expect(promotePatches({ ...bg, status: {} }, false)).toEqual({ message: 'rollout "web" is not paused: nothing to promote' });
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

  it('picks the previous revision by default and a numbered one on request', () => {
    const list = [rs(h1, {}), rs(h2, {}), rs('h3', {})];
    expect(undoTarget(list, 'h3', undefined).revision).toBe(2);
    expect(undoTarget(list, h1, 0).revision).toBe(3); // back from a rollback: the newest other revision
    expect(undoTarget(list, 'h3', 1).rs.metadata.name).toBe(`web-${h1}`);
    expect(() => undoTarget(list, 'h3', 4)).toThrow('--to-revision: no revision 4 (the Rollout keeps revisions 1..3)');
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
});
