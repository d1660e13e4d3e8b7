// Argo CD's `{{param}}` templates (the fasttemplate form, not Go templates): every string of the template, keys
// included, has each `{{ name }}` replaced by the parameter's value. Pure. Unlike Argo CD, which leaves an unknown
// placeholder in the output, an unknown parameter is an error naming the field and the parameter: a typo should not
// become an Application named `{{clustr}}-guestbook`.

export type Params = Readonly<Record<string, string>>;

export interface TemplateError {
  field: string;
  message: string;
}

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;

/** One string rendered; unknown parameters are collected (by name) rather than thrown. */
export function renderString(s: string, params: Params, unknown: Set<string>): string {
  if (!s.includes('{{')) return s;
  return s.replace(PLACEHOLDER, (whole, raw: string) => {
    const name = raw.trim();
    if (name === '') return whole;
    if (Object.hasOwn(params, name)) return params[name] as string;
    unknown.add(name);
    return whole;
  });
}

const fieldOf = (at: string, key: string | number): string => (typeof key === 'number' ? `${at}[${key}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${at}.${key}` : `${at}["${key}"]`);

/** Renders every string of `value` (a JSON value); `at` is the field path errors start from. */
export function renderTemplate(value: unknown, params: Params, at: string): { value: unknown; errors: TemplateError[] } {
  const errors: TemplateError[] = [];
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') {
      const unknown = new Set<string>();
      const out = renderString(v, params, unknown);
      for (const name of unknown) errors.push({ field: path, message: `unknown parameter "${name}" (known: ${Object.keys(params).sort().join(', ') || 'none'})` });
      return out;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, fieldOf(path, i)));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const unknown = new Set<string>();
        const key = renderString(k, params, unknown);
        for (const name of unknown) errors.push({ field: fieldOf(path, k), message: `unknown parameter "${name}" in a key` });
        out[key] = walk(x, fieldOf(path, k));
      }
      return out;
    }
    return v;
  };
  const rendered = walk(value, at);
  return { value: rendered, errors };
}

/**
 * A generator element as flat string parameters, as Argo CD's fasttemplate form sees it: nested objects become
 * dotted names (`values.env`), numbers and booleans their text, arrays their JSON.
 */
export function flattenParams(obj: Readonly<Record<string, unknown>>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix === '' ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flattenParams(v as Record<string, unknown>, name));
    else if (typeof v === 'string') out[name] = v;
    else if (v === null || v === undefined) out[name] = '';
    else if (typeof v === 'number' || typeof v === 'boolean') out[name] = String(v);
    else out[name] = JSON.stringify(v) ?? '';
  }
  return out;
}
