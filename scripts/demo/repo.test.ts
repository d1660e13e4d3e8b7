// The demo's CI "bump": a real edit of the Rollout manifest that keeps the file as people wrote it.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { checkApplication } from '../../src/gitops/spec.ts';
import { checkRollout } from '../../src/rollout/spec.ts';
import { bumpRollout, EXAMPLES, imageTag, istioVariant, ROLLOUT_FILE, SERVICES_FILE, seedFiles, VIRTUAL_SERVICE_FILE, withHarnessLabels } from './repo.ts';
import { RUN_LABEL } from '../../test/dataplane/podrunner.ts';
import { PROXY_LABEL } from '../../test/dataplane/kubeproxy.ts';
import { UNREADY_LABEL } from '../../test/cluster/stages.ts';
import { shortValue } from './view.ts';

type Rollout = { spec: { template: { spec: { containers: { image: string; env: { name: string; value: string }[] }[] } } } };

describe('the demo config repo', () => {
  const text = seedFiles()[ROLLOUT_FILE] ?? '';

  it('holds the Rollout, its Services and the HTTPRoute; the Istio variant the VirtualService instead', () => {
    expect(Object.keys(seedFiles()).sort()).toEqual(['apps/demo/httproute.yaml', 'apps/demo/rollout.yaml', 'apps/demo/services.yaml']);
    expect(imageTag(text)).toBe('1.0.0');
    const istio = istioVariant(seedFiles());
    expect(Object.keys(istio).sort()).toEqual(['apps/demo/rollout.yaml', 'apps/demo/services.yaml', VIRTUAL_SERVICE_FILE]);
    const canary = (parse(istio[ROLLOUT_FILE] ?? '') as { spec: { strategy: { canary: { trafficRouting: object; steps: { analysis?: object }[] } } } }).spec.strategy.canary;
    expect(canary.trafficRouting).toEqual({ istio: { virtualService: { name: 'demo', routes: ['primary'] } } });
    expect(canary.steps.find((s) => s.analysis !== undefined)?.analysis).not.toHaveProperty('gatewayAPIMetrics');
    expect(istio[ROLLOUT_FILE]).toContain('# percent of non-5xx responses');
  });

  it("adds only the harness's opt-in labels: the pods to the pod runner, the stable and canary Services to the kube-proxy emulator", () => {
    const files = withHarnessLabels(seedFiles());
    const labels = (parse(files[ROLLOUT_FILE] ?? '') as { spec: { template: { metadata: { labels: object } } } }).spec.template.metadata.labels;
    expect(labels).toEqual({ app: 'demo', [RUN_LABEL]: 'demo-app', [UNREADY_LABEL]: 'true' });
    const services = parseAllDocuments(files[SERVICES_FILE] ?? '').map((d) => d.toJS() as { metadata: { name: string; labels?: object } });
    expect(services.map((s) => [s.metadata.name, s.metadata.labels])).toEqual([['demo', undefined], ['demo-stable', { [PROXY_LABEL]: 'true' }], ['demo-canary', { [PROXY_LABEL]: 'true' }]]);
  });

  it('is valid: the Rollout passes the semantic checks (both variants), the Application the spec check', () => {
    for (const t of [text, istioVariant(seedFiles())[ROLLOUT_FILE] ?? '']) {
      const c = checkRollout(parse(t), { analysisTemplates: new Set(), clusterAnalysisTemplates: new Set() });
      expect(c.ok ? [] : c.errors).toEqual([]);
    }
    expect(checkApplication(parse(readFileSync(join(EXAMPLES, 'application.yaml'), 'utf8'))).ok).toBe(true);
  });

  it('bumps the image tag and sets env, keeping comments and the other fields', () => {
    const bumped = bumpRollout(text, { tag: '1.2.0', env: { ERROR_RATE: '0.3', NEW_VAR: 'x' } });
    const c = (parse(bumped) as Rollout).spec.template.spec.containers[0];
    expect(c?.image).toBe('registry.example.com/sluice-demo-app:1.2.0');
    expect(c?.env).toEqual([{ name: 'ERROR_RATE', value: '0.3' }, { name: 'LATENCY_MS', value: '20' }, { name: 'NEW_VAR', value: 'x' }]);
    expect(bumped).toContain('# percent of non-5xx responses');
    expect(bumpRollout(bumped, { tag: '1.1.0' })).toContain('sluice-demo-app:1.1.0');
  });

  it('names the file when the Rollout has no image', () => {
    expect(() => bumpRollout('spec: {}\n', { tag: '2' })).toThrow(`${ROLLOUT_FILE}: spec.template.spec.containers[0].image is missing`);
  });

  it('shows measured values short', () => {
    expect(shortValue('[71.75373683822988]')).toBe('71.8');
    expect(shortValue('NaN')).toBe('NaN');
    expect(shortValue(undefined)).toBe('-');
  });
});
