import { describe, expect, it } from '@jest/globals';
import { loadFixture } from '../../../test/fixtures/api/fixtures.ts';
import { analysisRunSchema, analysisTemplateSchema, clusterAnalysisTemplateSchema } from './schema.ts';

describe('analysis schemas', () => {
  it('parse the Argo AnalysisTemplate fixture without losing a field', () => {
    const m = loadFixture('analysistemplate-prometheus-web.yaml');
    expect(analysisTemplateSchema.parse(m)).toEqual(m);
  });

  it('parse a ClusterAnalysisTemplate and keep its Job spec whole', () => {
    const m = loadFixture('clusteranalysistemplate-job.yaml');
    const parsed = clusterAnalysisTemplateSchema.parse(m);
    expect(parsed).toEqual(m);
    expect(parsed.spec.metrics[0]?.provider.job).toMatchObject({ spec: { template: { spec: { restartPolicy: 'Never' } } } });
  });

  it('parse an AnalysisRun with the status Argo writes', () => {
    const template = loadFixture('analysistemplate-prometheus-web.yaml');
    const run = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'AnalysisRun',
      metadata: { name: 'checkout-7d9f-2', namespace: 'shop' },
      spec: { ...(template.spec as object), terminate: true },
      status: {
        phase: 'Running',
        startedAt: '2025-03-01T10:00:00Z',
        metricResults: [
          {
            name: 'success-rate',
            phase: 'Running',
            count: 2,
            successful: 1,
            failed: 1,
            consecutiveError: 0,
            measurements: [
              { phase: 'Successful', value: '[0.99]', startedAt: '2025-03-01T10:00:00Z', finishedAt: '2025-03-01T10:00:01Z' },
              { phase: 'Failed', value: '[0.80]', startedAt: '2025-03-01T10:01:00Z', finishedAt: '2025-03-01T10:01:01Z' },
              { phase: 'Running', startedAt: '2025-03-01T10:02:00Z', resumeAt: '2025-03-01T10:02:10Z' },
            ],
          },
        ],
        runSummary: { count: 2, successful: 1, failed: 1 },
      },
    };
    expect(analysisRunSchema.parse(run)).toEqual(run);
    expect(analysisRunSchema.safeParse({ ...run, status: { phase: 'Done' } }).success).toBe(false);
  });
});
