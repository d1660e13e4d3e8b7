// Argo's documented job-based analysis on the real control plane, after only the apiVersion change: a canary whose
// analysis step runs the template's Job moves on when the Job exits 0 and aborts on its own when it exits 1 (kwok
// fails the pod when its template carries FAIL_LABEL, as a failing smoke test would).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { FAIL_LABEL } from '../../test/cluster/stages.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { helpers, installAllCrds, rolloutManifest, runOperator, type InProcessOperator } from '../../test/support/rollouts.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { RUN_UID_LABEL } from '../analysis/providers/job.ts';

// Argo Rollouts' docs (analysis/job.md), verbatim but for apiVersion and names.
const ARGO_JOB_TEMPLATE = `
apiVersion: sluice.dev/v1alpha1
kind: AnalysisTemplate
metadata:
  name: smoke
spec:
  args:
    - name: service
  metrics:
    - name: test
      provider:
        job:
          metadata:
            annotations:
              foo: bar # annotations defined here will be copied to the Job object
            labels:
              foo: bar # labels defined here will be copied to the Job object
          spec:
            backoffLimit: 1
            template:
              spec:
                containers:
                  - name: test
                    image: my-image:latest
                    command: [my-test-script, "{{args.service}}.default.svc.cluster.local"]
                restartPolicy: Never
`;

type Template = { metadata: { name: string }; spec: { metrics: { provider: { job: { spec: { template: { metadata?: object } } } } }[] } };

describe('job-based analysis in a canary step (real control plane)', () => {
  let ns: string;
  let op: InProcessOperator;
  let h: ReturnType<typeof helpers>;

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('job-analysis');
    op = await runOperator(ns);
    h = helpers(ns, op.client);
    const passing = parse(ARGO_JOB_TEMPLATE) as Template;
    const failing = parse(ARGO_JOB_TEMPLATE) as Template;
    failing.metadata.name = 'smoke-fails';
    const job = failing.spec.metrics[0]?.provider.job.spec.template;
    if (job !== undefined) job.metadata = { labels: { [FAIL_LABEL]: 'true' } };
    for (const t of [passing, failing]) {
      const res = await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], stringify(t));
      expect(res.stderr).toBe('');
    }
  }, 60_000);

  afterAll(async () => {
    await op.stop();
    await deleteNamespace(ns);
  });

  const steps = (template: string): object[] => [{ setWeight: 50 }, { analysis: { templates: [{ templateName: template }], args: [{ name: 'service', value: 'shop-canary' }] } }];
  const runs = async (): Promise<(KubeObject & { status?: { phase?: string } })[]> => (await op.client.list<KubeObject & { status?: { phase?: string } }>(R.analysisRun, ns)).items;

  it('a Job that exits 0 passes the step and the canary is promoted', async () => {
    await h.apply(rolloutManifest('shop', 'v1', { steps: steps('smoke') }));
    await waitFor('v1 Healthy', async () => (await h.rollout('shop')).status?.phase === 'Healthy', 60_000);
    await h.apply(rolloutManifest('shop', 'v2', { steps: steps('smoke') }));
    await waitFor('v2 promoted', async () => {
      const r = await h.rollout('shop');
      return r.status?.phase === 'Healthy' && r.status.stableRS === r.status.currentPodHash && (await runs()).length === 1;
    }, 90_000);
    const [run] = await runs();
    expect(run?.status?.phase).toBe('Successful');
    const jobs = await op.client.list<KubeObject & { spec?: unknown }>(R.job, ns, { labelSelector: `${RUN_UID_LABEL}=${run?.metadata?.uid ?? ''}` });
    expect(jobs.items).toHaveLength(1);
    expect(jobs.items[0]?.metadata?.labels).toMatchObject({ foo: 'bar' });
    expect(jobs.items[0]?.metadata?.annotations).toMatchObject({ foo: 'bar' });
    expect(JSON.stringify(jobs.items[0]?.spec)).toContain('shop-canary.default.svc.cluster.local');
  }, 150_000);

  it('a Job that exits 1 (after its backoffLimit) fails the analysis and the rollout aborts on its own', async () => {
    await h.apply(rolloutManifest('shop', 'v3', { steps: steps('smoke-fails') }));
    await waitFor('aborted by the failed Job', async () => (await h.rollout('shop')).status?.abort === true, 90_000);
    const r = await h.rollout('shop');
    expect(r.status?.phase).toBe('Degraded');
    const failed = (await runs()).filter((x) => x.status?.phase === 'Failed');
    expect(failed).toHaveLength(1);
  }, 120_000);
});
