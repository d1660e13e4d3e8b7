// The pure edits behind experiment templates' traffic: extra destinations beside the canary and the stable.
import { describe, expect, it } from '@jest/globals';
import { weighRules } from './gatewayapi.ts';
import { weighHttp } from './istio.ts';

const t = { namespace: 'ns', rollout: 'web', canaryService: 'web-canary', stableService: 'web-stable' };

describe('extra destinations (experiment templates)', () => {
  it('Gateway API: adds backendRefs on the canary\'s port from the stable\'s share, re-weights, removes, keeps other rules', () => {
    const rules = [
      { name: 'main', backendRefs: [{ name: 'web-stable', port: 8080, weight: 80 }, { name: 'web-canary', port: 8080, weight: 20 }] },
      { name: 'other', backendRefs: [{ name: 'legacy', port: 80 }] },
    ];
    const added = weighRules(rules, t, 20, { additional: [{ service: 'x-baseline', weight: 10 }, { service: 'x-canary', weight: 10 }], remove: [] });
    expect(added.matched).toBe(1);
    expect(added.rules[0]?.backendRefs).toEqual([
      { name: 'web-stable', port: 8080, weight: 60 },
      { name: 'web-canary', port: 8080, weight: 20 },
      { name: 'x-baseline', port: 8080, weight: 10 },
      { name: 'x-canary', port: 8080, weight: 10 },
    ]);
    expect(added.rules[1]).toBe(rules[1]);
    // Idempotent: the same edit again changes nothing.
    expect(weighRules(added.rules, t, 20, { additional: [{ service: 'x-baseline', weight: 10 }, { service: 'x-canary', weight: 10 }], remove: [] }).rules).toEqual(added.rules);
    const removed = weighRules(added.rules, t, 0, { additional: [], remove: ['x-baseline', 'x-canary'] });
    expect(removed.rules[0]?.backendRefs).toEqual([{ name: 'web-stable', port: 8080, weight: 100 }, { name: 'web-canary', port: 8080, weight: 0 }]);
  });

  it('refers to an extra Service on the canary\'s port when it has it, else on its own first port', () => {
    const rules = [{ backendRefs: [{ name: 'web-stable', port: 80, weight: 100 }, { name: 'web-canary', port: 80, weight: 0 }] }];
    const refs = weighRules(rules, t, 10, { additional: [{ service: 'a', weight: 5, ports: [8080] }, { service: 'b', weight: 5, ports: [9090, 80] }, { service: 'c', weight: 5 }], remove: [] }).rules[0]?.backendRefs;
    expect(refs?.slice(2).map((b) => [b.name, b.port])).toEqual([['a', 8080], ['b', 80], ['c', 80]]);
    const http = [{ route: [{ destination: { host: 'web-stable', port: { number: 80 } }, weight: 100 }, { destination: { host: 'web-canary', port: { number: 80 } }, weight: 0 }] }];
    expect(weighHttp(http, t, 10, [], undefined, { additional: [{ service: 'a', weight: 5, ports: [8080] }], remove: [] }).http[0]?.route?.[2]).toEqual({ destination: { host: 'a', port: { number: 8080 } }, weight: 5 });
  });

  it('never removes the canary or the stable, and refuses more than 100 in all', () => {
    const rules = [{ backendRefs: [{ name: 'web-stable', weight: 100 }, { name: 'web-canary', weight: 0 }] }];
    expect(weighRules(rules, t, 0, { additional: [], remove: ['web-stable', 'web-canary'] }).rules[0]?.backendRefs).toHaveLength(2);
    expect(() => weighRules(rules, t, 60, { additional: [{ service: 'x', weight: 50 }], remove: [] }, 'HTTPRoute ns/r')).toThrow(/HTTPRoute ns\/r: .*more than 100/);
  });

  it('Istio: adds host destinations (never subsets) with the canary\'s port, and removes only those', () => {
    const http = [{ name: 'primary', route: [{ destination: { host: 'web-stable', port: { number: 80 } }, weight: 100 }, { destination: { host: 'web-canary', port: { number: 80 } }, weight: 0 }, { destination: { host: 'x-old', subset: 'v1' }, weight: 0 }] }];
    const out = weighHttp(http, t, 10, [], undefined, { additional: [{ service: 'x-canary', weight: 5 }], remove: ['x-old'] });
    expect(out.http[0]?.route).toEqual([
      { destination: { host: 'web-stable', port: { number: 80 } }, weight: 85 },
      { destination: { host: 'web-canary', port: { number: 80 } }, weight: 10 },
      { destination: { host: 'x-old', subset: 'v1' }, weight: 0 }, // a subset destination is someone else's
      { destination: { host: 'x-canary', port: { number: 80 } }, weight: 5 },
    ]);
    const subsets = { name: 'dr', canarySubsetName: 'canary', stableSubsetName: 'stable' };
    const bySubset = [{ route: [{ destination: { host: 'web', subset: 'stable' }, weight: 100 }, { destination: { host: 'web', subset: 'canary' }, weight: 0 }] }];
    expect(weighHttp(bySubset, t, 10, [], subsets, { additional: [{ service: 'x-canary', weight: 5 }], remove: [] }).http[0]?.route?.map((d) => [d.destination?.host, d.destination?.subset, d.weight])).toEqual([
      ['web', 'stable', 85],
      ['web', 'canary', 10],
      ['x-canary', undefined, 5],
    ]);
  });
});
