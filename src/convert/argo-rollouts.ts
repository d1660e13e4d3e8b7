// Argo Rollouts → Sluice: Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun and Experiment keep Argo's field names,
// so the object is the same with apiVersion sluice.dev/v1alpha1, less the fields Sluice does not support. Those are
// found exactly as the apiserver would prune them (the generated CRD schema) and reported one by one; a step or a
// metric left with nothing Sluice can run is removed whole, and an unsupported traffic router with it.
import { SUPPORTED_PROVIDERS } from '../api/analysis/validate.ts';
import { fieldPath } from '../api/common/errors.ts';
import { ARGO_GATEWAY_API_PLUGIN } from '../api/rollout/schema.ts';
import { describeValue } from '../lint/related.ts';
import type { PathSegment } from '../lint/source.ts';
import { crdSchema, kindDefinition, pruneUnknown } from '../lint/unknown.ts';
import { RUNTIME_METADATA, SLUICE_API, type ConvertContext, type Manifest } from './types.ts';

/** Why some well-known Argo fields have no Sluice equivalent (the last path segment names them). */
const HINTS: Readonly<Record<string, string>> = {
  plugin: 'step plugins are not supported by Sluice',
  antiAffinity: 'Sluice does not inject anti-affinity between ReplicaSets: put it in the pod template',
  canaryMetadata: 'ephemeral pod metadata is not supported by Sluice',
  stableMetadata: 'ephemeral pod metadata is not supported by Sluice',
  pingPong: 'ping-pong services are not supported by Sluice',
  templates: 'nested AnalysisTemplates are not supported by Sluice: list the templates in the Rollout instead',
  alb: 'Sluice routes with Istio, NGINX or the Gateway API',
  smi: 'Sluice routes with Istio, NGINX or the Gateway API',
  ambassador: 'Sluice routes with Istio, NGINX or the Gateway API',
  appMesh: 'Sluice routes with Istio, NGINX or the Gateway API',
  traefik: 'Sluice routes with Istio, NGINX or the Gateway API',
  apisix: 'Sluice routes with Istio, NGINX or the Gateway API',
  maxTrafficWeight: 'Sluice weights are percentages of 100',
  ttlStrategy: 'Sluice keeps AnalysisRuns until the Rollout garbage-collects them',
};

const ARGO_PROVIDER_HINT = `metric provider not supported by Sluice (${SUPPORTED_PROVIDERS.join(', ')} are)`;

/**
 * The lists whose items were removed, by path: each kept item's index in the source. The converted object keeps
 * Argo's field names, so a field of the output is the same field of the source once these indexes are mapped back.
 */
class Renumbered {
  private readonly lists = new Map<string, number[]>();

  set(path: readonly PathSegment[], kept: number[]): void {
    this.lists.set(JSON.stringify(path), kept);
  }

  sourcePath(path: readonly PathSegment[]): PathSegment[] {
    const out: PathSegment[] = [];
    path.forEach((seg, i) => {
      const kept = typeof seg === 'number' ? this.lists.get(JSON.stringify(path.slice(0, i))) : undefined;
      out.push(kept?.[seg as number] ?? seg);
    });
    return out;
  }
}

export function convertArgoRollouts(ctx: ConvertContext, kind: string): void {
  const def = kindDefinition(kind);
  if (def === undefined) throw new Error(`not a Sluice kind: ${kind}`);
  const src = ctx.fields.take() as Record<string, unknown>;
  // Without metadata there is no object to write (and nothing the self-check could name): an error, nothing emitted.
  if (!isObj(src.metadata)) {
    ctx.report(['metadata'], 'error', `must be a mapping with at least a name, got ${src.metadata === undefined ? 'nothing' : describeValue(src.metadata)}: ${kind} not converted`);
    return;
  }
  const { value, unknown } = pruneUnknown({ ...src, apiVersion: SLUICE_API }, crdSchema(def));
  const out = value as Manifest;
  for (const path of unknown) {
    const last = path[path.length - 1];
    const parent = path[path.length - 2];
    const hint = parent === 'provider' ? ARGO_PROVIDER_HINT : HINTS[String(last)];
    ctx.report(path, 'unmapped', `${hint ?? 'not supported by Sluice'}: left out`);
  }
  dropRuntime(ctx, out);
  const renumbered = new Renumbered();
  if (kind === 'Rollout') cleanRollout(ctx, out, renumbered);
  else if (kind !== 'Experiment') cleanMetrics(ctx, out, ['spec'], renumbered);
  ctx.emit(out, (path) => renumbered.sourcePath(path));
}

function dropRuntime(ctx: ConvertContext, out: Manifest): void {
  const meta = out.metadata;
  const runtime = RUNTIME_METADATA.filter((k) => meta[k] !== undefined);
  for (const k of runtime) delete meta[k];
  const dropped = [...runtime.map((k) => `metadata.${k}`), ...(out.status !== undefined ? ['status'] : [])];
  if (dropped.length > 0) ctx.report(runtime.length > 0 ? ['metadata'] : ['status'], 'note', `dropped what the apiserver and the controller write (${dropped.join(', ')})`);
  delete out.status;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function cleanRollout(ctx: ConvertContext, out: Manifest, renumbered: Renumbered): void {
  const canary = (out.spec as Obj | undefined)?.strategy;
  const c = isObj(canary) && isObj(canary.canary) ? canary.canary : undefined;
  if (c === undefined) return;
  const base: PathSegment[] = ['spec', 'strategy', 'canary'];
  const tr0 = c.trafficRouting;
  const splitsMany = isObj(tr0) && (tr0.istio !== undefined || tr0.gatewayAPI !== undefined || (isObj(tr0.plugins) && tr0.plugins[ARGO_GATEWAY_API_PLUGIN] !== undefined));
  if (Array.isArray(c.steps)) {
    const kept: unknown[] = [];
    const from: number[] = [];
    c.steps.forEach((s, i) => {
      if (isObj(s) && Object.keys(s).length > 0) {
        if (!splitsMany) dropExperimentWeights(ctx, s, [...base, 'steps', i]);
        kept.push(s);
        from.push(i);
      } else {
        ctx.report([...base, 'steps', i], 'unmapped', 'step removed: it sets nothing Sluice supports');
      }
    });
    c.steps = kept;
    renumbered.set([...base, 'steps'], from);
  }
  const tr = c.trafficRouting;
  if (!isObj(tr)) return;
  if (isObj(tr.plugins)) {
    for (const name of Object.keys(tr.plugins)) {
      if (name === ARGO_GATEWAY_API_PLUGIN) continue; // Sluice reads this plugin's config as its own gatewayAPI
      ctx.report([...base, 'trafficRouting', 'plugins', name], 'unmapped', `traffic router plugin not supported by Sluice (Istio, NGINX, Gateway API are): left out`);
      delete tr.plugins[name];
    }
    if (Object.keys(tr.plugins).length === 0) delete tr.plugins;
  }
  if (!['istio', 'nginx', 'gatewayAPI', 'plugins'].some((k) => tr[k] !== undefined)) {
    delete c.trafficRouting;
    ctx.report([...base, 'trafficRouting'], 'unmapped', 'no traffic router Sluice supports is left: the canary runs on replica ratios');
  }
}

/**
 * An experiment template's `weight` goes to its own Service through Istio or the Gateway API, as in Argo; a Rollout
 * on NGINX (two Services only) or on no router cannot route it, and Sluice refuses the field there.
 */
function dropExperimentWeights(ctx: ConvertContext, step: Obj, at: PathSegment[]): void {
  const templates = isObj(step.experiment) && Array.isArray(step.experiment.templates) ? step.experiment.templates : [];
  templates.forEach((t, j) => {
    if (!isObj(t) || t.weight === undefined) return;
    delete t.weight;
    ctx.report([...at, 'experiment', 'templates', j, 'weight'], 'unmapped', 'traffic to an experiment template needs trafficRouting istio or gatewayAPI, which this Rollout does not use (the template runs without traffic): left out');
  });
}

function cleanMetrics(ctx: ConvertContext, out: Manifest, base: PathSegment[], renumbered: Renumbered): void {
  const spec = out.spec;
  if (!isObj(spec) || !Array.isArray(spec.metrics)) return;
  const kept: unknown[] = [];
  const from: number[] = [];
  spec.metrics.forEach((m, i) => {
    if (isObj(m) && isObj(m.provider) && Object.keys(m.provider).length > 0) {
      kept.push(m);
      from.push(i);
    } else {
      ctx.report([...base, 'metrics', i], 'unmapped', `metric ${isObj(m) && typeof m.name === 'string' ? `"${m.name}" ` : ''}removed: it has no provider Sluice supports`);
    }
  });
  spec.metrics = kept;
  renumbered.set([...base, 'metrics'], from);
  if (kept.length === 0) ctx.report([...base, 'metrics'], 'error', `no metric is left: ${fieldPath('', ...base, 'metrics')} needs one that Sluice can measure`);
}
