import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { composeStages, FAIL_LABEL, RUN_FOR_ANNOTATION, UNREADY_LABEL } from './stages.ts';

const defaults = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: node-initialize}
spec: {resourceRef: {apiGroup: v1, kind: Node}, next: {statusTemplate: "phase: Running"}}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: pod-ready}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: .metadata.deletionTimestamp, operator: DoesNotExist}
    - {key: .status.phase, operator: In, values: [Pending]}
  next: {statusTemplate: "phase: Running"}
`;

const complete = `---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: pod-complete}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: .status.phase, operator: In, values: [Running]}
    - {key: '.metadata.ownerReferences.[].kind', operator: In, values: [Job]}
  next: {statusTemplate: "phase: Succeeded"}
`;

type Stage = { metadata: { name: string }; spec: { delay?: unknown; selector?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] }; next?: { statusTemplate?: string } } };
const parse = (y: string): Stage[] => parseAllDocuments(y).map((d) => d.toJS() as Stage);
const byName = (stages: Stage[], n: string): Stage => {
  const s = stages.find((x) => x.metadata.name === n);
  if (!s) throw new Error(`no stage ${n}`);
  return s;
};
const labelKey = `.metadata.labels["${UNREADY_LABEL}"]`;

describe('kwok stages', () => {
  const stages = parse(composeStages(defaults));

  it('keeps the defaults and adds the unready and recovered stages', () => {
    expect(stages.map((s) => s.metadata.name)).toEqual(['node-initialize', 'pod-ready', 'pod-unready', 'pod-recovered']);
  });

  it('makes pod-ready skip pods carrying the unready label, keeping its own conditions', () => {
    const exprs = byName(stages, 'pod-ready').spec.selector?.matchExpressions ?? [];
    expect(exprs).toContainEqual({ key: labelKey, operator: 'DoesNotExist' });
    expect(exprs).toContainEqual({ key: '.status.phase', operator: 'In', values: ['Pending'] });
  });

  it('runs labelled pods with Ready=False', () => {
    const s = byName(stages, 'pod-unready');
    expect(s.spec.selector?.matchExpressions).toContainEqual({ key: labelKey, operator: 'Exists' });
    const tpl = s.spec.next?.statusTemplate ?? '';
    expect(tpl).toMatch(/status: "False"\s+reason: ContainersNotReady\s+type: Ready/);
    expect(tpl).toContain('phase: Running');
    expect(tpl).not.toMatch(/ready: true/);
  });

  it('readies a running pod once its label is gone, without touching its IPs', () => {
    const s = byName(stages, 'pod-recovered');
    expect(s.spec.selector?.matchExpressions).toEqual(
      expect.arrayContaining([
        { key: labelKey, operator: 'DoesNotExist' },
        { key: '.status.phase', operator: 'In', values: ['Running'] },
      ]),
    );
    expect(s.spec.next?.statusTemplate).not.toMatch(/podIP/);
  });

  it('lets a Job pod fail on purpose and run for a while first', () => {
    const withJobs = parse(composeStages(defaults + complete));
    expect(withJobs.map((s) => s.metadata.name)).toEqual([
      'node-initialize', 'pod-ready', 'pod-complete', 'pod-unready', 'pod-recovered', 'pod-fail',
    ]);
    const fail = `.metadata.labels["${FAIL_LABEL}"]`;
    const ok = byName(withJobs, 'pod-complete');
    expect(ok.spec.selector?.matchExpressions).toContainEqual({ key: fail, operator: 'DoesNotExist' });
    const failed = byName(withJobs, 'pod-fail');
    expect(failed.spec.selector?.matchExpressions).toEqual([
      { key: '.status.phase', operator: 'In', values: ['Running'] },
      { key: '.metadata.ownerReferences.[].kind', operator: 'In', values: ['Job'] },
      { key: fail, operator: 'Exists' },
    ]);
    expect(failed.spec.next?.statusTemplate).toMatch(/exitCode: 1[\s\S]*phase: Failed/);
    for (const s of [ok, failed]) {
      expect(s.spec.delay).toEqual({
        durationMilliseconds: 0,
        durationFrom: { expressionFrom: `.metadata.annotations["${RUN_FOR_ANNOTATION}"]` },
      });
    }
  });

  it('refuses defaults it cannot amend, naming what is missing', () => {
    expect(() => composeStages(defaults.split('---')[0] ?? '')).toThrow(/no pod-ready stage/);
    expect(() => composeStages('kind: Pod\nmetadata: {name: x}\n')).toThrow(/must be a Stage/);
    expect(() => composeStages('a: [')).toThrow(/kwok default stages/);
  });
});
