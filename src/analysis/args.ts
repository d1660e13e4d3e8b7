// Args of an AnalysisRun: resolved to strings (value, a Secret key, a field of the run), then substituted into every
// string of every metric as `{{args.name}}`. Resolution reads Secrets through a port so it is testable without a
// cluster; substitution is pure.
import type { Argument, Metric } from '../api/analysis/schema.ts';
import { argReferences } from '../api/analysis/validate.ts';
import type { KubeObject } from '../kube/client.ts';

/** An arg that cannot be resolved: the run ends in Error with this message (naming the field). */
export class ArgError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ArgError';
    this.field = field;
  }
}

export interface SecretReader {
  /** The decoded value of `key` in Secret `name`, or undefined when the Secret or the key does not exist. */
  read(namespace: string, name: string, key: string): Promise<string | undefined>;
}

/** Reads `metadata.name`, `metadata.namespace`, `metadata.uid`, `metadata.labels['k']`, `metadata.annotations['k']`. */
export function readField(obj: KubeObject, fieldPath: string): string | undefined {
  const m = /^metadata\.(name|namespace|uid)$/.exec(fieldPath);
  if (m !== null) {
    const v = (obj.metadata)?.[m[1] as string];
    return typeof v === 'string' ? v : undefined;
  }
  const map = /^metadata\.(labels|annotations)\[['"]([^'"]+)['"]\]$/.exec(fieldPath) ?? /^metadata\.(labels|annotations)\.([A-Za-z0-9_.-]+)$/.exec(fieldPath);
  if (map !== null) {
    const table = (map[1] === 'labels' ? obj.metadata?.labels : obj.metadata?.annotations);
    return table?.[map[2] as string];
  }
  return undefined;
}

export async function resolveArgs(args: readonly Argument[] | undefined, run: KubeObject, secrets: SecretReader): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ns = run.metadata?.namespace ?? '';
  for (const [i, a] of (args ?? []).entries()) {
    const at = `spec.args[${i}]`;
    if (a.value !== undefined) out.set(a.name, a.value);
    else if (a.valueFrom?.secretKeyRef !== undefined) {
      const ref = a.valueFrom.secretKeyRef;
      const v = await secrets.read(ns, ref.name, ref.key);
      if (v === undefined) throw new ArgError(`${at}.valueFrom.secretKeyRef`, `Secret "${ref.name}" has no key "${ref.key}" (or does not exist)`);
      out.set(a.name, v);
    } else if (a.valueFrom?.fieldRef !== undefined) {
      const v = readField(run, a.valueFrom.fieldRef.fieldPath);
      if (v === undefined) throw new ArgError(`${at}.valueFrom.fieldRef`, `"${a.valueFrom.fieldRef.fieldPath}" has no value on this AnalysisRun`);
      out.set(a.name, v);
    } else {
      throw new ArgError(at, `arg "${a.name}" has no value (set value or valueFrom)`);
    }
  }
  return out;
}

/** Every `{{args.name}}` in every string of the metric replaced; an undeclared name is an ArgError. */
export function substituteArgs(metric: Metric, index: number, values: ReadonlyMap<string, string>): Metric {
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') {
      for (const name of argReferences(v)) if (!values.has(name)) throw new ArgError(path, `references undeclared arg "${name}"`);
      return v.replace(/\{\{args\.([^{}]+?)\}\}/g, (_m, name: string) => values.get(name) ?? '');
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`));
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, `${path}.${k}`)]));
    return v;
  };
  return walk(metric, `spec.metrics[${index}]`) as Metric;
}
