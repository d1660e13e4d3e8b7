// Argo's job provider: each measurement runs a Kubernetes Job built from the metric's template (args already
// substituted), owned by the AnalysisRun so the garbage collector removes it with the run. The measurement stays
// under way (Running, no finishedAt) while the Job runs and ends Successful when it completes, Failed when it fails
// (the Job controller honours backoffLimit). The controller learns of the end from the Job cache (`finished`), so a
// running Job costs no polling; resumeAt is only the safety net.
import { createHash } from 'node:crypto';
import { jobMetricSchema, type Measurement, type Metric } from '../../api/analysis/schema.ts';
import { jobProviderErrors } from '../../api/analysis/validate.ts';
import { formatSpecErrors } from '../../api/common/errors.ts';
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { OWNER_LABEL } from '../../runtime/sharding/decide.ts';
import { isConflict, isNotFound, KubeApiError } from '../../kube/errors.ts';
import { apiVersionOf, collectionPath, objectPath, R } from '../../kube/resource.ts';
import type { Observation } from '../decide/judge.ts';
import { ProviderError, type MeasureContext, type MetricProvider } from './provider.ts';

/** The measurement metadata key naming the Job (Argo's key). */
export const JOB_NAME_KEY = 'job-name';
/** On every Job the provider creates: the owning run's uid (the Job cache selects on it). */
export const RUN_UID_LABEL = 'analysis.sluice.dev/run-uid';
export const RUN_NAME_ANNOTATION = 'analysis.sluice.dev/run';
export const METRIC_ANNOTATION = 'analysis.sluice.dev/metric';

const DEFAULT_RESUME_AFTER_MS = 30_000;

export interface JobObject extends KubeObject {
  spec?: Record<string, unknown>;
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[]; active?: number; succeeded?: number; failed?: number };
}

export interface JobProviderOptions {
  client: KubeClient;
  /** The operator's Job cache (label RUN_UID_LABEL); without it every look is a GET. */
  jobs?: { get(namespace: string, name: string): JobObject | undefined };
  /** The safety-net interval between looks at a running Job (the cache normally says sooner). */
  resumeAfterMs?: number;
  /**
   * With sharding: this replica's shard, the owner label of the Jobs it creates (its Job cache selects on it). A Job
   * of a run that moved here is not relabelled: `read` falls back to a GET, and the resume interval polls it.
   */
  shard?: string;
}

/** The Job's name: the run's name, a hash of (run uid, metric) and the measurement's number; at most 63 characters. */
export function jobName(run: { name: string; uid: string }, metric: string, attempt: number): string {
  const hash = createHash('sha256').update(`${run.uid}\0${metric}`).digest('hex').slice(0, 10);
  const suffix = `-${hash}-${attempt}`;
  const prefix = run.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 63 - suffix.length).replace(/^-+|-+$/g, '');
  return `${prefix === '' ? 'analysis' : prefix}${suffix}`;
}

/** Complete or Failed once the Job controller has decided; undefined while it runs. */
export function jobOutcome(job: JobObject): { type: 'Complete' | 'Failed'; reason?: string; message?: string } | undefined {
  const c = job.status?.conditions?.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
  return c === undefined ? undefined : { type: c.type as 'Complete' | 'Failed', ...(c.reason !== undefined ? { reason: c.reason } : {}), ...(c.message !== undefined ? { message: c.message } : {}) };
}

export class JobProvider implements MetricProvider {
  readonly type = 'job';
  private readonly client: KubeClient;
  private readonly jobs: JobProviderOptions['jobs'];
  private readonly resumeAfterMs: number;
  private readonly shard: string | undefined;

  constructor(opts: JobProviderOptions) {
    this.shard = opts.shard;
    this.client = opts.client;
    this.jobs = opts.jobs;
    this.resumeAfterMs = opts.resumeAfterMs ?? DEFAULT_RESUME_AFTER_MS;
  }

  async measure(metric: Metric, signal: AbortSignal, context?: MeasureContext): Promise<Observation> {
    if (signal.aborted) throw new ProviderError(this.type, 'aborted', 'the measurement was aborted');
    const run = context?.run;
    if (run === undefined) throw new ProviderError(this.type, 'config', 'the job provider needs the AnalysisRun it measures for');
    const running = context?.inProgress?.metadata?.[JOB_NAME_KEY];
    if (running !== undefined) return this.resume(running, run.namespace, signal);
    const spec = metric.provider.job;
    const problems = spec === undefined ? [{ field: 'provider.job', message: 'required' }] : jobProviderErrors('provider.job', spec);
    if (problems.length > 0) throw new ProviderError(this.type, 'config', `metric "${metric.name}": ${formatSpecErrors(problems)}`);
    const tmpl = jobMetricSchema.parse(spec);
    const name = jobName(run, metric.name, context?.attempt ?? 1);
    const job: JobObject = {
      apiVersion: apiVersionOf(R.job),
      kind: 'Job',
      metadata: {
        name,
        namespace: run.namespace,
        labels: { ...tmpl.metadata?.labels, [RUN_UID_LABEL]: run.uid, ...(this.shard !== undefined ? { [OWNER_LABEL]: this.shard } : {}) },
        annotations: { ...tmpl.metadata?.annotations, [RUN_NAME_ANNOTATION]: run.name, [METRIC_ANNOTATION]: metric.name },
        // No blockOwnerDeletion: it would need update rights on the run's finalizers, and nothing waits on it.
        ownerReferences: [{ apiVersion: apiVersionOf(R.analysisRun), kind: 'AnalysisRun', name: run.name, uid: run.uid, controller: true }],
      },
      spec: tmpl.spec,
    };
    try {
      await this.client.request<JobObject>('POST', collectionPath(R.job, run.namespace), { body: job, signal });
    } catch (err) {
      // Created by an earlier attempt whose status write was lost: the same name means the same measurement.
      if (!isConflict(err)) throw this.failure(err, signal, `creating Job ${name}`);
      const existing = await this.read(name, run.namespace, signal);
      if (existing?.metadata?.ownerReferences?.some((o) => o.uid === run.uid) !== true) throw new ProviderError(this.type, 'http', `Job ${name} exists and is not this run's`, 409);
    }
    return { kind: 'running', display: `Job ${name} started`, metadata: { [JOB_NAME_KEY]: name }, resumeAfterMs: this.resumeAfterMs };
  }

  finished(inProgress: Measurement, namespace: string): boolean {
    const name = inProgress.metadata?.[JOB_NAME_KEY];
    const job = name === undefined ? undefined : this.jobs?.get(namespace, name);
    return job !== undefined && jobOutcome(job) !== undefined;
  }

  async terminate(inProgress: Measurement, namespace: string, signal: AbortSignal): Promise<void> {
    const name = inProgress.metadata?.[JOB_NAME_KEY];
    if (name === undefined) return;
    try {
      // Background: the Job goes at once and its pods after it; the run does not wait for them.
      await this.client.request('DELETE', objectPath(R.job, namespace, name), { body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' }, signal });
    } catch (err) {
      if (!isNotFound(err)) throw this.failure(err, signal, `deleting Job ${name}`);
    }
  }

  private async resume(name: string, namespace: string, signal: AbortSignal): Promise<Observation> {
    let job: JobObject | undefined;
    try {
      job = await this.read(name, namespace, signal);
    } catch (err) {
      if (signal.aborted) throw new ProviderError(this.type, 'aborted', 'the measurement was aborted');
      // The Job is still there as far as anyone knows: keep the measurement under way and look again soon.
      const why = err instanceof Error ? err.message : String(err);
      return { kind: 'running', display: `Job ${name}: cannot read it (${why})`, metadata: { [JOB_NAME_KEY]: name }, resumeAfterMs: Math.min(this.resumeAfterMs, 10_000) };
    }
    if (job === undefined) return { kind: 'missing', reason: `Job ${name} was deleted before it finished`, display: 'deleted' };
    const out = jobOutcome(job);
    const metadata = { [JOB_NAME_KEY]: name };
    if (out === undefined) return { kind: 'running', display: `Job ${name} running`, metadata, resumeAfterMs: this.resumeAfterMs };
    const detail = [out.reason, out.message].filter((x) => x !== undefined && x !== '').join(': ');
    const judgement = out.type === 'Complete'
      ? { phase: 'Successful' as const, value: 'Complete', metadata }
      : { phase: 'Failed' as const, value: 'Failed', message: `Job ${name} failed${detail !== '' ? `: ${detail}` : ''}`, metadata };
    return { kind: 'verdict', judgement, display: judgement.value };
  }

  /** The Job from the cache, else from the apiserver (the cache may not have seen a Job just created). */
  private async read(name: string, namespace: string, signal: AbortSignal): Promise<JobObject | undefined> {
    const cached = this.jobs?.get(namespace, name);
    if (cached !== undefined) return cached;
    try {
      return await this.client.request<JobObject>('GET', objectPath(R.job, namespace, name), { signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private failure(err: unknown, signal: AbortSignal, what: string): ProviderError {
    if (signal.aborted) return new ProviderError(this.type, 'aborted', 'the measurement was aborted');
    if (!(err instanceof KubeApiError)) return new ProviderError(this.type, 'network', `${what}: ${err instanceof Error ? err.message : String(err)}`);
    if (err.kind === 'Network') return new ProviderError(this.type, 'network', `${what}: ${err.message}`);
    if (err.kind === 'Timeout') return new ProviderError(this.type, 'timeout', `${what}: ${err.message}`);
    return new ProviderError(this.type, 'http', `${what}: ${err.message}`, err.status);
  }
}
