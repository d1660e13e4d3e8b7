// Discovery against the real apiserver: core and grouped kinds, a CRD created after a miss, and the refresh limit.
import { afterAll, describe, expect, it } from '@jest/globals';
import { kubectl } from '../../test/support/cluster.ts';
import { testClient } from '../../test/support/operator.ts';
import { Discovery } from './discovery.ts';

const crd = (group: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.${group}
spec:
  group: ${group}
  scope: Cluster
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`;

describe('discovery', () => {
  const group = `d${Date.now().toString(36)}.sluice.test`;
  afterAll(async () => {
    await kubectl(['delete', 'crd', `gadgets.${group}`, '--ignore-not-found']);
  });

  it('maps kinds to REST coordinates with one request per group-version', async () => {
    const { client, requests } = testClient();
    const d = new Discovery(client);
    expect(await d.resolve('v1', 'ConfigMap')).toEqual({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true });
    expect(await d.resolve('v1', 'Namespace')).toMatchObject({ plural: 'namespaces', namespaced: false });
    expect(await d.resolve('apps/v1', 'Deployment')).toMatchObject({ group: 'apps', plural: 'deployments', namespaced: true });
    expect(requests.get('GET')).toBe(2);
    expect(d.cached('apps/v1', 'Deployment')?.plural).toBe('deployments');
  });

  it('finds a CRD created after a miss, once the refresh interval allows', async () => {
    const { client, requests } = testClient();
    let now = 0;
    const d = new Discovery(client, { minRefreshMs: 1000, now: () => now });
    expect(await d.resolve(`${group}/v1`, 'Gadget')).toBeUndefined();
    expect((await kubectl(['apply', '-f', '-'], crd(group))).code).toBe(0);
    await kubectl(['wait', '--for=condition=Established', `crd/gadgets.${group}`]);
    const before = requests.get('GET') ?? 0;
    expect(await d.resolve(`${group}/v1`, 'Gadget')).toBeUndefined(); // within the refresh interval: no request
    expect(requests.get('GET') ?? 0).toBe(before);
    now = 5000;
    expect(await d.resolve(`${group}/v1`, 'Gadget')).toMatchObject({ plural: 'gadgets', namespaced: false });
  });
});
