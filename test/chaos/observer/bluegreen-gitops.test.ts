// The observer's blue-green and GitOps checks must be able to fail: each is broken here on purpose, in the order etcd
// would have stored the writes, and must be named with the event that shows it; the clean stories pass.
import { describe, expect, it } from '@jest/globals';
import { InvariantChecker, type Kind } from './check.ts';
import { EXTRA_LABEL, gitopsViolations, type CmEvent } from './gitops.ts';

function blueGreenStory(switchTo: { hash: string; available: number }): InvariantChecker {
  const checker = new InvariantChecker();
  let rv = 10;
  const put = (kind: Kind, name: string, obj: object): void => checker.add({ kind, type: 'MODIFIED', obj: { ...obj, metadata: { name, resourceVersion: String(++rv), ...(obj as { metadata?: object }).metadata } }, atMs: rv });
  put('Rollout', 'bg', { spec: { strategy: { blueGreen: { activeService: 'bg-active', previewService: 'bg-preview' } } } });
  put('ReplicaSet', 'bg-v1', { metadata: { labels: { 'rollouts-pod-template-hash': 'v1' } }, status: { availableReplicas: 2 } });
  put('Service', 'bg-active', { spec: { selector: { 'rollouts-pod-template-hash': 'v1' } } });
  put('ReplicaSet', `bg-${switchTo.hash}`, { metadata: { labels: { 'rollouts-pod-template-hash': switchTo.hash } }, status: { availableReplicas: switchTo.available } });
  put('Service', 'bg-active', { spec: { selector: { 'rollouts-pod-template-hash': switchTo.hash } } });
  return checker;
}

describe('the observer on blue-green Rollouts', () => {
  it('passes a switch of the active Service to a revision with available pods', () => {
    expect(blueGreenStory({ hash: 'v2', available: 2 }).check().violations).toEqual([]);
  });

  it('catches the active Service switched to a revision with no available pods', () => {
    const v = blueGreenStory({ hash: 'v2', available: 0 }).check().violations;
    expect(v.map((x) => [x.invariant, x.rollout, x.message, x.event])).toEqual([['2 traffic → ready pods', 'bg', 'active Service bg-active switched from v1 to v2, which has no available pods', 'Service/bg-active rv 15 MODIFIED']]);
  });
});

describe('the observer on Istio and NGINX canaries', () => {
  const steps = [{ setWeight: 20 }, { pause: {} }, { setWeight: 40 }, { pause: {} }];
  function story(router: 'istio' | 'nginx', weight: number): InvariantChecker {
    const checker = new InvariantChecker();
    let rv = 10;
    const put = (kind: Kind, name: string, obj: object): void => checker.add({ kind, type: 'MODIFIED', obj: { ...obj, metadata: { name, resourceVersion: String(++rv), ...(obj as { metadata?: object }).metadata } }, atMs: rv });
    const trafficRouting = router === 'istio' ? { istio: { virtualService: { name: 'web' } } } : { nginx: { stableIngress: 'web' } };
    put('Rollout', 'web', { spec: { strategy: { canary: { steps, canaryService: 'web-canary', stableService: 'web-stable', trafficRouting } } }, status: { stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 1 } });
    put('ReplicaSet', 'web-v1', { metadata: { labels: { 'rollouts-pod-template-hash': 'v1' } }, status: { availableReplicas: 2 } });
    put('ReplicaSet', 'web-v2', { metadata: { labels: { 'rollouts-pod-template-hash': 'v2' } }, status: { availableReplicas: 1 } });
    put('Service', 'web-stable', { spec: { selector: { 'rollouts-pod-template-hash': 'v1' } } });
    put('Service', 'web-canary', { spec: { selector: { 'rollouts-pod-template-hash': 'v2' } } });
    if (router === 'istio') put('VirtualService', 'web', { spec: { http: [{ route: [{ destination: { host: 'web-stable' }, weight: 100 - weight }, { destination: { host: 'web-canary' }, weight }] }] } });
    else put('Ingress', 'web-web-canary', { metadata: { annotations: { 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-weight': String(weight) } } });
    return checker;
  }

  it.each(['istio', 'nginx'] as const)('%s: reads the weight from the router; 20 passes, 60 is caught', (router) => {
    expect(story(router, 20).check()).toMatchObject({ violations: [], histories: [{ rollout: 'web', hash: 'v2', weights: [20] }] });
    expect(story(router, 60).check().violations.map((v) => [v.invariant, v.event.replace(/ rv \d+/, '')])).toEqual([['1 weight ≤ step', router === 'istio' ? 'VirtualService/web MODIFIED' : 'Ingress/web-web-canary MODIFIED']]);
  });
});

describe('the observer on Applications', () => {
  let rv = 0;
  const ev = (type: CmEvent['type'], name: string, atMs: number, labels: Record<string, string> = {}): CmEvent => ({ type, name, labels, resourceVersion: String(++rv), atMs });
  const pushes: Record<string, number> = { 'app-0/1': 0, 'app-0/2': 1000 };
  const pushedAt = (app: string, v: number): number | undefined => pushes[`${app}/${v}`];
  const judge = (events: CmEvent[]): string[] => gitopsViolations(events, ['app-0'], pushedAt).map((v) => `${v.invariant}: ${v.message} @ ${v.event.replace(/ rv \d+/, '')}`);

  it('passes a prune of the object the next revision removed, after it was pushed, and a kept label', () => {
    expect(judge([ev('ADDED', 'app-0-perm', 10), ev('MODIFIED', 'app-0-perm', 500, { [EXTRA_LABEL]: 'x' }), ev('ADDED', 'app-0-gen-1', 10), ev('ADDED', 'app-0-gen-2', 1100), ev('DELETED', 'app-0-gen-1', 1100), ev('MODIFIED', 'app-0-perm', 1200, { [EXTRA_LABEL]: 'x' })])).toEqual([]);
  });

  it('catches a prune of what Git still holds, of an untracked object, and another manager\'s label removed', () => {
    expect(judge([
      ev('DELETED', 'app-0-gen-1', 900),
      ev('DELETED', 'app-0-gen-2', 2000),
      ev('DELETED', 'app-0-perm', 2000),
      ev('DELETED', 'app-0-untracked', 2000),
      ev('ADDED', 'app-0-perm', 2100, { [EXTRA_LABEL]: 'x' }),
      ev('MODIFIED', 'app-0-perm', 2200),
    ])).toEqual([
      '6 no prune of what Git holds: app-0-gen-1 pruned while Git still held it (revision 2 pushed 100 ms later) @ ConfigMap/app-0-gen-1 DELETED',
      '6 no prune of what Git holds: app-0-gen-2 pruned while Git still held it (revision 3 never pushed) @ ConfigMap/app-0-gen-2 DELETED',
      '6 no prune of what Git holds: app-0-perm pruned while Git always holds it @ ConfigMap/app-0-perm DELETED',
      '6 no prune of what Git holds: app-0-untracked pruned though Sluice does not track it @ ConfigMap/app-0-untracked DELETED',
      `7 no field of another manager reverted: label ${EXTRA_LABEL}, set by another field manager and absent from Git, removed from app-0-perm @ ConfigMap/app-0-perm MODIFIED`,
    ]);
  });
});
