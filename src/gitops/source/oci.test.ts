import { describe, expect, it } from '@jest/globals';
import { bearerChallenge, chartLayer, HELM_CHART_LAYER, ociRef, pickTag } from './oci.ts';

describe('ociRef', () => {
  it('speaks plain HTTP to loopback registries only, and puts the chart under the path', () => {
    expect(ociRef('oci://127.0.0.1:5000/charts', 'web')).toEqual({ origin: 'http://127.0.0.1:5000', repository: 'charts/web' });
    expect(ociRef('oci://localhost:5000/', 'web')).toEqual({ origin: 'http://localhost:5000', repository: 'web' });
    expect(ociRef('oci://ghcr.io/org/charts/', 'web')).toEqual({ origin: 'https://ghcr.io', repository: 'org/charts/web' });
    expect(() => ociRef('https://ghcr.io/org', 'web')).toThrow('https://ghcr.io/org: not an oci://host/path URL');
    expect(() => ociRef('oci://ghcr.io/org?x=1', 'web')).toThrow('not an oci://host/path URL');
  });
});

describe('pickTag', () => {
  it('reads `_` as `+` (Helm writes build metadata so) and names what there is, newest first', () => {
    expect(pickTag(['1.0.0', '1.1.0', '2.0.0'], 'oci://r/c', 'web', '^1.0.0')).toEqual({ version: '1.1.0', tag: '1.1.0' });
    expect(pickTag(['1.0.0', '1.2.0_build.5', 'latest'], 'oci://r/c', 'web', '^1')).toEqual({ version: '1.2.0+build.5', tag: '1.2.0_build.5' });
    expect(() => pickTag(['1.0.0', '2.0.0', 'latest'], 'oci://r/c', 'web', '^9')).toThrow('no version of chart "web" matches "^9" (available: 2.0.0, 1.0.0)');
    expect(() => pickTag([], 'oci://r/c', 'web', '^9')).toThrow('chart "web" has no versions in oci://r/c');
  });
});

describe('chartLayer', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  it('finds the Helm chart layer, or says the artifact is not a chart', () => {
    expect(chartLayer({ layers: [{ mediaType: 'application/x', digest: 'sha256:0' }, { mediaType: HELM_CHART_LAYER, digest }] }, 'oci://r/c/web:1')).toBe(digest);
    expect(() => chartLayer({ layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest }] }, 'oci://r/c/web:1')).toThrow('oci://r/c/web:1: not a Helm chart');
    expect(() => chartLayer({ layers: [{ mediaType: HELM_CHART_LAYER, digest: 'sha256:../../x' }] }, 'w')).toThrow('not a Helm chart');
    expect(() => chartLayer('nope', 'w')).toThrow('not a Helm chart');
  });
});

describe('bearerChallenge', () => {
  it('reads realm and service of a Bearer challenge, nothing else', () => {
    expect(bearerChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:x:pull"')).toEqual({ realm: 'https://auth.example/token', service: 'registry.example' });
    expect(bearerChallenge('Basic realm="x"')).toBeUndefined();
    expect(bearerChallenge('Bearer realm="file:///etc/passwd"')).toBeUndefined();
    expect(bearerChallenge(null)).toBeUndefined();
  });
});
