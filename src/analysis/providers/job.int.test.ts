// The job provider on the real control plane: the kube-controller-manager's Job controller runs the Jobs, kwok
// completes their pods (exit 0) or fails them (the FAIL_LABEL, exit 1). First the shared provider contract, then
// the AnalysisRun controller measuring with Jobs: one Job per measurement, owned and labelled, Successful on
// complete, Failed on failure after backoffLimit, Error when the Job cannot be created, deleted on termination.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAIL_LABEL, RUN_FOR_ANNOTATION } from '../../../test/cluster/stages.ts';
import { freePort, HOST } from '../../../test/prometheus/harness.ts';
import { createNamespace, deleteNamespace, waitFor } from '../../../test/support/cluster.ts';
import { installCrds } from '../../../test/support/crds.ts';
import { testClient, testLogger, testMetrics } from '../../../test/support/operator.ts';
import type { AnalysisRunStatus, Metric } from '../../api/analysis/schema.ts';
import { KubeClient, type KubeObject } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { R } from '../../kube/resource.ts';
import { EventRecorder } from '../../runtime/events.ts';
import { Manager } from '../../runtime/manager.ts';
import { registerAnalysisController } from '../controller.ts';
import { ENDED_IN_PROGRESS } from '../decide/decide.ts';
import { providerContract } from './contract.ts';
import { JOB_NAME_KEY, JobProvider, METRIC_ANNOTATION, RUN_NAME_ANNOTATION, RUN_UID_LABEL, type JobObject } from './job.ts';

type Run = KubeObject & { status?: AnalysisRunStatus };

/** Argo's documented job metric shape: a Job spec whose pod exits 0 to pass; labels/annotations pick kwok's stage. */
function jobMetric(name: string, opts: { fail?: boolean; runFor?: string; backoffLimit?: number; container?: string; args?: string[] } = {}, extra: Partial<Metric> = {}): Metric {
  return {
    name,
    ...extra,
    provider: {
      job: {
        metadata: { labels: { team: 'checks' } },
        spec: {
          backoffLimit: opts.backoffLimit ?? 0,
          template: {
            metadata: { labels: opts.fail === true ? { [FAIL_LABEL]: 'true' } : {}, annotations: opts.runFor !== undefined ? { [RUN_FOR_ANNOTATION]: opts.runFor } : {} },
            spec: { restartPolicy: 'Never', containers: [{ name: opts.container ?? 'smoke', image: 'registry.invalid/smoke:1', args: opts.args ?? ['http://canary/healthz'] }] },
          },
        },
      },
    },
  };
}

const { client } = testClient();
let ns: string;

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('jobs');
}, 60_000);

afterAll(async () => {
  await deleteNamespace(ns);
});

describe('the job provider contract (real control plane)', () => {
  let hang: Server;
  let hangUrl = '';
  let closedPort = 0;
  let run: { name: string; namespace: string; uid: string };
  let attempt = 0;

  beforeAll(async () => {
    hang = createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, HOST, r));
    hangUrl = `http://${HOST}:${(hang.address() as AddressInfo).port}`;
    closedPort = await freePort();
    // The Jobs are owned by a real AnalysisRun (the garbage collector removes Jobs whose owner does not exist).
    const created = await client.create<KubeObject>(R.analysisRun, { metadata: { name: 'contract', namespace: ns }, spec: { metrics: [jobMetric('x')] } });
    run = { name: 'contract', namespace: ns, uid: created.metadata?.uid ?? '' };
  });

  afterAll(async () => {
    hang.closeAllConnections();
    await new Promise<void>((r) => hang.close(() => r()));
  });

  const fake = (server: string): KubeClient => new KubeClient({ server, prepare: () => Promise.resolve({ headers: {}, dispatcher: undefined }) }, { timeoutMs: 1000 });

  providerContract('job', () => ({
    provider: new JobProvider({ client, resumeAfterMs: 200 }),
    providerFor: (s) => (s === 'slow' ? new JobProvider({ client: fake(hangUrl) }) : s === 'unreachable' ? new JobProvider({ client: fake(`http://${HOST}:${closedPort}`) }) : undefined),
    context: () => ({ nowMs: Date.now(), run, attempt: ++attempt }),
    metric: (s) => {
      switch (s) {
        case 'pass':
        case 'slow':
        case 'unreachable':
          return jobMetric(`contract-${s}`);
        case 'fail':
          return jobMetric('contract-fail', { fail: true });
        case 'empty':
          return jobMetric('contract-empty', { runFor: '60s' });
        case 'http-error':
          // The schema takes it; the apiserver refuses the container name (422).
          return jobMetric('contract-invalid', { container: 'Not_A_Name' });
        case 'no-endpoint':
          return { name: 'contract-no-spec', provider: { job: { metadata: { labels: { a: 'b' } } } } };
      }
    },
    // 'empty': the Job is deleted under the measurement, so there is nothing to observe.
    onRunning: async (s, obs) => {
      if (s !== 'empty' || obs.kind !== 'running') return;
      try {
        await client.delete(R.job, ns, obs.metadata[JOB_NAME_KEY] ?? '', { propagationPolicy: 'Background' });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  }));
});

describe('the AnalysisRun controller with job metrics (real control plane)', () => {
  let manager: Manager;
  let running: Promise<unknown>;

  beforeAll(async () => {
    const log = testLogger();
    manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [ns] });
    registerAnalysisController(manager, { client, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2 });
    running = manager.run();
    await waitFor('caches', () => manager.ready());
  }, 30_000);

  afterAll(async () => {
    await manager.stop();
    await running;
  });

  const create = async (name: string, spec: Record<string, unknown>): Promise<string> => {
    const r = await client.create<KubeObject>(R.analysisRun, { metadata: { name, namespace: ns }, spec });
    return r.metadata?.uid ?? '';
  };
  const status = async (name: string): Promise<AnalysisRunStatus | undefined> => (await client.get<Run>(R.analysisRun, ns, name)).status;
  const completed = async (name: string, timeoutMs = 60_000): Promise<AnalysisRunStatus> => {
    await waitFor(`${name} completed`, async () => ['Successful', 'Failed', 'Error', 'Inconclusive'].includes((await status(name))?.phase ?? ''), timeoutMs);
    return (await status(name)) as AnalysisRunStatus;
  };
  const jobsOf = async (uid: string): Promise<JobObject[]> => (await client.list<JobObject>(R.job, ns, { labelSelector: `${RUN_UID_LABEL}=${uid}` })).items;

  it('runs one Job per measurement (count 2), owned by the run and labelled, and passes when they complete', async () => {
    const metric = jobMetric('smoke', { runFor: '1s', args: ['http://{{args.host}}/healthz'] }, { count: 2, interval: '1s' });
    const uid = await create('two-jobs', { args: [{ name: 'host', value: 'canary.example' }], metrics: [metric] });
    const s = await completed('two-jobs');
    expect(s.phase).toBe('Successful');
    expect(s.metricResults?.[0]).toMatchObject({ name: 'smoke', phase: 'Successful', count: 2, successful: 2, failed: 0 });
    const ms = s.metricResults?.[0]?.measurements ?? [];
    expect(ms.map((m) => m.phase)).toEqual(['Successful', 'Successful']);
    // Each measurement ran for as long as its Job (at least the 1 s the pod runs), and names its own Job.
    for (const m of ms) expect(Date.parse(m.finishedAt ?? '') - Date.parse(m.startedAt ?? '')).toBeGreaterThanOrEqual(900);
    const jobs = await jobsOf(uid);
    expect(jobs.map((j) => j.metadata?.name).sort()).toEqual(ms.map((m) => m.metadata?.[JOB_NAME_KEY]).sort());
    expect(new Set(jobs.map((j) => j.metadata?.name)).size).toBe(2);
    for (const j of jobs) {
      expect(j.metadata?.ownerReferences).toEqual([{ apiVersion: 'sluice.dev/v1alpha1', kind: 'AnalysisRun', name: 'two-jobs', uid, controller: true }]);
      expect(j.metadata?.labels).toMatchObject({ team: 'checks', [RUN_UID_LABEL]: uid });
      expect(j.metadata?.annotations).toMatchObject({ [RUN_NAME_ANNOTATION]: 'two-jobs', [METRIC_ANNOTATION]: 'smoke' });
      // Args are substituted into the Job.
      expect(JSON.stringify(j.spec)).toContain('http://canary.example/healthz');
    }
  }, 90_000);

  it('fails when the Job fails after its backoffLimit, with the Job controller\'s reason', async () => {
    const uid = await create('failing-job', { metrics: [jobMetric('smoke', { fail: true, backoffLimit: 1 })] });
    const s = await completed('failing-job');
    expect(s.phase).toBe('Failed');
    const m = s.metricResults?.[0]?.measurements?.[0];
    expect(m).toMatchObject({ phase: 'Failed', value: 'Failed' });
    expect(m?.message).toContain('BackoffLimitExceeded');
    const [job] = await jobsOf(uid);
    expect(job?.status?.failed).toBe(2); // the first try and one retry
  }, 90_000);

  it('is an Error when the Job cannot be created, naming why', async () => {
    await create('uncreatable', { metrics: [jobMetric('smoke', { container: 'Not_A_Name' }, { consecutiveErrorLimit: 0 })] });
    const s = await completed('uncreatable');
    expect(s.phase).toBe('Error');
    expect(s.metricResults?.[0]?.measurements?.[0]?.message).toMatch(/job: creating Job .*Not_A_Name/);
  }, 60_000);

  it('a run terminated while its Job runs deletes the Job and never counts it', async () => {
    const uid = await create('terminated', { metrics: [jobMetric('long', { runFor: '120s' })] });
    await waitFor('the Job running', async () => (await jobsOf(uid)).length === 1 && (await status('terminated'))?.metricResults?.[0]?.measurements?.[0]?.phase === 'Running', 30_000);
    await client.mergePatch(R.analysisRun, ns, 'terminated', { spec: { terminate: true } });
    const s = await completed('terminated');
    expect(s.phase).toBe('Inconclusive');
    expect(s.message).toContain('Run Terminated');
    expect(s.metricResults?.[0]?.count ?? 0).toBe(0);
    expect(s.metricResults?.[0]?.successful ?? 0).toBe(0);
    expect(s.metricResults?.[0]?.measurements?.[0]).toMatchObject({ phase: 'Inconclusive', message: ENDED_IN_PROGRESS });
    await waitFor('the Job deleted', async () => (await jobsOf(uid)).length === 0, 30_000);
  }, 60_000);
});
