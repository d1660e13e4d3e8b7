import type { z } from 'zod';
import { fieldPath, type SpecError } from './errors.ts';

export type SpecCheck<T> = { ok: true; value: T } | { ok: false; errors: SpecError[] };

/** Turns zod issues into SpecErrors whose field is the path from the object root (`spec.steps[2].setWeight`). */
export function zodErrors(error: z.ZodError): SpecError[] {
  return error.issues.map((iss) => ({
    field: fieldPath('', ...iss.path.map((p) => (typeof p === 'symbol' ? String(p) : p))) || '(root)',
    message: iss.message,
  }));
}

/** Parses an object read from the apiserver, then applies the kind's semantic rules. Never throws on bad input. */
export function checkSpec<S extends z.ZodType>(schema: S, raw: unknown, rules: (value: z.infer<S>) => SpecError[]): SpecCheck<z.infer<S>> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { ok: false, errors: zodErrors(parsed.error) };
  const errors = rules(parsed.data);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: parsed.data };
}
