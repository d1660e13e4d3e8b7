// Secret values in what the CLI prints, masked as Argo CD masks them in its diffs: every value of a Secret's `data`
// and `stringData` becomes a run of `+`, one length per distinct value across both sides of the diff, so a changed
// value still shows as changed and an unchanged one as unchanged, without the value itself. Pure.

const isSecret = (o: unknown): o is { kind: string; data?: unknown; stringData?: unknown } =>
  typeof o === 'object' && o !== null && (o as { kind?: unknown }).kind === 'Secret' && ((o as { apiVersion?: unknown }).apiVersion ?? 'v1') === 'v1';

/** `objects` with Secret values masked consistently across them (the others returned as they are). */
export function maskSecrets<T>(objects: T[]): T[] {
  const masks = new Map<string, string>();
  const mask = (v: unknown): string => {
    const key = JSON.stringify(v);
    let m = masks.get(key);
    if (m === undefined) masks.set(key, (m = '+'.repeat(8 + masks.size)));
    return m;
  };
  return objects.map((o) => {
    if (!isSecret(o)) return o;
    const out: Record<string, unknown> = { ...o };
    for (const field of ['data', 'stringData'] as const) {
      const values = o[field];
      if (typeof values === 'object' && values !== null) out[field] = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, mask(v)]));
    }
    return out as T;
  });
}
