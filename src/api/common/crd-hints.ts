// Metadata that zod carries into z.toJSONSchema output; src/api/crd/structural.ts reads these keys to shape
// the CRD schema (they are Kubernetes' own vendor extensions, so they survive into the CRD verbatim).

/** The node is `number | string`; the CRD declares it int-or-string instead of an anyOf. */
export const intOrStringHint = { 'x-kubernetes-int-or-string': true } as const;

/** The apiserver must keep every field of this object as written (pod templates, Job specs, plugin configs). */
export const preserveHint = { 'x-kubernetes-preserve-unknown-fields': true } as const;

/** A CEL rule on a CRD node; keep them few and cheap, and give each a message a person can act on. */
export interface CelRule {
  rule: string;
  message: string;
}

export function celHint(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}
