// The fuzz targets: every entry point that reads what a user, a repository or a webhook sender wrote. Each target
// feeds one generated input and returns the contract breaches it saw (a rejection that names no field or file:line);
// anything it throws, other than the typed errors the entry point documents, is a crash.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { analysisTemplateSchema, metricResultSchema } from '../../../src/api/analysis/schema.ts';
import { validateAnalysisSpec } from '../../../src/api/analysis/validate.ts';
import { applicationSchema } from '../../../src/api/application/schema.ts';
import { checkSpec } from '../../../src/api/common/check.ts';
import type { SpecError } from '../../../src/api/common/errors.ts';
import { rolloutSchema, rolloutStatusSchema } from '../../../src/api/rollout/schema.ts';
import { decideRun } from '../../../src/analysis/decide/decide.ts';
import { PlanError, planMetrics } from '../../../src/analysis/decide/plan.ts';
import { ExpressionError, evaluate, type Value } from '../../../src/analysis/expressions/evaluate.ts';
import { convert, formatConvertFinding, toYaml } from '../../../src/convert/convert.ts';
import { checkApplication } from '../../../src/gitops/spec.ts';
import { plan, pruneVerdict, type ObjectRef } from '../../../src/gitops/plan/plan.ts';
import { parseManifests, RenderError } from '../../../src/gitops/render/yaml.ts';
import { matchApplications, readDelivery, verify } from '../../../src/gitops/webhook/webhook.ts';
import { lint } from '../../../src/lint/lint.ts';
import { decideBlueGreen } from '../../../src/rollout/decide/bluegreen.ts';
import { decideCanary } from '../../../src/rollout/decide/canary.ts';
import type { ReplicaSetView } from '../../../src/rollout/decide/types.ts';
import { checkRollout } from '../../../src/rollout/spec.ts';
import { fromZod, HOSTILE_VALUE, JSON_VALUE, manifestObjects, mutated, seedDocuments, seedTexts, yamlTexts, type Json } from './arbitraries.ts';

export interface Target {
  name: string;
  /** The inputs (built lazily: some targets share the seed files). */
  inputs: () => fc.Arbitrary<unknown>;
  /** Runs one input; returns the breaches of the error contract (empty: fine). Throws only on a crash. */
  run: (input: never) => string[];
}

const FILE = 'fuzz/input.yaml';

let cached: { objects: fc.Arbitrary<Json>; texts: fc.Arbitrary<string> } | undefined;
function corpus(): { objects: fc.Arbitrary<Json>; texts: fc.Arbitrary<string> } {
  if (cached !== undefined) return cached;
  const seeds = seedDocuments();
  const schemas = [rolloutSchema, applicationSchema, analysisTemplateSchema].map(fromZod);
  const objects = manifestObjects(seeds, schemas);
  cached = { objects, texts: yamlTexts(objects, seedTexts()) };
  return cached;
}

const located = (where: string, f: { file: string; line: number; column: number; field: string; message: string }): string[] => {
  const out: string[] = [];
  if (f.file !== FILE) out.push(`${where}: names file ${JSON.stringify(f.file)}`);
  if (!(Number.isInteger(f.line) && f.line >= 1 && Number.isInteger(f.column) && f.column >= 1)) out.push(`${where}: no line:column (${f.line}:${f.column})`);
  if (f.field === '') out.push(`${where}: no field`);
  if (f.message.trim() === '') out.push(`${where}: empty message`);
  return out;
};

const named = (where: string, errors: readonly SpecError[]): string[] =>
  errors.flatMap((e) => [...(e.field === '' ? [`${where}: an error without a field: ${e.message}`] : []), ...(e.message.trim() === '' ? [`${where}: ${e.field}: empty message`] : [])]);

const render: Target = {
  name: 'yaml render',
  inputs: () => corpus().texts,
  run: (text: string) => {
    try {
      parseManifests(text, FILE);
      return [];
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      return e.file === FILE && e.line !== undefined && e.line >= 1 ? [] : [`RenderError without file:line: ${e.message.slice(0, 200)}`];
    }
  },
};

const lintTarget: Target = {
  name: 'lint',
  inputs: () => corpus().texts,
  run: (text: string) => lint([{ path: FILE, text }]).findings.flatMap((f) => located('lint finding', f)),
};

const convertTarget: Target = {
  name: 'convert',
  inputs: () => corpus().texts,
  run: (text: string) => {
    const r = convert([{ path: FILE, text }]);
    toYaml(r);
    r.findings.forEach(formatConvertFinding);
    return r.findings.flatMap((f) => located('convert finding', f));
  },
};

const validators: Target = {
  name: 'spec validators',
  inputs: () => corpus().objects,
  run: (obj: Json) => {
    const out: string[] = [];
    const r = checkRollout(obj);
    if (!r.ok) out.push(...named('Rollout', r.errors));
    const a = checkApplication(obj);
    if (!a.ok) out.push(...named('Application', a.errors));
    const t = checkSpec(analysisTemplateSchema, obj, (v) => validateAnalysisSpec(v.spec));
    if (!t.ok) out.push(...named('AnalysisTemplate', t.errors));
    return out;
  },
};

const replicaSet: fc.Arbitrary<ReplicaSetView> = fc.record(
  {
    name: fc.constantFrom('web-a', 'web-b', 'web-c'),
    hash: fc.constantFrom('a', 'b', 'c', 'h1'),
    replicas: fc.integer({ min: -1, max: 12 }),
    available: fc.integer({ min: -1, max: 12 }),
    ready: fc.integer({ min: -1, max: 12 }),
    scaleDownAt: fc.integer({ min: 0, max: 2e12 }),
    createdAt: fc.integer({ min: 0, max: 2e12 }),
    revision: fc.integer({ min: 0, max: 10 }),
  },
  { requiredKeys: ['name', 'hash', 'replicas', 'available', 'ready'] },
);
const phase = fc.constantFrom('Pending', 'Running', 'Successful', 'Failed', 'Error', 'Inconclusive' as const);

const rolloutEngine: Target = {
  name: 'rollout engines',
  inputs: () => {
    const rollouts = mutated(fc.constantFrom(...seedDocuments().filter((s) => (s.value as { kind?: unknown }).kind === 'Rollout').map((s) => s.value)));
    return fc.record({
      rollout: fc.oneof(rollouts, fromZod(rolloutSchema)),
      status: fc.oneof(fromZod(rolloutStatusSchema), fc.constant({})),
      replicaSets: fc.array(replicaSet, { maxLength: 4 }),
      stepAnalysis: fc.dictionary(fc.constantFrom('-3', '-2', '-1', '0', '1', '2', '5'), phase),
      selectors: fc.record({ canary: fc.constantFrom('a', 'b', 'h1'), stable: fc.constantFrom('a', 'b'), active: fc.constantFrom('a', 'b'), preview: fc.constantFrom('b', 'h1') }, { requiredKeys: [] }),
      now: fc.integer({ min: 0, max: 2e12 }),
    });
  },
  run: (input: { rollout: Json; status: Json; replicaSets: ReplicaSetView[]; stepAnalysis: Record<string, 'Running'>; selectors: Record<string, string>; now: number }) => {
    const checked = checkRollout(input.rollout);
    if (!checked.ok) return named('Rollout', checked.errors);
    const status = rolloutStatusSchema.safeParse(input.status);
    if (!status.success) return [];
    const base = { now: input.now, spec: checked.value.spec, status: status.data, templateHash: 'h1', replicaSets: input.replicaSets, stepAnalysis: input.stepAnalysis };
    if (checked.value.spec.strategy?.blueGreen !== undefined) decideBlueGreen({ ...base, serviceSelectors: { active: input.selectors.active, preview: input.selectors.preview } });
    else decideCanary({ ...base, stepsHash: 's1', serviceSelectors: { canary: input.selectors.canary, stable: input.selectors.stable } });
    return [];
  },
};

const analysisEngine: Target = {
  name: 'analysis engine',
  inputs: () => {
    const templates = mutated(fc.constantFrom(...seedDocuments().filter((s) => /AnalysisTemplate$/.test(String((s.value as { kind?: unknown }).kind))).map((s) => ({ ...(s.value as object), kind: 'AnalysisTemplate', apiVersion: 'sluice.dev/v1alpha1' }))));
    return fc.record({
      template: fc.oneof(templates, fromZod(analysisTemplateSchema)),
      results: fc.array(fromZod(metricResultSchema), { maxLength: 3 }),
      terminate: fc.boolean(),
      startedAtMs: fc.integer({ min: 0, max: 2e12 }),
      elapsed: fc.integer({ min: -1000, max: 1e9 }),
    });
  },
  run: (input: { template: Json; results: Json[]; terminate: boolean; startedAtMs: number; elapsed: number }) => {
    const t = checkSpec(analysisTemplateSchema, input.template, (v) => validateAnalysisSpec(v.spec));
    if (!t.ok) return named('AnalysisTemplate', t.errors);
    let plans;
    try {
      plans = planMetrics(t.value.spec);
    } catch (e) {
      if (e instanceof PlanError) return e.message.includes('spec.metrics[') ? [] : [`PlanError without a field: ${e.message}`];
      throw e;
    }
    const results = input.results.flatMap((r) => {
      const p = metricResultSchema.safeParse(r);
      return p.success ? [p.data] : [];
    });
    decideRun(plans, results, { terminate: input.terminate, startedAtMs: input.startedAtMs, nowMs: input.startedAtMs + input.elapsed });
    return [];
  },
};

const ref: fc.Arbitrary<ObjectRef> = fc.record({ group: fc.constantFrom('', 'apps', 'sluice.dev'), version: fc.constantFrom('v1', 'v1alpha1'), kind: fc.constantFrom('ConfigMap', 'Deployment', 'Rollout', 'Namespace'), namespace: fc.constantFrom('', 'default', 'x'), name: fc.constantFrom('a', 'web', 'bomb') });

const gitopsPlan: Target = {
  name: 'gitops plan',
  inputs: () => fc.record({ text: corpus().texts, inventory: fc.array(ref, { maxLength: 4 }), prune: fc.boolean(), allowEmpty: fc.boolean(), ns: fc.option(fc.constantFrom('default', 'x', '')), live: fc.option(fc.record({ metadata: fc.record({ annotations: fc.dictionary(fc.constantFrom('sluice.dev/tracking-id', 'argocd.argoproj.io/sync-options', 'x'), fc.constantFrom('argocd/app:/ConfigMap:default/a', 'Prune=false', '')), deletionTimestamp: fc.constantFrom('2026-01-01T00:00:00Z') }, { requiredKeys: [] }) }, { requiredKeys: [] }), { nil: undefined }) }),
  run: (input: { text: string; inventory: ObjectRef[]; prune: boolean; allowEmpty: boolean; ns: string | null; live: { metadata?: { annotations?: Record<string, string>; deletionTimestamp?: string } } | undefined }) => {
    let rendered: { ok: true; manifests: ReturnType<typeof parseManifests> } | { ok: false; error: string };
    try {
      rendered = { ok: true, manifests: parseManifests(input.text, FILE) };
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      rendered = { ok: false, error: e.message };
    }
    const p = plan({ app: { namespace: 'argocd', name: 'app' }, destinationNamespace: input.ns ?? undefined, rendered, namespaced: (_v, kind) => (kind === 'Namespace' ? false : kind === 'Rollout' ? undefined : true), inventory: input.inventory, prune: input.prune, allowEmpty: input.allowEmpty });
    const out: string[] = [];
    // Invariant 6, checked on the fuzzed plan: never a prune on a render error or an empty render.
    if (!rendered.ok && p.prune.length > 0) out.push('prunes on a render error');
    if (rendered.ok && rendered.manifests.length === 0 && !input.allowEmpty && p.prune.length > 0) out.push('prunes on an empty render');
    for (const r of p.prune) pruneVerdict({ namespace: 'argocd', name: 'app' }, r, input.live);
    return out;
  },
};

const EXPRESSIONS = ['result[0] >= 0.95', 'len(result) > 0 && result[0] < 500', 'isNaN(result[0])', 'default(result[0], 0) > 1', 'result.data.ok == true', 'all(result, {# > 1})', 'result > 0.5 and not (result < 0)', 'asInt(result) == 3', 'result in [1, 2]', 'result[0:2]'];
const TOKENS = ['result', '[', ']', '(', ')', '.', '0', '1e308', '-', '+', '*', '/', '%', '**', '==', '!=', '<', '>=', '&&', '||', '!', 'not', 'and', 'or', '?', ':', ',', '"x"', "'", 'len', 'isNaN', 'default', '__proto__', 'constructor', 'this', 'nil', 'NaN', 'Infinity', '{', '}', '#', '`', ' '];

const expressions: Target = {
  name: 'expression evaluator',
  inputs: () =>
    fc.record({
      source: fc.oneof(
        fc.constantFrom(...EXPRESSIONS),
        fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join('')),
        fc.tuple(fc.constantFrom(...EXPRESSIONS), fc.nat(), fc.constantFrom(...TOKENS)).map(([e, at, tok]) => e.slice(0, at % (e.length + 1)) + tok + e.slice(at % (e.length + 1))),
        fc.integer({ min: 1, max: 3000 }).map((n) => `${'('.repeat(n)}result${')'.repeat(n)}`),
        fc.integer({ min: 1, max: 3000 }).map((n) => Array.from({ length: n }, () => 'result').join('+')),
        fc.string({ maxLength: 60 }),
      ),
      result: fc.oneof(JSON_VALUE, HOSTILE_VALUE, fc.constant(undefined), fc.constant(Number.NaN)),
    }),
  run: (input: { source: string; result: Value }) => {
    try {
      evaluate(input.source, input.result);
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e;
      return e.message.includes('"') ? [] : [`ExpressionError that does not name the expression: ${e.message}`];
    }
    return [];
  },
};

const SECRETS = { github: 'gh-secret', gitlab: 'gl-secret', generic: 'gen-secret' };
const sign = (secret: string, body: Buffer): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const webhook: Target = {
  name: 'webhook parser',
  inputs: () =>
    fc.record({
      provider: fc.constantFrom('github', 'gitlab', 'generic', 'none'),
      signature: fc.constantFrom('good', 'bad', 'missing', 'array', 'short'),
      body: fc.oneof(
        JSON_VALUE.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
        mutated(fc.constantFrom<Json>({ ref: 'refs/heads/main', repository: { clone_url: 'https://git.example.test/org/repo.git', html_url: 'https://git.example.test/org/repo' } }, { ref: 'refs/heads/main', project: { git_http_url: 'https://git.example.test/org/repo.git' } }, { repoURL: 'https://git.example.test/org/repo', ref: 'refs/heads/dev' })).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      ),
      apps: fc.array(fc.record({ key: fc.constantFrom('a/x', 'b/y'), repoURL: fc.constantFrom('https://git.example.test/org/repo', 'https://GIT.example.test/org/repo.git/', 'not a url', ''), targetRevision: fc.option(fc.constantFrom('main', 'dev', 'HEAD', 'refs/tags/v1', 'a'.repeat(40)), { nil: undefined }) }, { requiredKeys: ['key', 'repoURL'] }), { maxLength: 3 }),
    }),
  run: (input: { provider: 'github' | 'gitlab' | 'generic' | 'none'; signature: string; body: Buffer; apps: { key: string; repoURL: string; targetRevision?: string }[] }) => {
    const headers: Record<string, string | string[] | undefined> = {};
    const secret = input.provider === 'github' ? SECRETS.github : input.provider === 'gitlab' ? SECRETS.gitlab : SECRETS.generic;
    const good = input.provider === 'gitlab' ? secret : sign(secret, input.body);
    const value = input.signature === 'good' || input.signature === 'array' ? good : input.signature === 'bad' ? `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}` : input.signature === 'short' ? 'sha256=' : undefined;
    const field = input.provider === 'github' ? 'x-hub-signature-256' : input.provider === 'gitlab' ? 'x-gitlab-token' : 'x-sluice-signature-256';
    if (input.provider === 'github') headers['x-github-event'] = 'push';
    if (input.provider === 'gitlab') headers['x-gitlab-event'] = 'Push Hook';
    if (value !== undefined) headers[field] = input.signature === 'array' ? [good, 'x'] : value;
    const verdict = verify(headers, input.body, SECRETS);
    const expectOk = input.signature === 'good' || input.signature === 'array';
    if (verdict.ok !== expectOk) return [`verify said ${verdict.ok ? 'ok' : 'refused'} for a ${input.signature} signature`];
    if (!verdict.ok) return verdict.reason === '' ? ['a refusal without a reason'] : [];
    const delivery = readDelivery(verdict.provider, headers, input.body);
    // The handler answers 400 with the reason: it must name the JSON error's position or the payload's field, or say
    // the body is empty.
    if (!delivery.ok) return /position \d+|^body is empty|^not a \w+ push payload: (the body|[\w.]+): \S/.test(delivery.reason) ? [] : [`a 400 that names neither position nor field: ${delivery.reason.slice(0, 200)}`];
    if (delivery.push !== undefined) matchApplications(input.apps, delivery.push);
    return [];
  },
};

export const TARGETS: readonly Target[] = [render, lintTarget, convertTarget, validators, rolloutEngine, analysisEngine, gitopsPlan, expressions, webhook];

export interface TargetReport {
  name: string;
  inputs: number;
  crashes: number;
  unlocated: number;
  /** The first few, each with the input that caused it (cut to 300 characters). */
  examples: string[];
}

const show = (v: unknown): string => {
  let s: string;
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v, (_k, x: unknown) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
  } catch {
    s = String(v);
  }
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
};

/** Runs `runs` inputs of one target (seeded: the same seed gives the same inputs) and counts what went wrong. */
export function fuzzTarget(t: Target, runs: number, seed: number): TargetReport {
  const report: TargetReport = { name: t.name, inputs: 0, crashes: 0, unlocated: 0, examples: [] };
  const run = t.run as (input: unknown) => string[];
  for (const input of fc.sample(t.inputs(), { numRuns: runs, seed })) {
    report.inputs++;
    try {
      const breaches = run(input);
      if (breaches.length > 0) {
        report.unlocated++;
        if (report.examples.length < 5) report.examples.push(`${breaches[0]} ← ${show(input)}`);
      }
    } catch (e) {
      report.crashes++;
      if (report.examples.length < 5) report.examples.push(`CRASH ${e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}\n${e.stack?.split('\n').slice(1, 4).join('\n')}` : String(e)} ← ${show(input)}`);
    }
  }
  return report;
}
