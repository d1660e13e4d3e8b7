// The observer must be able to fail: each invariant it checks is broken here on purpose, in the order etcd would
// have stored the writes, and the checker must name it with the event that shows it. A clean rollout passes.
import { describe, expect, it } from '@jest/globals';
import { InvariantChecker, stepHistoryProblems, type Kind, type ObservedEvent } from './check.ts';

const steps = [{ setWeight: 20 }, { pause: { duration: '1s' } }, { setWeight: 50 }, { pause: { duration: '1s' } }];

class Story {
  private rv = 100;
  readonly checker = new InvariantChecker();
  private put(kind: Kind, name: string, body: Partial<ObservedEvent['obj']>): this {
    this.rv++;
    this.checker.add({ kind, type: 'MODIFIED', obj: { ...body, metadata: { name, resourceVersion: String(this.rv), ...body.metadata } }, atMs: this.rv });
    return this;
  }
  rollout(status: Record<string, unknown>): this {
    return this.put('Rollout', 'web', { spec: { strategy: { canary: { steps, canaryService: 'web-canary', stableService: 'web-stable', trafficRouting: { gatewayAPI: { httpRoute: 'web' } } } } }, status });
  }
  rs(hash: string, available: number): this {
    return this.put('ReplicaSet', `web-${hash}`, { metadata: { labels: { 'rollouts-pod-template-hash': hash } }, status: { availableReplicas: available } });
  }
  svc(name: string, hash: string): this {
    return this.put('Service', name, { spec: { selector: { app: 'web', 'rollouts-pod-template-hash': hash } } });
  }
  weight(canary: number): this {
    return this.put('HTTPRoute', 'web', { spec: { rules: [{ backendRefs: [{ name: 'web-stable', weight: 100 - canary }, { name: 'web-canary', weight: canary }] }] } });
  }
}

/** v1 stable and healthy; v2's pods come up; the canary Service moves onto v2. */
const started = (): Story => new Story().rs('v1', 4).svc('web-stable', 'v1').svc('web-canary', 'v1').weight(0).rollout({ stableRS: 'v1', currentPodHash: 'v1', currentStepIndex: 4 }).rs('v2', 1).svc('web-canary', 'v2');

const promoteCleanly = (s: Story): Story =>
  s.weight(20).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 1 }).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 2 })
    .weight(50).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 3 }).rs('v2', 4)
    .svc('web-stable', 'v2').weight(0).rollout({ stableRS: 'v2', currentPodHash: 'v2', currentStepIndex: 4 });

const invariants = (s: Story): string[] => s.checker.check().violations.map((v) => `${v.invariant}: ${v.event}`);

describe('the invariant checker', () => {
  it('passes a rollout that walks its steps, switches stable, then resets the weight', () => {
    const s = promoteCleanly(started());
    const { violations, histories } = s.checker.check();
    expect(violations).toEqual([]);
    expect(histories).toEqual([{ rollout: 'web', hash: 'v2', weights: [20, 50], outcome: 'promoted' }]);
    expect(stepHistoryProblems(histories, () => steps)).toEqual([]);
  });

  it('catches a weight above the current step (someone wrote 90 into the route)', () => {
    const s = started().weight(20).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 1 }).weight(90);
    expect(invariants(s)).toEqual(['1 weight ≤ step: HTTPRoute/web rv 110 MODIFIED']);
  });

  it('catches weight left on the canary after an abort', () => {
    const s = started().weight(20).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 1, abort: true });
    expect(invariants(s)).toEqual(['1 weight ≤ step: Rollout/web rv 109 MODIFIED']);
  });

  it('catches traffic sent to a revision without available pods', () => {
    const s = started().rs('v2', 0).weight(20);
    expect(invariants(s)).toEqual(['2 traffic → ready pods: HTTPRoute/web rv 109 MODIFIED']);
  });

  it('catches a weight reset before the stable Service moved (a window of the old revision is fine, a missing switch is not)', () => {
    const s = started().weight(20).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 2 }).weight(50).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 3 })
      .weight(0).svc('web-stable', 'v2').rollout({ stableRS: 'v2', currentPodHash: 'v2', currentStepIndex: 4 });
    expect(invariants(s)).toEqual(['3 stable before reset: HTTPRoute/web rv 112 MODIFIED']);
    // The same reset followed by an abort is the abort path, not a violation.
    const aborted = started().weight(20).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 1 }).weight(0).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 1, abort: true });
    expect(invariants(aborted)).toEqual([]);
  });

  it('catches a skipped step and a repeated one in the weights a revision was given', () => {
    const skipped = started().weight(50).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 3 }).rs('v2', 4).svc('web-stable', 'v2').weight(0).rollout({ stableRS: 'v2', currentPodHash: 'v2', currentStepIndex: 4 });
    expect(stepHistoryProblems(skipped.checker.check().histories, () => steps)).toEqual(['web revision v2: weights 50, expected 20 → 50 (a step skipped or repeated)']);
    const repeated = started().weight(20).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 1 }).weight(50).rollout({ stableRS: 'v1', currentPodHash: 'v2', currentStepIndex: 2 }).weight(20);
    expect(stepHistoryProblems(repeated.checker.check().histories, () => steps)).toEqual(['web revision v2: weights 20 → 50 → 20, expected 20 → 50 (a step skipped or repeated)']);
  });
});
