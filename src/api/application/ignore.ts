// spec.ignoreDifferences entries (Argo CD's field): which object, and which of its fields Sluice neither counts as
// drift nor overwrites. The CRD keeps the entries loose (Argo CD manifests must still be accepted by the apiserver);
// this zod schema is the real check, run by validate.ts so a bad entry is an InvalidSpecError naming its field.
import { z } from 'zod';
import type { SpecError } from '../common/errors.ts';
import { fieldPath } from '../common/errors.ts';

/** RFC 6901: `/a/b~1c/0` (`~1` is `/`, `~0` is `~`); the whole document ("") is not a field to ignore. */
const POINTER = /^(\/([^~/]|~[01])*)+$/;

export const ignoreDifferenceSchema = z.strictObject({
  group: z.string().optional(),
  kind: z.string().min(1),
  name: z.string().optional(),
  namespace: z.string().optional(),
  jsonPointers: z.array(z.string().regex(POINTER, 'must be a JSON pointer such as /spec/replicas (RFC 6901: starts with "/", "~" only as ~0 or ~1)')).optional(),
  managedFieldsManagers: z.array(z.string().min(1)).optional(),
});
export type IgnoreDifference = z.infer<typeof ignoreDifferenceSchema>;

/** The tokens of a pointer that passed the schema: `/a/b~1c` → ['a', 'b/c']. */
export const pointerTokens = (pointer: string): string[] =>
  pointer
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));

/** Parses every entry; errors name the entry's field (`spec.ignoreDifferences[0].jsonPointers[1]`). */
export function parseIgnoreDifferences(entries: readonly unknown[] | undefined): { rules: IgnoreDifference[]; errors: SpecError[] } {
  const rules: IgnoreDifference[] = [];
  const errors: SpecError[] = [];
  (entries ?? []).forEach((entry, i) => {
    const at = fieldPath('spec', 'ignoreDifferences', i);
    const jq = typeof entry === 'object' && entry !== null && 'jqPathExpressions' in entry;
    if (jq) {
      errors.push({ field: `${at}.jqPathExpressions`, message: 'is not supported by Sluice (no jq): use jsonPointers or managedFieldsManagers' });
      const { jqPathExpressions: _jq, ...rest } = entry as Record<string, unknown>;
      entry = rest;
    }
    const parsed = ignoreDifferenceSchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
        for (const key of keys) {
          const path = [...issue.path, ...(key !== undefined ? [key] : [])].filter((p): p is string | number => typeof p !== 'symbol');
          errors.push({ field: fieldPath(at, ...path), message: key !== undefined ? 'is not a field of an ignoreDifferences entry' : issue.message });
        }
      }
      return;
    }
    if (!jq && (parsed.data.jsonPointers ?? []).length === 0 && (parsed.data.managedFieldsManagers ?? []).length === 0) {
      errors.push({ field: at, message: 'names no field to ignore: give jsonPointers or managedFieldsManagers' });
      return;
    }
    if (!jq) rules.push(parsed.data);
  });
  return { rules, errors };
}
