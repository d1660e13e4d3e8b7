// What a converter produces: Sluice manifests, and findings that point at the source field (file:line:column).
import { z } from 'zod';
import type { PathSegment, SourceDocument } from '../lint/source.ts';
import type { Fields } from './fields.ts';

/**
 * unmapped: a field Sluice has no equivalent for; it is not in the output (exit 3).
 * note: mapped, but with a choice or an assumption the reader should know about.
 * error: nothing (or nothing valid) could be produced for the object (exit 1).
 */
export type ConvertSeverity = 'unmapped' | 'note' | 'error';

export interface ConvertFinding {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
  severity: ConvertSeverity;
  /** The source object: `Canary/podinfo`. */
  object: string;
}

export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: Record<string, unknown> & { name: string } };

/** Other documents of the same set of files, for references a converter may resolve (a Canary's Deployment). */
export interface SourceIndex {
  find(apiVersionPrefix: string, kind: string, namespace: string, name: string): SourceDocument | undefined;
}

export interface ConvertContext {
  doc: SourceDocument;
  fields: Fields;
  index: SourceIndex;
  /**
   * Adds a manifest to the output. `sourcePath` maps a field of `m` to the field of the source it came from, so that
   * a self-check finding points at the source's line (undefined: the field has no source; the object's start is used).
   */
  emit(m: Manifest, sourcePath?: (path: readonly PathSegment[]) => PathSegment[] | undefined): void;
  report(path: readonly PathSegment[], severity: ConvertSeverity, message: string): void;
  /** A document passed through unchanged that an emitted manifest replaces (a Flagger Canary's retargeted HPA). */
  supersede(doc: SourceDocument): void;
}

export const SLUICE_API = 'sluice.dev/v1alpha1';

/** Fields the apiserver writes: dropped from every converted object with one note. */
export const RUNTIME_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'ownerReferences'] as const;

/** name, namespace, labels and annotations as written; runtime fields and status dropped (noted once). */
export function copyMetadata(ctx: ConvertContext, name: string): Manifest['metadata'] {
  const f = ctx.fields;
  const out: Manifest['metadata'] = { name };
  f.take('metadata', 'name');
  const ns = f.string('metadata', 'namespace');
  if (ns !== undefined) out.namespace = ns;
  for (const k of ['labels', 'annotations'] as const) {
    const v = f.typed(z.record(z.string(), z.string()), 'metadata', k);
    if (v !== undefined && Object.keys(v).length > 0) out[k] = v;
  }
  const runtime = RUNTIME_METADATA.filter((k) => f.peek('metadata', k) !== undefined);
  for (const k of runtime) f.take('metadata', k);
  const status = f.peek('status') !== undefined;
  f.take('status');
  if (runtime.length > 0 || status) {
    ctx.report(runtime.length > 0 ? ['metadata'] : ['status'], 'note', `dropped what the apiserver and the controller write (${[...runtime.map((k) => `metadata.${k}`), ...(status ? ['status'] : [])].join(', ')})`);
  }
  return out;
}
