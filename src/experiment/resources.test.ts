import { describe, expect, it } from '@jest/globals';
import type { Rollout } from '../api/rollout/schema.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../rollout/hash.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';
import { experimentManifest } from '../rollout/experiment.ts';
import { analysisRunManifest, replicaSetManifest, serviceManifest, substituteExperimentValue, templateHash } from './resources.ts';

const ref = { name: 'ex', namespace: 'ns', uid: 'u1' };
const template = { name: 'canary', replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web', [POD_TEMPLATE_HASH_LABEL]: 'rolloutshash' } }, spec: { containers: [{ name: 'a', image: 'x:2' }] } } };

describe('experiment resources', () => {
  it('gives a template its own hash (never the Rollout revision\'s), selected and owned by the Experiment', () => {
    const hash = templateHash('ex', template);
    expect(hash).not.toBe('rolloutshash');
    expect(templateHash('other', template)).not.toBe(hash); // the same spec in another Experiment is another ReplicaSet
    const rs = replicaSetManifest(ref, template, hash, 2) as { metadata: { name: string; labels: Record<string, string>; ownerReferences: unknown[] }; spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } } };
    expect(rs.metadata.name).toBe('ex-canary');
    expect(rs.spec.replicas).toBe(2);
    expect(rs.spec.selector.matchLabels).toEqual({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
    expect(rs.spec.template.metadata.labels).toMatchObject({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash, 'sluice.dev/experiment': 'ex', 'sluice.dev/experiment-template': 'canary' });
    expect(rs.metadata.ownerReferences).toEqual([{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Experiment', name: 'ex', uid: 'u1', controller: true, blockOwnerDeletion: true }]);
  });

  it('gives a template\'s Service its pods (selector plus hash) and its containers\' ports, owned by the Experiment', () => {
    const withPorts = { ...template, template: { ...template.template, spec: { containers: [{ name: 'a', image: 'x:2', ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9090, protocol: 'UDP' }] }] } } };
    const svc = serviceManifest(ref, { ...withPorts, service: {} }, 'h9') as unknown as { metadata: { name: string; labels: Record<string, string>; ownerReferences: { uid: string }[] }; spec: unknown };
    expect(svc.metadata.name).toBe('ex-canary');
    expect(svc.metadata.labels).toEqual({ 'sluice.dev/experiment': 'ex', 'sluice.dev/experiment-template': 'canary' });
    expect(svc.metadata.ownerReferences.map((o) => o.uid)).toEqual(['u1']);
    expect(svc.spec).toEqual({ selector: { app: 'web', [POD_TEMPLATE_HASH_LABEL]: 'h9' }, ports: [{ name: 'http', port: 8080, targetPort: 8080, protocol: 'TCP' }, { port: 9090, targetPort: 9090, protocol: 'UDP' }] });
    expect((serviceManifest(ref, { ...withPorts, service: { name: 'mine' } }, 'h9').metadata as { name: string }).name).toBe('mine');
  });

  it('labels the ReplicaSet, Service and AnalysisRuns a sharded Experiment creates with its shard (not the pods), and nothing unsharded', () => {
    type Labelled = { metadata: { labels: Record<string, string> }; spec: { template?: { metadata: { labels: Record<string, string> } }; selector: unknown } };
    const sharded = { ...ref, shard: 'shard-b' };
    const rs = replicaSetManifest(sharded, template, 'h1', 1) as unknown as Labelled;
    expect(rs.metadata.labels[OWNER_LABEL]).toBe('shard-b');
    // A move relabels the ReplicaSet only: pods carrying the label would keep a stale one, and the selector must not.
    expect(rs.spec.template?.metadata.labels[OWNER_LABEL]).toBeUndefined();
    expect(JSON.stringify(rs.spec.selector)).not.toContain(OWNER_LABEL);
    const svc = serviceManifest(sharded, { ...template, service: {} }, 'h1') as unknown as Labelled;
    expect(svc.metadata.labels).toEqual({ 'sluice.dev/experiment': 'ex', 'sluice.dev/experiment-template': 'canary', [OWNER_LABEL]: 'shard-b' });
    expect(JSON.stringify(svc.spec.selector)).not.toContain(OWNER_LABEL);
    expect((replicaSetManifest(ref, template, 'h1', 1) as unknown as Labelled).metadata.labels[OWNER_LABEL]).toBeUndefined();
    expect((serviceManifest(ref, { ...template, service: {} }, 'h1') as unknown as Labelled).metadata.labels[OWNER_LABEL]).toBeUndefined();
    // Its AnalysisRuns are born on its shard too (the sharder keeps them there: same key as the Experiment).
    const tpl = [{ metadata: { name: 't', namespace: 'ns' }, spec: { metrics: [{ name: 'm', provider: { web: { url: 'http://x' } } }] } }];
    const analysis = { name: 'compare', templateName: 't' };
    expect((analysisRunManifest(sharded, { templates: [template] }, analysis, {}, tpl, []) as unknown as Labelled).metadata.labels).toEqual({ 'sluice.dev/experiment': 'ex', 'sluice.dev/experiment-analysis': 'compare', [OWNER_LABEL]: 'shard-b' });
    expect((analysisRunManifest(ref, { templates: [template] }, analysis, {}, tpl, []) as unknown as Labelled).metadata.labels[OWNER_LABEL]).toBeUndefined();
  });

  it('substitutes the templates\' hashes and the Experiment\'s name in args, leaving unknown references as written', () => {
    expect(substituteExperimentValue('{{templates.baseline.podTemplateHash}}/{{ templates.canary.podTemplateHash }}/{{experiment.name}}/{{templates.nope.podTemplateHash}}', 'ex', { baseline: 'b1', canary: 'c1' })).toBe('b1/c1/ex/{{templates.nope.podTemplateHash}}');
    // A template's Service (only templates that have one): what the judge compares on Traefik.
    expect(substituteExperimentValue('{{templates.canary.serviceName}} {{templates.baseline.serviceName}}', 'ex', { baseline: 'b1', canary: 'c1' }, { canary: 'ex-canary' })).toBe('ex-canary {{templates.baseline.serviceName}}');
  });

  it('builds a run from its template, the Experiment\'s args over the template\'s defaults, dryRun passed on', () => {
    const templates = [{ metadata: { name: 't' }, spec: { args: [{ name: 'hash' }, { name: 'threshold', value: '0.9' }], metrics: [{ name: 'm', provider: { web: { url: 'http://x' } } }] } }];
    const run = analysisRunManifest(ref, { templates: [template], dryRun: [{ metricName: 'm' }] }, { name: 'compare', templateName: 't', args: [{ name: 'hash', value: '{{templates.canary.podTemplateHash}}' }] }, { canary: 'c1' }, templates, []) as { metadata: { name: string; labels: Record<string, string> }; spec: { args: unknown[]; dryRun: unknown[]; metrics: unknown[] } };
    expect(run.metadata.name).toBe('ex-compare');
    expect(run.metadata.labels).toEqual({ 'sluice.dev/experiment': 'ex', 'sluice.dev/experiment-analysis': 'compare' });
    expect(run.spec.args).toEqual([{ name: 'hash', value: 'c1' }, { name: 'threshold', value: '0.9' }]);
    expect(run.spec.dryRun).toEqual([{ metricName: 'm' }]);
    expect(run.spec.metrics).toHaveLength(1);
    expect(() => analysisRunManifest(ref, { templates: [] }, { name: 'a', templateName: 'missing', clusterScope: true }, {}, templates, [])).toThrow('ClusterAnalysisTemplate "missing" not found');
  });

  it('a Rollout step resolves specRef into the canary or stable pod template and its args from the revision hashes', () => {
    const rollout = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'a', image: 'web:2' }] } }, progressDeadlineSeconds: 120 },
      status: { stableRS: 's1' },
    } as Rollout;
    const stableTemplate = { metadata: { labels: { app: 'web', [POD_TEMPLATE_HASH_LABEL]: 's1' } }, spec: { containers: [{ name: 'a', image: 'web:1' }] } };
    const e = experimentManifest({
      ref: { name: 'web', namespace: 'ns', uid: 'r1', rollout },
      templateHash: 'c2',
      stepIndex: 3,
      stableTemplate,
      step: {
        duration: '5m',
        templates: [{ name: 'baseline', specRef: 'stable' }, { name: 'canary', specRef: 'canary', replicas: 2, metadata: { labels: { role: 'canary' } } }],
        analyses: [{ name: 'c', templateName: 't', args: [{ name: 'stable', valueFrom: { podTemplateHashValue: 'Stable' } }, { name: 'latest', valueFrom: { podTemplateHashValue: 'Latest' } }, { name: 'lit', value: 'v' }] }],
      },
    });
    expect(e.metadata?.name).toBe('web-c2-3');
    expect(e.metadata?.labels).toEqual({ 'sluice.dev/rollout': 'web', [POD_TEMPLATE_HASH_LABEL]: 'c2', 'sluice.dev/step-index': '3' });
    expect(e.spec.templates.map((t) => [t.name, t.replicas, (t.template as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image, t.template?.metadata?.labels])).toEqual([
      ['baseline', 1, 'web:1', { app: 'web' }],
      ['canary', 2, 'web:2', { app: 'web', role: 'canary' }],
    ]);
    expect(e.spec.progressDeadlineSeconds).toBe(120);
    expect(e.spec.analyses?.[0]?.args).toEqual([{ name: 'stable', value: 's1' }, { name: 'latest', value: 'c2' }, { name: 'lit', value: 'v' }]);
    expect(e.spec.templates.map((t) => t.service)).toEqual([undefined, undefined]);
    expect(e.spec.scaleDownDelaySeconds).toBeUndefined();

    // A weight asks for a Service, and keeps the pods 30 s after the end so the route lets go first.
    const routed = experimentManifest({ ref: { name: 'web', namespace: 'ns', uid: 'r1', rollout }, templateHash: 'c2', stepIndex: 1, stableTemplate, step: { templates: [{ name: 'baseline', specRef: 'stable', weight: 10 }, { name: 'canary', specRef: 'canary', service: { name: 'mine' } }] } });
    expect(routed.spec.templates.map((t) => t.service)).toEqual([{}, { name: 'mine' }]);
    expect(routed.spec.scaleDownDelaySeconds).toBe(30);
  });
});
