import { describe, expect, it } from '@jest/globals';
import { experimentSchema, type Experiment } from './schema.ts';
import { validateExperiment } from './validate.ts';

const base = (): Experiment =>
  experimentSchema.parse({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Experiment',
    metadata: { name: 'e' },
    spec: {
      duration: '5m',
      templates: [{ name: 'baseline', selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } } } }],
      analyses: [{ name: 'compare', templateName: 'compare' }],
    },
  });
const ctx = { analysisTemplates: new Set(['compare']), clusterAnalysisTemplates: new Set<string>() };

describe('validateExperiment', () => {
  it('accepts a valid Experiment', () => {
    expect(validateExperiment(base(), ctx)).toEqual([]);
  });

  it('names each bad field', () => {
    const e = base();
    e.spec.duration = '5 minutes';
    e.spec.templates.push({ name: 'baseline' }, { name: 'Canary_1', selector: {}, template: {} });
    e.spec.analyses?.push({ name: 'compare', templateName: 'compare', clusterScope: true }, { name: '', templateName: '' });
    expect(validateExperiment(e, ctx)).toEqual([
      { field: 'spec.templates[1].name', message: 'duplicate name "baseline"' },
      { field: 'spec.templates[1].template', message: 'required: the pod template this ReplicaSet runs' },
      { field: 'spec.templates[2].name', message: 'must be a lowercase DNS label (it names the ReplicaSet), got "Canary_1"' },
      { field: 'spec.templates[2].selector', message: 'required and not empty: it selects the template\'s pods' },
      { field: 'spec.duration', message: 'invalid duration "5 minutes": unexpected "5 minutes" (units: ns, us, ms, s, m, h)' },
      { field: 'spec.analyses[1].name', message: 'duplicate name "compare"' },
      { field: 'spec.analyses[1].templateName', message: 'ClusterAnalysisTemplate "compare" not found' },
      { field: 'spec.analyses[2].name', message: 'required: it names the analysis run' },
      { field: 'spec.analyses[2].templateName', message: 'required' },
    ]);
  });

  it('needs a template, and a selector that matches its pods', () => {
    const e = base();
    const t = e.spec.templates[0];
    if (t !== undefined) t.selector = { matchLabels: { app: 'other' } };
    expect(validateExperiment(e).map((x) => x.field)).toEqual(['spec.templates[0].selector']);
    e.spec.templates = [];
    expect(validateExperiment(e)).toEqual([{ field: 'spec.templates', message: 'needs at least one template' }]);
  });

  it('a template with a Service needs container ports, and a valid Service name', () => {
    const e = base();
    const t = e.spec.templates[0]!;
    t.service = { name: 'Bad_Name' };
    expect(validateExperiment(e, ctx)).toEqual([
      { field: 'spec.templates[0].service', message: 'the template\'s containers declare no ports (spec.containers[].ports): its Service needs one' },
      { field: 'spec.templates[0].service.name', message: 'must be a lowercase DNS label (a Service name), got "Bad_Name"' },
    ]);
    t.service = {};
    t.template = { ...t.template, spec: { containers: [{ name: 'app', ports: [{ containerPort: 8080 }] }] } };
    expect(validateExperiment(e, ctx)).toEqual([]);
  });
});
