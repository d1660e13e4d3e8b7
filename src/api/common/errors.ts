/**
 * A semantic problem in a spec, named by its path from the object root (e.g.
 * `spec.strategy.canary.steps[2].setWeight`) so that a status condition can point a person at the exact field.
 */
export interface SpecError {
  field: string;
  message: string;
}

/** Joins a path and a child key or index the way the messages show them: `a.b`, `a[3]`, `a["x/y"]`. */
export function fieldPath(base: string, ...parts: (string | number)[]): string {
  let out = base;
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

/** One-line summary for a condition message: "field: message; field: message". */
export function formatSpecErrors(errors: readonly SpecError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}
