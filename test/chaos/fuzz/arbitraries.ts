// Hostile inputs for the fuzz targets: values derived from the zod schemas (through their JSON Schema), mutations of
// real manifests (the examples and the test fixtures: Argo, Flagger, Argo CD and Sluice objects), and YAML texts
// with the classic attacks (alias bombs, duplicate keys, deep nesting, huge scalars, bytes that are not UTF-8).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { z } from 'zod';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = Record<string, unknown>;

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** Every YAML document of examples/ and test/fixtures/ (kinds Sluice reads, converts, or passes through). */
export function seedDocuments(): { file: string; value: Json }[] {
  const out: { file: string; value: Json }[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (name !== 'node_modules') walk(p);
      } else if (/\.ya?ml$/.test(name)) {
        const docs = parseAllDocuments(readFileSync(p, 'utf8'), { version: '1.1' });
        for (const d of Array.isArray(docs) ? docs : []) {
          if (d.errors.length > 0) continue; // test/fixtures/lint/broken.yaml: its text is a seed below
          const v = d.toJS() as Json;
          if (typeof v === 'object' && v !== null) out.push({ file: relative(ROOT, p), value: v });
        }
      }
    }
  };
  for (const d of ['examples', 'test/fixtures']) walk(join(ROOT, d));
  return out;
}

/** Raw texts of the same files (the broken lint fixture included): text-level mutations start from these. */
export function seedTexts(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name) && statSync(p).size < 200_000) out.push(readFileSync(p, 'utf8'));
    }
  };
  for (const d of ['examples', 'test/fixtures']) walk(join(ROOT, d));
  return out;
}

/** A value of (mostly) the shape a zod schema accepts, from its JSON Schema; `maxDepth` bounds recursion. */
export function fromZod(schema: z.ZodType): fc.Arbitrary<Json> {
  const js = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Schema;
  const defs = (js.$defs ?? js.definitions ?? {}) as Record<string, Schema>;
  return fromJsonSchema(js, defs, 0);
}

const SMALL_STRINGS = fc.oneof(
  fc.constantFrom('', 'a', 'web', 'web-canary', 'web-stable', '5s', '1m', '10%', '25%', '0', '1', 'true', 'result[0] > 0.5', 'https://example.test/repo.git', 'HEAD', 'main'),
  fc.string({ maxLength: 12 }),
);

function fromJsonSchema(s: Schema, defs: Record<string, Schema>, depth: number): fc.Arbitrary<Json> {
  if (typeof s.$ref === 'string') {
    const target = defs[s.$ref.replace(/^#\/(\$defs|definitions)\//, '')];
    return target === undefined || depth > 8 ? fc.constant(null) : fc.constant(null).chain(() => fromJsonSchema(target, defs, depth + 1));
  }
  if (s.const !== undefined) return fc.constant(s.const as Json);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as Json[]));
  const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (Array.isArray(alts) && alts.length > 0) return fc.oneof(...alts.map((a) => fromJsonSchema(a, defs, depth + 1)));
  if (Array.isArray(s.allOf) && s.allOf.length > 0) return fromJsonSchema(s.allOf[0] as Schema, defs, depth + 1);
  const type = Array.isArray(s.type) ? (s.type[0] as string) : (s.type as string | undefined);
  switch (type) {
    case 'string':
      return SMALL_STRINGS;
    case 'integer': {
      const min = typeof s.minimum === 'number' ? Math.max(s.minimum, -1000) : -5;
      const max = typeof s.maximum === 'number' ? Math.min(s.maximum, 1000) : 120;
      return fc.oneof(fc.integer({ min: Math.min(min, max), max }), fc.constantFrom(0, 1, 100, -1));
    }
    case 'number':
      return fc.oneof(fc.double({ min: -10, max: 200, noNaN: true }), fc.constantFrom(0, 0.5, 1, 100));
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      if (depth > 7) return fc.constant([]);
      const items = (s.items ?? {}) as Schema;
      return fc.array(fromJsonSchema(items, defs, depth + 1), { maxLength: 4 });
    }
    case 'object': {
      if (depth > 7) return fc.constant({});
      const props = (s.properties ?? {}) as Record<string, Schema>;
      const required = new Set((s.required ?? []) as string[]);
      const keys = Object.keys(props);
      if (keys.length === 0) {
        const extra = s.additionalProperties;
        const valueArb = typeof extra === 'object' && extra !== null ? fromJsonSchema(extra as Schema, defs, depth + 1) : SMALL_STRINGS;
        return fc.dictionary(fc.constantFrom('a', 'b', 'app', 'x/y', 'weight'), valueArb, { maxKeys: 3 });
      }
      const model: Record<string, fc.Arbitrary<Json>> = {};
      for (const k of keys) model[k] = fromJsonSchema(props[k]!, defs, depth + 1);
      // Most optional fields absent (real manifests set few), so deep fields are reached often enough.
      return fc.record(model, { requiredKeys: [...required].filter((k) => k in model) });
    }
    default:
      return JSON_VALUE;
  }
}

/** Any JSON value, small. */
export const JSON_VALUE: fc.Arbitrary<Json> = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;

/** Values that break naive code: wrong types, huge strings and arrays, deep nesting, odd numbers and keys. */
export const HOSTILE_VALUE: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1e308, -1e308, 0.1, 2 ** 53 + 1, '', ' ', '-', '%', '100%', '101%', '-5%', 'NaN', '∞', '\u0000', '\uFFFD\uFFFD', '__proto__', 'constructor', '{{', '${x}', [], {}, [null], { '': '' }, { __proto__: 'x' }),
  fc.integer({ min: 1000, max: 100_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1000, max: 5000 }).map((n) => Array.from({ length: n }, (_v, i) => i) as Json),
  fc.integer({ min: 50, max: 300 }).map((d) => nest(d)),
  fc.string({ unit: 'binary', maxLength: 40 }),
  JSON_VALUE,
);

function nest(depth: number): Json {
  let v: Json = 'deep';
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { a: v } : [v];
  return v;
}

/** Paths of every node of a value (objects and arrays walked), the root included. */
function paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = [], limit = 400): (string | number)[][] {
  if (out.length >= limit) return out;
  out.push(prefix);
  if (Array.isArray(v)) v.slice(0, 50).forEach((x, i) => paths(x, [...prefix, i], out, limit));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v).slice(0, 50)) paths(x, [...prefix, k], out, limit);
  return out;
}

type Mutation = { op: 'delete' | 'replace' | 'wrap' | 'dup' | 'envelope'; pick: number; value: Json };

/** The fields every reader looks at first: missing or mistyped, they are where naive code crashes. */
const ENVELOPE = ['metadata', 'apiVersion', 'kind', 'spec', 'status', 'items'] as const;

/** A copy of `v` with one mutation at the `pick`-th node (modulo the node count). */
function mutate(v: Json, m: Mutation): Json {
  const copy = structuredClone(v);
  if (m.op === 'envelope') {
    if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) return copy;
    const key = ENVELOPE[m.pick % ENVELOPE.length]!;
    // Half the time the field goes, half the time it holds a hostile value.
    if (m.pick % 2 === 0) delete copy[key];
    else copy[key] = m.value;
    return copy;
  }
  const all = paths(copy);
  const path = all[m.pick % all.length]!;
  if (path.length === 0) return m.op === 'replace' ? m.value : copy;
  const parent = path.slice(0, -1).reduce<Json>((acc, seg) => (acc as Record<string | number, Json>)[seg]!, copy) as Record<string | number, Json>;
  const key = path[path.length - 1]!;
  if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (m.op === 'replace') parent[key] = m.value;
  else if (m.op === 'wrap') parent[key] = [parent[key]!];
  else if (Array.isArray(parent)) parent.push(structuredClone(parent[key]));
  return copy;
}

const MUTATION: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('delete', 'replace', 'replace', 'wrap', 'dup', 'envelope', 'envelope'),
  pick: fc.nat(),
  value: HOSTILE_VALUE,
});

/** A seed (or a schema-derived value), then up to 4 mutations. */
export function mutated(base: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  return fc.tuple(base, fc.array(MUTATION, { maxLength: 4 })).map(([v, ms]) => ms.reduce(mutate, v));
}

/** A seed document, its apiVersion and kind drawn first. */
export function byKind(seeds: readonly { value: Json }[]): fc.Arbitrary<Json> {
  const groups = new Map<string, Json[]>();
  for (const s of seeds) {
    const v = s.value as { apiVersion?: unknown; kind?: unknown };
    const k = `${String(v.apiVersion)} ${String(v.kind)}`;
    groups.set(k, [...(groups.get(k) ?? []), s.value]);
  }
  return fc.constantFrom(...groups.values()).chain((docs) => fc.constantFrom(...docs));
}

/** Manifests as objects: real ones mutated, schema-derived ones mutated, or plain hostile values. */
export function manifestObjects(seeds: readonly { value: Json }[], schemas: fc.Arbitrary<Json>[]): fc.Arbitrary<Json> {
  return fc.oneof(
    // Each kind as likely as any other (the fixtures hold many more Deployments than Argo CD Applications).
    { weight: 5, arbitrary: mutated(byKind(seeds)) },
    { weight: 3, arbitrary: mutated(fc.oneof(...schemas)) },
    { weight: 1, arbitrary: HOSTILE_VALUE },
  );
}

const ALIAS_BOMB = (levels: number): string => {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(',')}]`);
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
};

/** YAML-level attacks, and byte-level damage to a text. */
const TEXT_DAMAGE: fc.Arbitrary<Damage> = fc.oneof<fc.Arbitrary<Damage>[]>(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom('\n---\n', ': :', '&a ', '*a', '!!binary ', '!!python/object ', '{', '[', '"', "'", '\t', '\r', '\u0000', '\uFEFF', '\uFFFD', '<<: *x\n', '? ', '%YAML 1.2\n') }),
  fc.record({ kind: fc.constant('dupkey' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('bytes' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

type Damage = { kind: 'truncate' | 'insert' | 'dupkey' | 'bytes'; at: number; text?: string; bytes?: Uint8Array };

function damage(text: string, d: Damage): string {
  const at = text.length === 0 ? 0 : d.at % text.length;
  switch (d.kind) {
    case 'truncate':
      return text.slice(0, at);
    case 'insert':
      return text.slice(0, at) + (d.text ?? '') + text.slice(at);
    case 'dupkey': {
      // Repeat one line right after itself: a duplicate key in a mapping (or a repeated list item).
      const lines = text.split('\n');
      const i = lines.length === 0 ? 0 : d.at % lines.length;
      lines.splice(i, 0, lines[i] ?? '');
      return lines.join('\n');
    }
    default: {
      // Bytes that are not UTF-8, decoded as the CLI and the Git reader decode a file.
      const raw = Buffer.concat([Buffer.from(text.slice(0, at), 'utf8'), Buffer.from(d.bytes ?? []), Buffer.from(text.slice(at), 'utf8')]);
      return raw.toString('utf8');
    }
  }
}

/** YAML, or JSON (which is YAML) when the value is too deep for the YAML writer's recursion. */
function writeYaml(v: Json): string {
  try {
    return stringify(v, { version: '1.1', lineWidth: 0 });
  } catch {
    return `${JSON.stringify(v)}\n`;
  }
}

/** YAML texts: mutated manifests written out, damaged seed files, alias bombs, deep flow nesting, huge scalars. */
export function yamlTexts(objects: fc.Arbitrary<Json>, texts: readonly string[]): fc.Arbitrary<string> {
  const written = fc.array(objects, { minLength: 1, maxLength: 3 }).map((vs) => vs.map(writeYaml).join('---\n'));
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(written, fc.array(TEXT_DAMAGE, { maxLength: 2 })).map(([t, ds]) => ds.reduce(damage, t)) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...texts), fc.array(TEXT_DAMAGE, { minLength: 1, maxLength: 3 })).map(([t, ds]) => ds.reduce(damage, t)) },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: 12 }).map(ALIAS_BOMB) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 5000 }).map((d) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: ${'['.repeat(d)}${']'.repeat(d)}\n`) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((n) => `apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: ${'n'.repeat(n * 100_000)}\nspec: {}\n`) },
  );
}
