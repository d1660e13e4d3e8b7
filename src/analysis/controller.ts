// The AnalysisRun controller's shell: read the run from the cache, resolve its args, ask decide/ which metrics are
// due, measure them through the providers, write status (server-side apply on the status subresource, field
// manager sluice-analysis) and requeue exactly when the next metric is due. No polling: a quiet run costs nothing
// until its timer fires. Everything it decides lives in decide/ (pure); everything it measures in providers/.
import { analysisRunSpecSchema, type AnalysisRun, type AnalysisRunStatus, type MetricResult } from '../api/analysis/schema.ts';
import { validateAnalysisSpec } from '../api/analysis/validate.ts';
import { formatSpecErrors } from '../api/common/errors.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import type { Controller, ReconcileRequest, ReconcileResult } from '../runtime/controller.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Manager } from '../runtime/manager.ts';
import { ArgError, resolveArgs, substituteArgs, type SecretReader } from './args.ts';
import { decideRun, endInProgress, isCompleted, isInProgress, recordMeasurement, STATE_KEY, type Taken } from './decide/decide.ts';
import { judge } from './decide/judge.ts';
import { MISSING_DATA_ANNOTATION, missingDataPolicies, planMetrics, PlanError, type MetricPlan } from './decide/plan.ts';
import { PrometheusProvider } from './providers/prometheus.ts';
import { ProviderError, providerFor, type MetricProvider } from './providers/provider.ts';
import { WebProvider } from './providers/web.ts';
import { JudgeProvider } from './providers/judge.ts';
import { JobProvider, RUN_UID_LABEL, type JobObject } from './providers/job.ts';
import { WebhookProvider } from './providers/webhook.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../rollout/hash.ts';
import { errorStatus, runStatus } from './status.ts';

export const ANALYSIS_FIELD_MANAGER = 'sluice-analysis';

type RunObject = KubeObject & { spec?: unknown; status?: AnalysisRunStatus };

export interface AnalysisControllerDeps {
  client: KubeClient;
  events: EventRecorder;
  workers: number;
  /** Defaults to Prometheus, web, judge, job and webhook. */
  providers?: readonly MetricProvider[];
  /** The job provider's safety-net interval between looks at a running Job (its cache normally says sooner). */
  jobResumeAfterMs?: number;
  /** Milliseconds since the epoch; tests may pin it. */
  now?: () => number;
}

/** Reads Secret keys through the API (not a cache: Secrets are not watched, and args are read once per reconcile). */
export function secretReader(client: KubeClient): SecretReader {
  return {
    async read(namespace, name, key) {
      try {
        const s = await client.get<KubeObject & { data?: Record<string, string>; stringData?: Record<string, string> }>(R.secret, namespace, name);
        const b64 = s.data?.[key];
        return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
  };
}

const sameStatus = (a: AnalysisRunStatus | undefined, b: AnalysisRunStatus): boolean => JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, normalize(x)]));
  return v;
}

export function registerAnalysisController(manager: Manager, deps: AnalysisControllerDeps): Controller {
  const runs = manager.cache<RunObject>(R.analysisRun);
  // Jobs the job provider created, by their run's uid label: a Job's end enqueues its run (owns, below).
  // With sharding, only this shard's (see JobProviderOptions.shard).
  const jobs = manager.cache<JobObject>(R.job, { labelSelector: RUN_UID_LABEL, children: true });
  const providers = deps.providers ?? [new PrometheusProvider(), new WebProvider(), new JudgeProvider(), new JobProvider({ client: deps.client, jobs, resumeAfterMs: deps.jobResumeAfterMs, ...(manager.shard !== undefined ? { shard: manager.shard } : {}) }), new WebhookProvider()];
  const now = deps.now ?? Date.now;
  const secrets = secretReader(deps.client);

  const write = async (req: ReconcileRequest, status: AnalysisRunStatus): Promise<void> => {
    const written = await deps.client.apply<KubeObject>(R.analysisRun, { metadata: { name: req.name, namespace: req.namespace }, status }, ANALYSIS_FIELD_MANAGER, { force: true, subresource: 'status' });
    controller.expectations.expect(req.key, written.metadata?.resourceVersion);
  };

  const finish = async (req: ReconcileRequest, run: RunObject, status: AnalysisRunStatus): Promise<void> => {
    await write(req, status);
    const phase = status.phase ?? 'Error';
    req.log.info({ phase, message: status.message }, 'analysis run completed');
    await deps.events.record(run, phase === 'Successful' ? 'Normal' : 'Warning', `AnalysisRun${phase}`, status.message ?? `the run is ${phase}`);
  };

  const reconcile = async (req: ReconcileRequest): Promise<ReconcileResult | void> => {
    const run = runs.get(req.namespace, req.name);
    if (run === undefined || run.metadata?.deletionTimestamp !== undefined) return;
    // A completed run is history: never measured again, never rewritten.
    if (isCompleted(run.status?.phase)) return;
    const nowMs = now();
    const nowIso = new Date(nowMs).toISOString();

    const parsed = analysisRunSpecSchema.safeParse(run.spec);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return finish(req, run, errorStatus(run.status, `invalid spec: spec.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, nowIso));
    }
    const spec: AnalysisRun['spec'] = parsed.data;
    const specErrors = validateAnalysisSpec(spec);
    if (specErrors.length > 0) return finish(req, run, errorStatus(run.status, `invalid spec: ${formatSpecErrors(specErrors)}`, nowIso));
    const policies = missingDataPolicies(run.metadata?.annotations?.[MISSING_DATA_ANNOTATION]);
    if (!policies.ok) return finish(req, run, errorStatus(run.status, policies.message, nowIso));

    let plans: MetricPlan[];
    let metrics: AnalysisRun['spec']['metrics'];
    try {
      const values = await resolveArgs(spec.args, run, secrets);
      metrics = spec.metrics.map((m, i) => substituteArgs(m, i, values));
      plans = planMetrics({ ...spec, metrics }, policies.policy);
    } catch (err) {
      if (err instanceof ArgError || err instanceof PlanError) return finish(req, run, errorStatus(run.status, err.message, nowIso));
      throw err;
    }

    const startedAtIso = run.status?.startedAt ?? nowIso;
    const startedAtMs = Date.parse(startedAtIso);
    let results: MetricResult[] = run.status?.metricResults ?? [];
    const terminate = spec.terminate === true;
    const namespace = req.namespace ?? '';
    const inProgress = (name: string) => {
      const last = results.find((r) => r.name === name)?.measurements?.at(-1);
      return last !== undefined && isInProgress(last) ? last : undefined;
    };
    const providerOf = (index: number): MetricProvider | undefined => {
      try {
        return providerFor(metrics[index] as AnalysisRun['spec']['metrics'][number], providers);
      } catch {
        return undefined;
      }
    };
    // Measurements under way whose provider already sees them finished (a Job's end in the cache): look now.
    const resumeNow = new Set(plans.filter((p, i) => { const m = inProgress(p.name); return m !== undefined && providerOf(i)?.finished?.(m, namespace) === true; }).map((p) => p.name));
    // Who the run measures for: the Rollout that owns it and the revision (a webhook's payload names them).
    const rollout = run.metadata?.ownerReferences?.find((o) => o.kind === 'Rollout')?.name;
    const runRef = { name: req.name, namespace, uid: run.metadata?.uid ?? '', rollout, checksum: run.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL] };
    let decision = decideRun(plans, results, { terminate, startedAtMs, nowMs, resumeNow });

    if (decision.due.length > 0) {
      // Due metrics are measured in parallel: one slow provider does not delay the others' verdicts.
      const taken = await Promise.all(
        decision.due.map(async (name): Promise<[string, Taken]> => {
          const index = plans.findIndex((p) => p.name === name);
          const metric = metrics[index] as AnalysisRun['spec']['metrics'][number];
          const plan = plans[index] as MetricPlan;
          const started = new Date(now()).toISOString();
          try {
            // The newest measurement that carries a provider's state (an Error look between carries none).
            const result = results.find((r) => r.name === name);
            const previous = result?.measurements?.findLast((x) => x.metadata?.[STATE_KEY] !== undefined);
            const attempt = (result?.count ?? 0) + (result?.error ?? 0) + 1;
            const obs = await providerFor(metric, providers).measure(metric, req.signal, { previous, nowMs: now(), run: runRef, inProgress: inProgress(name), attempt });
            return [name, { ...judge(metric, obs, plan.missingData), startedAt: started, finishedAt: new Date(now()).toISOString() }];
          } catch (err) {
            if (!(err instanceof ProviderError)) throw err;
            return [name, { phase: 'Error', value: '', message: err.message, startedAt: started, finishedAt: new Date(now()).toISOString() }];
          }
        }),
      );
      // Shutting down or losing the lease: record nothing; whoever leads next measures again.
      if (req.signal.aborted) return;
      for (const [name, m] of taken) {
        const plan = plans.find((p) => p.name === name) as MetricPlan;
        const next = recordMeasurement(plan, results.find((r) => r.name === name), m);
        results = [...results.filter((r) => r.name !== name), next];
        req.log.debug({ metric: name, phase: m.phase, value: m.value }, 'measured');
      }
      decision = decideRun(plans, results, { terminate, startedAtMs, nowMs: now() });
    }

    if (decision.completed) {
      // The run is over: measurements still under way are ended (their Jobs deleted) and never count.
      for (const [i, p] of plans.entries()) {
        const m = inProgress(p.name);
        if (m === undefined) continue;
        await providerOf(i)?.terminate?.(m, namespace, req.signal);
        results = results.map((r) => (r.name === p.name ? endInProgress(r, new Date(now()).toISOString()) : r));
      }
    }

    const status = runStatus(plans, results, decision, startedAtIso, new Date(now()).toISOString(), run.status);
    if (decision.completed) {
      await finish(req, run, status);
      return;
    }
    if (!sameStatus(run.status, status)) await write(req, status);
    // Exactly when the next metric is due (or at once, when one is already due again: an interval of 0). The
    // decision is taken again at the current time, since measuring took some of it.
    const again = decideRun(plans, results, { terminate, startedAtMs, nowMs: now() });
    if (again.due.length > 0) return { requeueAfterMs: 0 };
    return again.nextAt !== undefined ? { requeueAfterMs: Math.max(0, again.nextAt - now()) } : undefined;
  };

  const controller = manager.addController({ name: 'analysisrun', for: runs, owns: [jobs], reconciler: { reconcile }, workers: deps.workers });
  return controller;
}
