// ObjectMeta, label selectors, conditions and timestamps shared by every kind.
import { z } from 'zod';

/** ObjectMeta as the apiserver returns it; kept loose because the apiserver owns its shape and the CRD schema
 * for metadata is only `type: object`. The fields Sluice reads are typed. */
export const objectMetaSchema = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.int().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ObjectMeta = z.infer<typeof objectMetaSchema>;

/** RFC 3339 timestamp as Kubernetes writes it (metav1.Time). */
export const timestampSchema = z.string().meta({ format: 'date-time' });

export const labelSelectorRequirementSchema = z.object({
  key: z.string(),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: z.array(z.string()).optional(),
});

export const labelSelectorSchema = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(labelSelectorRequirementSchema).optional(),
});
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

/** Does `labels` satisfy `selector`? An empty selector matches everything, as in Kubernetes. */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const value = labels[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!has || !values.includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

export const conditionStatusSchema = z.enum(['True', 'False', 'Unknown']);

/** A Kubernetes-style condition; Argo Rollouts adds lastUpdateTime, which is kept for compatibility. */
export const conditionSchema = z.object({
  type: z.string(),
  status: conditionStatusSchema,
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: timestampSchema.optional(),
  lastUpdateTime: timestampSchema.optional(),
  observedGeneration: z.int().optional(),
});
export type Condition = z.infer<typeof conditionSchema>;

/** The envelope every Sluice kind shares: apiVersion, kind, metadata, spec and an optional status. */
export function resourceSchema<K extends string, Spec extends z.ZodType, Status extends z.ZodType>(kind: K, spec: Spec, status: Status) {
  return z.object({ apiVersion: z.string(), kind: z.literal(kind), metadata: objectMetaSchema, spec, status: status.optional() });
}
