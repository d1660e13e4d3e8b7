// Turns z.toJSONSchema output into a *structural* schema, which is the only kind the apiserver accepts for a
// CRD: every node typed, no anyOf/oneOf carrying types, no additionalProperties beside properties, only the
// keywords and formats Kubernetes knows. Anything it cannot translate faithfully is an error at generation time,
// never a silently looser CRD.
import type { JSONSchemaProps } from './types.ts';

type Json = Record<string, unknown>;

const SAFE_BOUND = Number.MAX_SAFE_INTEGER;

/** Formats the apiserver validates or tolerates (k8s.io/kube-openapi strfmt); others are dropped. */
const KNOWN_FORMATS = new Set(['date-time', 'date', 'int32', 'int64', 'float', 'double', 'byte', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid', 'duration']);

/** Value keywords copied through unchanged when present. */
const COPIED = [
  'description', 'enum', 'nullable', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties',
  'uniqueItems', 'exclusiveMinimum', 'exclusiveMaximum', 'x-kubernetes-validations', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
] as const;

export class StructuralSchemaError extends Error {
  constructor(path: string, reason: string) {
    super(`cannot make a structural CRD schema at ${path === '' ? '<root>' : path}: ${reason}`);
    this.name = 'StructuralSchemaError';
  }
}

/** True when Go's RE2 (the apiserver's regexp engine) can compile the pattern: no lookaround, backreferences,
 * atomic groups or possessive quantifiers. */
export function isRe2Compatible(pattern: string): boolean {
  if (/\(\?<?[=!]/.test(pattern) || /\(\?>/.test(pattern)) return false;
  if (/\\[1-9]|\\k</.test(pattern)) return false;
  if (/[*+?}]\+/.test(pattern.replace(/\\./g, ''))) return false;
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

export function toStructural(input: Json, path = ''): JSONSchemaProps {
  const description = typeof input.description === 'string' ? { description: input.description } : {};

  if (input['x-kubernetes-preserve-unknown-fields'] === true) {
    return { type: 'object', ...description, 'x-kubernetes-preserve-unknown-fields': true };
  }
  if (input['x-kubernetes-int-or-string'] === true) {
    const out: JSONSchemaProps = { ...description, 'x-kubernetes-int-or-string': true };
    if (typeof input.default === 'string' || Number.isInteger(input.default)) out.default = input.default;
    return out;
  }
  for (const key of ['anyOf', 'oneOf', 'allOf', 'not', '$ref']) {
    if (key in input) throw new StructuralSchemaError(path, `"${key}" has no structural form; give the zod node a CRD hint (src/api/common/crd-hints.ts)`);
  }

  const out: JSONSchemaProps = {};
  const type = input.type;
  if (type === 'object' || type === 'array' || type === 'string' || type === 'integer' || type === 'number' || type === 'boolean') {
    out.type = type;
  } else {
    throw new StructuralSchemaError(path, `no usable type (got ${JSON.stringify(type)})`);
  }
  for (const key of COPIED) {
    if (input[key] !== undefined) (out as Json)[key] = input[key];
  }
  if ('const' in input) out.enum = [input.const];
  if (typeof input.format === 'string' && KNOWN_FORMATS.has(input.format)) out.format = input.format;
  if (typeof input.minimum === 'number' && input.minimum > -SAFE_BOUND) out.minimum = input.minimum;
  if (typeof input.maximum === 'number' && input.maximum < SAFE_BOUND) out.maximum = input.maximum;
  if (typeof input.pattern === 'string' && isRe2Compatible(input.pattern)) out.pattern = input.pattern;

  if (type === 'object') {
    const props = input.properties as Record<string, Json> | undefined;
    const additional = input.additionalProperties;
    if (props !== undefined && Object.keys(props).length > 0) {
      // Beside properties, additionalProperties would be rejected; unknown fields are pruned instead.
      out.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, toStructural(v, path === '' ? k : `${path}.${k}`)]));
      const required = Array.isArray(input.required) ? (input.required as string[]) : [];
      if (required.length > 0) out.required = [...required];
    } else if (typeof additional === 'object' && additional !== null && Object.keys(additional).length > 0) {
      out.additionalProperties = toStructural(additional as Json, `${path}[*]`);
    } else if (additional === true || (typeof additional === 'object' && additional !== null)) {
      // A map of anything: the only structural spelling is to keep whatever is written.
      out['x-kubernetes-preserve-unknown-fields'] = true;
    }
  } else if (type === 'array') {
    const items = input.items;
    if (typeof items !== 'object' || items === null || Array.isArray(items)) throw new StructuralSchemaError(path, 'an array needs a single items schema');
    out.items = toStructural(items as Json, `${path}[]`);
  }

  if (input.default !== undefined && defaultFits(out, input.default)) out.default = input.default;
  return out;
}

function defaultFits(node: JSONSchemaProps, value: unknown): boolean {
  switch (node.type) {
    case 'string':
      return typeof value === 'string' && (node.enum === undefined || node.enum.includes(value));
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return false;
  }
}
