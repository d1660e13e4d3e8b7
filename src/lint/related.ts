// The shapes lint reads from the non-Sluice objects a Rollout names (Service, Deployment, VirtualService, HTTPRoute,
// Ingress). They are the user's files, not checked by any Sluice schema: each is parsed with zod before it is read,
// and a field of the wrong type is a finding at that field (`spec.rules: must be a list, got a map`), never a crash.
// Only the fields lint reads are checked; the rest is the apiserver's business. Pure.
import { z } from 'zod';
import { fieldPath } from '../api/common/errors.ts';
import type { PathSegment, SourceDocument } from './source.ts';

const labels = z.record(z.string(), z.string());

const destination = z.looseObject({
  destination: z.looseObject({ host: z.string().optional(), subset: z.string().optional() }).optional(),
  weight: z.number().optional(),
});
const virtualService = z.looseObject({
  spec: z.looseObject({ http: z.array(z.looseObject({ name: z.string().optional(), route: z.array(destination).optional() })).optional() }).optional(),
});

const backendRef = z.looseObject({ name: z.string(), port: z.number().optional(), weight: z.number().optional() });
const httpRoute = z.looseObject({
  spec: z.looseObject({ rules: z.array(z.looseObject({ name: z.string().optional(), backendRefs: z.array(backendRef).optional() })).optional() }).optional(),
});

const ingressPath = z.looseObject({ backend: z.looseObject({ service: z.looseObject({ name: z.string().optional() }).optional() }).optional() });
const ingress = z.looseObject({
  spec: z.looseObject({ rules: z.array(z.looseObject({ http: z.looseObject({ paths: z.array(ingressPath).optional() }).optional() })).optional() }).optional(),
});

const service = z.looseObject({ spec: z.looseObject({ selector: labels.optional() }).optional() });

const deployment = z.looseObject({
  spec: z.looseObject({ template: z.looseObject({ metadata: z.looseObject({ labels: labels.optional() }).optional() }).optional() }).optional(),
});

export const RELATED_SCHEMAS = { virtualService, httpRoute, ingress, service, deployment } as const;

/** A wrong field in a related object: located in that object's file, not in the Rollout's. */
export interface RelatedError {
  doc: SourceDocument;
  field: string;
  message: string;
}

/** What a value is, for a message: `a map`, `a list`, `a string "app=web"`, `a number 7`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `a ${typeof v} ${JSON.stringify(v) ?? typeof v}`;
}

const EXPECTED: Readonly<Record<string, string>> = { array: 'a list', object: 'a map', record: 'a map', string: 'a string', number: 'a number', boolean: 'true or false' };

/** Zod issues as findings: the field from the document root, and what it must be next to what it is. */
export function typeErrors(error: z.ZodError, value: unknown): { path: PathSegment[]; field: string; message: string }[] {
  return error.issues.map((iss) => {
    const path = iss.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const found = path.reduce<unknown>((v, seg) => (typeof v === 'object' && v !== null ? (v as Record<string | number, unknown>)[seg] : undefined), value);
    const expected = iss.code === 'invalid_type' ? EXPECTED[iss.expected] : undefined;
    const message = expected !== undefined ? `must be ${expected}, got ${describeValue(found)}` : iss.message;
    return { path, field: fieldPath('', ...path) || '(root)', message };
  });
}

/** The document parsed with `schema`; on a type error, the errors (each naming its field) and no value. */
export function parseRelated<S extends z.ZodType>(doc: SourceDocument, schema: S, named: string, errors: RelatedError[]): z.infer<S> | undefined {
  const parsed = schema.safeParse(doc.value);
  if (parsed.success) return parsed.data;
  for (const e of typeErrors(parsed.error, doc.value)) errors.push({ doc, field: e.field, message: `${e.message} (${named}: not checked against the Rollout)` });
  return undefined;
}
