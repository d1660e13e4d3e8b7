// Fields a CRD would prune. Sluice's zod schemas drop unknown keys when they parse (so an older or newer client's
// extra fields never break a reconcile), and the apiserver prunes them from what it stores; `kubectl apply` with
// strict field validation (its default) rejects them. This walks a value against the kind's generated CRD schema,
// exactly the schema the apiserver prunes with, and returns the unknown fields and the value without them.
import { KINDS, type KindDefinition } from '../api/crd/definitions.ts';
import { openApiSchema } from '../api/crd/build.ts';
import type { JSONSchemaProps } from '../api/crd/types.ts';
import type { PathSegment } from './source.ts';

export interface Pruned {
  value: unknown;
  unknown: PathSegment[][];
}

const schemas = new Map<string, JSONSchemaProps>();

export function kindDefinition(kind: string): KindDefinition | undefined {
  return KINDS.find((k) => k.kind === kind);
}

/** The CRD's openAPIV3Schema for a Sluice kind (built once). */
export function crdSchema(def: KindDefinition): JSONSchemaProps {
  let s = schemas.get(def.kind);
  if (s === undefined) {
    s = openApiSchema(def);
    schemas.set(def.kind, s);
  }
  return s;
}

/** `status` is written by the controller, never by a manifest: it is not walked. */
export function pruneUnknown(value: unknown, schema: JSONSchemaProps): Pruned {
  const unknown: PathSegment[][] = [];
  const walk = (v: unknown, s: JSONSchemaProps, path: PathSegment[]): unknown => {
    if (s['x-kubernetes-preserve-unknown-fields'] === true && s.properties === undefined) return v;
    if (Array.isArray(v)) return s.items === undefined ? v : v.map((x, i) => walk(x, s.items as JSONSchemaProps, [...path, i]));
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (path.length === 0 && k === 'status') {
        out[k] = x;
        continue;
      }
      const child = s.properties?.[k] ?? s.additionalProperties;
      if (child !== undefined) out[k] = walk(x, child, [...path, k]);
      else if (s['x-kubernetes-preserve-unknown-fields'] === true || s.properties === undefined) out[k] = x;
      else unknown.push([...path, k]);
    }
    return out;
  };
  return { value: walk(value, schema, []), unknown };
}
