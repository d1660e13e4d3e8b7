import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { celHint, preserveHint } from '../common/crd-hints.ts';
import { durationSchema } from '../common/duration.ts';
import { intOrStringSchema } from '../common/int-or-string.ts';
import { buildCrds, openApiSchema } from './build.ts';
import { structuralProblems } from './check.ts';
import { KINDS } from './definitions.ts';
import { isRe2Compatible, StructuralSchemaError, toStructural } from './structural.ts';
import type { JSONSchemaProps } from './types.ts';

const jsonOf = (s: z.ZodType) => z.toJSONSchema(s, { target: 'openapi-3.0', io: 'input' }) as Record<string, unknown>;

function node(root: JSONSchemaProps, path: string): JSONSchemaProps {
  let n: JSONSchemaProps | undefined = root;
  for (const part of path.split('.')) {
    n = part === '[]' ? n?.items : n?.properties?.[part];
    if (n === undefined) throw new Error(`no schema node at ${path} (stopped at ${part})`);
  }
  return n;
}

describe('structuralProblems (the checker)', () => {
  it('flags each rule it knows, with the path', () => {
    expect(structuralProblems({ type: 'object', properties: { a: {} } })).toEqual(['<root>.a: missing type']);
    expect(structuralProblems({ anyOf: [{ type: 'integer' }, { type: 'string' }] })).toContain('<root>: "anyOf" without x-kubernetes-int-or-string');
    expect(structuralProblems({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } })).toEqual([
      '<root>: additionalProperties beside properties',
    ]);
    expect(structuralProblems({ type: 'array' })).toEqual(['<root>: array without items']);
    expect(structuralProblems({ type: 'integer', maximum: Number.MAX_SAFE_INTEGER })).toEqual(["<root>: zod's safe-integer bound leaked"]);
    expect(structuralProblems({ type: 'string', $schema: 'x' })).toEqual(['<root>: "$schema" is not allowed in a CRD schema']);
    expect(structuralProblems({ 'x-kubernetes-int-or-string': true })).toEqual([]);
  });

  it('finds problems in raw zod output, which is why the post-processor exists', () => {
    const raw = jsonOf(z.object({ n: z.int(), d: durationSchema, m: z.looseObject({ a: z.string() }) }));
    expect(structuralProblems(raw).length).toBeGreaterThanOrEqual(3);
  });
});

describe('toStructural', () => {
  const schema = z.object({
    count: z.int().min(0),
    surge: intOrStringSchema.optional(),
    wait: durationSchema.default('3m'),
    pod: z.looseObject({ metadata: z.looseObject({}).optional() }).meta(preserveHint),
    labels: z.record(z.string(), z.string()).optional(),
    anything: z.record(z.string(), z.unknown()).optional(),
    kind: z.literal('Rollout'),
    mode: z.enum(['a', 'b']).default('a'),
    step: z.object({ a: z.int().optional() }).meta(celHint({ rule: 'has(self.a)', message: 'a is required' })),
    re2: z.string().regex(/^[a-z]+$/),
    lookahead: z.string().regex(/^(?!x)[a-z]+$/),
    when: z.string().meta({ format: 'date-time' }),
    odd: z.string().meta({ format: 'made-up' }),
  });
  const out = toStructural(jsonOf(schema));

  it('produces a schema the checker accepts', () => {
    expect(structuralProblems(out)).toEqual([]);
  });

  it('drops the safe-integer bounds but keeps real ones', () => {
    expect(node(out, 'count')).toEqual({ type: 'integer', minimum: 0 });
  });

  it('turns number|string unions into int-or-string, keeping a valid default', () => {
    expect(node(out, 'surge')).toEqual({ 'x-kubernetes-int-or-string': true });
    expect(node(out, 'wait')).toMatchObject({ 'x-kubernetes-int-or-string': true, default: '3m' });
    expect(node(out, 'wait')).not.toHaveProperty('anyOf');
    expect(out.required).not.toContain('wait');
  });

  it('preserves unknown fields in hinted objects and in maps of anything', () => {
    expect(node(out, 'pod')).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    expect(node(out, 'anything')).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    expect(node(out, 'labels')).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
  });

  it('keeps enums, defaults that fit, CEL rules, RE2 patterns and known formats; drops the rest', () => {
    expect(node(out, 'kind')).toEqual({ type: 'string', enum: ['Rollout'] });
    expect(node(out, 'mode')).toEqual({ type: 'string', enum: ['a', 'b'], default: 'a' });
    expect(node(out, 'step')['x-kubernetes-validations']).toEqual([{ rule: 'has(self.a)', message: 'a is required' }]);
    expect(node(out, 're2').pattern).toBe('^[a-z]+$');
    expect(node(out, 'lookahead')).toEqual({ type: 'string' });
    expect(node(out, 'when')).toEqual({ type: 'string', format: 'date-time' });
    expect(node(out, 'odd')).toEqual({ type: 'string' });
  });

  it('refuses a union it has no structural form for, naming the path', () => {
    const bad = jsonOf(z.object({ spec: z.object({ x: z.union([z.string(), z.object({ a: z.string() })]) }) }));
    expect(() => toStructural(bad)).toThrow(StructuralSchemaError);
    expect(() => toStructural(bad)).toThrow('spec.x');
  });

  it('recognises patterns RE2 cannot compile', () => {
    expect(isRe2Compatible('^\\d+(ms|s|m|h)$')).toBe(true);
    for (const p of ['(?=a)b', '(?<!a)b', '(a)\\1', 'a++', '(?>a)']) expect(isRe2Compatible(p)).toBe(false);
  });
});

describe('generated CRDs', () => {
  it.each(KINDS.map((k) => [k.kind, k] as const))('%s has a structural schema with metadata left to the apiserver', (_kind, def) => {
    const schema = openApiSchema(def);
    expect(structuralProblems(schema)).toEqual([]);
    expect(node(schema, 'metadata')).toEqual({ type: 'object' });
    expect(schema.required).toEqual(['spec']);
  });

  it('keep pod templates, Job specs and ignoreDifferences as written', () => {
    const byKind = Object.fromEntries(buildCrds().map((c) => [c.spec.names.kind, c.spec.versions[0]?.schema.openAPIV3Schema as JSONSchemaProps]));
    const preserved = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    expect(node(byKind.Rollout as JSONSchemaProps, 'spec.template')).toEqual(preserved);
    expect(node(byKind.AnalysisTemplate as JSONSchemaProps, 'spec.metrics.[].provider.job')).toEqual(preserved);
    expect(node(byKind.Application as JSONSchemaProps, 'spec.ignoreDifferences.[]')).toEqual(preserved);
    expect(node(byKind.Rollout as JSONSchemaProps, 'spec.strategy.canary.maxSurge')).toEqual({ 'x-kubernetes-int-or-string': true });
    expect(node(byKind.Rollout as JSONSchemaProps, 'status.observedGeneration')).toEqual({ 'x-kubernetes-int-or-string': true });
  });

  it('have a status subresource each, the scale subresource on Rollout, short names unlike Argo, and the sluice category', () => {
    const argoShortNames = new Set(['ro', 'rollout', 'ar', 'at', 'cat', 'app', 'apps']);
    for (const crd of buildCrds()) {
      const v = crd.spec.versions[0];
      expect(v?.subresources.status).toEqual({});
      expect(crd.spec.names.categories).toEqual(['sluice']);
      for (const s of crd.spec.names.shortNames) expect(argoShortNames.has(s)).toBe(false);
      if (crd.spec.names.kind === 'Rollout') {
        expect(v?.subresources.scale).toEqual({ specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' });
        expect(v?.additionalPrinterColumns?.map((c) => c.name)).toEqual(['Desired', 'Current', 'Up-to-date', 'Available', 'Step', 'Weight', 'Phase', 'Age']);
      } else {
        expect(v?.subresources.scale).toBeUndefined();
      }
    }
  });
});
