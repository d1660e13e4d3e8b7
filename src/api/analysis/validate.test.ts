import { describe, expect, it } from '@jest/globals';
import { loadFixture } from '../../../test/fixtures/api/fixtures.ts';
import { analysisTemplateSchema, clusterAnalysisTemplateSchema, type AnalysisTemplateSpec, type Metric } from './schema.ts';
import { argReferences, validateAnalysisSpec } from './validate.ts';

function spec(): AnalysisTemplateSpec {
  return analysisTemplateSchema.parse(loadFixture('analysistemplate-prometheus-web.yaml')).spec;
}
function metric(s: AnalysisTemplateSpec, i: number): Metric {
  const m = s.metrics[i];
  if (m === undefined) throw new Error(`fixture has no metric ${i}`);
  return m;
}
const fields = (s: AnalysisTemplateSpec) => validateAnalysisSpec(s).map((e) => e.field);

describe('validateAnalysisSpec', () => {
  it('finds nothing wrong in the fixtures', () => {
    expect(validateAnalysisSpec(spec())).toEqual([]);
  });

  it('accepts a job metric with a Job spec, and names the field a bad one lacks', () => {
    const job = clusterAnalysisTemplateSchema.parse(loadFixture('clusteranalysistemplate-job.yaml')).spec;
    expect(validateAnalysisSpec(job)).toEqual([]);
    const s = spec();
    metric(s, 1).provider = { ...metric(s, 1).provider, job: { spec: {} } };
    expect(validateAnalysisSpec(s).map((e) => `${e.field}: ${e.message}`)).toEqual([
      'spec.metrics[1].provider: set exactly one provider of prometheus, web, job, webhook; found web, job',
      'spec.metrics[1].provider.job.spec.template: required: a job metric needs a Job spec with a pod template and containers (provider.job.spec.template.spec.containers)',
    ]);
    const noSpec = spec();
    metric(noSpec, 0).provider = { job: { metadata: { labels: { a: 'b' } } } };
    expect(validateAnalysisSpec(noSpec).map((e) => e.field)).toEqual(['spec.metrics[0].provider.job.spec']);
    const empty = spec();
    metric(empty, 0).provider = { job: { spec: { template: { spec: { restartPolicy: 'Never', containers: [] } } } } };
    expect(validateAnalysisSpec(empty)).toEqual([{ field: 'spec.metrics[0].provider.job.spec.template.spec.containers', message: 'needs at least one container' }]);
    const always = spec();
    metric(always, 0).provider = { job: { spec: { template: { spec: { containers: [{ name: 'c', image: 'i' }] } } } } };
    expect(validateAnalysisSpec(always)).toEqual([{ field: 'spec.metrics[0].provider.job.spec.template.spec.restartPolicy', message: 'must be Never or OnFailure for a Job, got nothing (it would default to Always)' }]);
  });

  it('refuses a webhook URL that is not http(s), naming the field (an {{args}} URL is checked once substituted)', () => {
    const s = spec();
    metric(s, 0).provider = { webhook: { url: 'ftp://hooks.example/x', timeout: 'soon' } };
    expect(validateAnalysisSpec(s).map((e) => e.field)).toEqual(['spec.metrics[0].provider.webhook.url', 'spec.metrics[0].provider.webhook.timeout']);
    expect(validateAnalysisSpec(s)[0]?.message).toBe('must be an http(s) URL, got "ftp://hooks.example/x"');
    metric(s, 0).provider = { webhook: { url: 'http://loadtester.test/', retries: 2, metadata: { cmd: 'hey -z 1m http://x/' } } };
    expect(validateAnalysisSpec(s)).toEqual([]);
  });

  it('needs unique metric names', () => {
    const s = spec();
    s.metrics.push({ ...metric(s, 1) });
    expect(validateAnalysisSpec(s)).toEqual([{ field: 'spec.metrics[2].name', message: 'duplicate metric name "readiness"' }]);
  });

  it('needs exactly one provider per metric', () => {
    const s = spec();
    metric(s, 0).provider.web = { url: 'http://x' };
    metric(s, 1).provider = {};
    const errors = validateAnalysisSpec(s);
    expect(errors.map((e) => e.field)).toEqual(['spec.metrics[0].provider', 'spec.metrics[1].provider']);
    expect(errors[0]?.message).toContain('found prometheus, web');
    expect(errors[1]?.message).toContain('found none');
  });

  it.each(['failureLimit', 'inconclusiveLimit', 'consecutiveErrorLimit', 'count'] as const)('refuses a negative %s', (key) => {
    const s = spec();
    metric(s, 0)[key] = key === 'failureLimit' ? -2 : -1;
    expect(fields(s)).toEqual([`spec.metrics[0].${key}`]);
  });

  it("accepts Argo's failureLimit: -1 (never fail) and limits given as integer strings or arg references", () => {
    const s = spec();
    metric(s, 0).failureLimit = -1;
    metric(s, 0).inconclusiveLimit = '2';
    metric(s, 0).consecutiveErrorLimit = '{{args.prometheus-port}}';
    expect(validateAnalysisSpec(s)).toEqual([]);
    metric(s, 0).inconclusiveLimit = 'lots';
    expect(fields(s)).toEqual(['spec.metrics[0].inconclusiveLimit']);
  });

  it('reports interval and initialDelay that do not parse', () => {
    const s = spec();
    metric(s, 0).interval = '1 minute';
    metric(s, 1).initialDelay = '5d';
    expect(fields(s)).toEqual(['spec.metrics[0].interval', 'spec.metrics[1].initialDelay']);
  });

  it('needs an interval when count is more than one', () => {
    const s = spec();
    delete metric(s, 0).interval;
    expect(fields(s)).toEqual(['spec.metrics[0].interval']);
  });

  it('reports {{args.x}} references to args that are not declared, at the field that uses them', () => {
    const s = spec();
    s.args = (s.args ?? []).filter((a) => a.name !== 'service-name');
    expect(fields(s)).toEqual(['spec.metrics[0].provider.prometheus.query', 'spec.metrics[1].provider.web.url']);
    expect(validateAnalysisSpec(s)[0]?.message).toContain('"service-name"');
  });

  it('needs unique arg names and one source per arg', () => {
    const s = spec();
    s.args = [...(s.args ?? []), { name: 'service-name' }, { name: 'x', value: 'a', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }];
    expect(fields(s)).toEqual(['spec.args[3].name', 'spec.args[4]']);
  });

  it('needs dryRun and measurementRetention to name metrics, and a non-negative retention', () => {
    const s = spec();
    s.dryRun = [{ metricName: '*' }, { metricName: 'nope' }];
    s.measurementRetention = [{ metricName: 'success-rate', limit: -1 }];
    expect(fields(s)).toEqual(['spec.dryRun[1].metricName', 'spec.measurementRetention[0].limit']);
  });

  it('needs at least one metric', () => {
    expect(fields({ metrics: [] })).toEqual(['spec.metrics']);
  });
});

describe('argReferences', () => {
  it('finds every {{args.name}} in order', () => {
    expect(argReferences('http://{{args.host}}:{{args.port}}/{{ args.spaced }}/{{args.host}}')).toEqual(['host', 'port', 'host']);
  });
});

describe('the judge provider', () => {
  it('is checked by the judge\'s own rules, naming each field', () => {
    const judge = { address: 'http://127.0.0.1:9090', router: 'istio' as const, namespace: 'ns', canary: 'a', stable: 'b', signal: 'errors' as const, alpha: 0.7, beta: 0.01, maxRatio: 1, tests: 0, maxDuration: 'later', onInconclusive: 'hold' as const, guardMaxBadRate: 2 };
    const errs = validateAnalysisSpec({ metrics: [{ name: 'j', interval: '15s', provider: { judge } }] });
    expect(errs.map((e) => e.field).sort()).toEqual(['spec.metrics[0].provider.judge.alpha', 'spec.metrics[0].provider.judge.guardMaxBadRate', 'spec.metrics[0].provider.judge.maxDuration', 'spec.metrics[0].provider.judge.maxRatio', 'spec.metrics[0].provider.judge.tests']);
    expect(errs.find((e) => e.field.endsWith('.alpha'))?.message).toBe('alpha must be in (0, 0.5), got 0.7');
  });
});
