// Renders the templates a trigger sends into one notification (Argo merges several templates' fields into one).
import type { CompiledTemplate, TemplateTree } from './config.ts';
import { Template } from './template/exec.ts';
import { Helper, show, type TValue } from './template/funcs.ts';
import { GoTime } from './template/gotime.ts';
import type { Rendered } from './services/port.ts';

function renderTree(t: TemplateTree, data: TValue): unknown {
  if (t instanceof Template) return t.render(data);
  if (Array.isArray(t)) return t.map((x: TemplateTree) => renderTree(x, data));
  if (typeof t === 'object' && t !== null) return Object.fromEntries(Object.entries(t).map(([k, x]) => [k, renderTree(x, data)]));
  return t;
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = typeof prev === 'object' && prev !== null && !Array.isArray(prev) && typeof v === 'object' && v !== null && !Array.isArray(v) ? merge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

// Argo's helper namespaces that its documented templates call: `call .time.Now`, `call .repo.RepoURLToHTTPS`, `.strings`.
const HELPERS: { readonly [k: string]: TValue } = {
  time: { Now: new Helper('time.Now', () => new GoTime(Date.now())), Parse: new Helper('time.Parse', (a) => GoTime.parse(text(a[0])) ?? null) },
  strings: {
    ToUpper: new Helper('strings.ToUpper', (a) => text(a[0]).toUpperCase()),
    ToLower: new Helper('strings.ToLower', (a) => text(a[0]).toLowerCase()),
    ReplaceAll: new Helper('strings.ReplaceAll', (a) => text(a[0]).split(text(a[1])).join(text(a[2]))),
  },
  repo: {
    RepoURLToHTTPS: new Helper('repo.RepoURLToHTTPS', (a) => toHttps(text(a[0]))),
    FullNameByRepoURL: new Helper('repo.FullNameByRepoURL', (a) => toHttps(text(a[0])).replace(/^https?:\/\/[^/]+\//, '')),
  },
};

/** A helper's string argument: nil is empty, anything else prints as the template would. */
const text = (v: TValue): string => (v === undefined || v === null ? '' : show(v));

function toHttps(url: string): string {
  const ssh = /^(?:ssh:\/\/)?[^@]+@([^:/]+)[:/](.+?)(?:\.git)?$/.exec(url);
  if (ssh !== null) return `https://${ssh[1]}/${ssh[2]}`;
  return url.replace(/\.git$/, '');
}

/** The data a template sees: `.rollout` or `.app`, `.context`, `.serviceType`, `.recipient` and Argo's helpers. */
export function templateData(kind: 'rollout' | 'app', obj: unknown, context: Record<string, unknown>, serviceType: string, recipient: string): TValue {
  return { ...HELPERS, [kind]: obj as TValue, context: context as TValue, serviceType, recipient, notificationType: serviceType };
}

/** Renders and merges the named templates; throws TemplateError on a failure during rendering. */
export function renderNotification(templates: readonly CompiledTemplate[], data: TValue): Rendered {
  let out: Record<string, unknown> = {};
  for (const t of templates) out = merge(out, renderTree(t.root, data) as Record<string, unknown>);
  return out;
}
