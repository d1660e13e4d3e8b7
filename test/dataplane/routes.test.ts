// The data-plane emulator's pure part: route resolution and the weighted split.
import { describe, expect, it } from '@jest/globals';
import { serverTiming } from './apps.ts';
import { backends, readyRevisions, WeightedPicker, type ReplicaSetShape } from './routes.ts';

const rs = (name: string, hash: string, ready: number, image = 'r.example/app:1.0.0', env: { name: string; value?: string }[] = []): ReplicaSetShape => ({
  metadata: { name },
  spec: { replicas: ready, template: { metadata: { labels: { app: 'demo', 'rollouts-pod-template-hash': hash } }, spec: { containers: [{ name: 'app', image, env }] } } },
  status: { readyReplicas: ready },
});

describe('data-plane emulator routes', () => {
  it('runs only ReplicaSets with ready pods, with the image tag as version and literal env only', () => {
    const revs = readyRevisions([
      rs('demo-a', 'a', 2, 'r.example:5000/app:1.1.0', [{ name: 'ERROR_RATE', value: '0.3' }, { name: 'FROM_SECRET' }]),
      rs('demo-b', 'b', 0),
    ]);
    expect(revs).toEqual([{ replicaSet: 'demo-a', labels: { app: 'demo', 'rollouts-pod-template-hash': 'a' }, image: 'r.example:5000/app:1.1.0', version: '1.1.0', env: { ERROR_RATE: '0.3' } }]);
  });

  it('resolves the named route\'s weighted hosts to the revisions their Services select', () => {
    const running = readyRevisions([rs('demo-a', 'a', 2), rs('demo-b', 'b', 1)]);
    const services = [
      { metadata: { name: 'demo-stable' }, spec: { selector: { app: 'demo', 'rollouts-pod-template-hash': 'a' } } },
      { metadata: { name: 'demo-canary' }, spec: { selector: { app: 'demo', 'rollouts-pod-template-hash': 'b' } } },
    ];
    const vs = {
      metadata: { name: 'demo' },
      spec: {
        http: [
          { name: 'header', route: [{ destination: { host: 'demo-canary' } }] },
          { name: 'primary', route: [{ destination: { host: 'demo-stable.ns.svc.cluster.local' }, weight: 80 }, { destination: { host: 'demo-canary' }, weight: 20 }] },
        ],
      },
    };
    expect(backends(vs, 'primary', services, running)).toEqual([
      { service: 'demo-stable', weight: 80, replicaSets: ['demo-a'] },
      { service: 'demo-canary', weight: 20, replicaSets: ['demo-b'] },
    ]);
    // A lone destination without a weight takes everything; an unpinned selector picks every running revision.
    expect(backends(vs, 'header', [{ metadata: { name: 'demo-canary' }, spec: { selector: { app: 'demo' } } }], running)).toEqual([{ service: 'demo-canary', weight: 100, replicaSets: ['demo-a', 'demo-b'] }]);
    expect(backends(undefined, 'primary', services, running)).toEqual([]);
  });

  it('splits exactly by weight, evenly spread', () => {
    const p = new WeightedPicker();
    const picks = Array.from({ length: 100 }, () => p.pick([{ key: 'stable', weight: 80 }, { key: 'canary', weight: 20 }]));
    expect(picks.filter((k) => k === 'canary')).toHaveLength(20);
    // Never two canary picks in a row at 20%: the share holds over any short window too.
    expect(picks.some((k, i) => k === 'canary' && picks[i + 1] === 'canary')).toBe(false);
    expect(p.pick([{ key: 'stable', weight: 0 }])).toBeUndefined();
  });

  it('reads the app\'s Server-Timing', () => {
    expect(serverTiming('app;dur=21.5')).toBe(21.5);
    expect(serverTiming(['cache;dur=1', 'app;dur=3'])).toBe(3);
    expect(serverTiming(undefined)).toBeUndefined();
  });
});
