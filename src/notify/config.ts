// Argo's notification ConfigMap, as it is: `service.<type>[.<name>]`, `template.<name>`, `trigger.<name>`, `context`,
// and `$key` references into the Secret. Each key is loaded on its own: a broken key becomes an error naming it and
// leaves every other template, trigger and service working.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { Template } from './template/exec.ts';
import { TemplateError } from './template/parse.ts';

/** ConfigMap names read, in order: Sluice's own, then Argo Rollouts' and Argo CD's (copied configs work unchanged). */
export const CONFIGMAP_NAMES = ['sluice-notifications-cm', 'argo-rollouts-notification-configmap', 'argocd-notifications-cm'] as const;
/** The Secret that `$key` references read, per ConfigMap name. */
export const SECRET_NAMES: Readonly<Record<(typeof CONFIGMAP_NAMES)[number], string>> = {
  'sluice-notifications-cm': 'sluice-notifications-secret',
  'argo-rollouts-notification-configmap': 'argo-rollouts-notification-secret',
  'argocd-notifications-cm': 'argocd-notifications-secret',
};

export class ConfigKeyError extends Error {
  readonly key: string;
  constructor(key: string, detail: string) {
    super(`${key}: ${detail}`);
    this.name = 'ConfigKeyError';
    this.key = key;
  }
}

const triggerConditionSchema = z.object({
  when: z.string().optional(),
  send: z.array(z.string().min(1)).min(1),
  oncePer: z.string().optional(),
  description: z.string().optional(),
});
export type TriggerCondition = z.infer<typeof triggerConditionSchema>;

/** A template: every string inside it (message, email.subject, slack.attachments, webhook.x.body, ...) is a Go template. */
export interface CompiledTemplate {
  name: string;
  /** The same shape as the YAML, with each string replaced by its parsed template. */
  root: TemplateTree;
}
export type TemplateTree = Template | TemplateTree[] | { [key: string]: TemplateTree } | number | boolean | null;

export interface ServiceConfig {
  /** The name subscriptions use: `<name>` of `service.<type>.<name>`, or `<type>`. */
  name: string;
  type: string;
  /** The YAML with `$key` references resolved (it may hold secrets: never log it). */
  settings: Record<string, unknown>;
}

export interface NotificationConfig {
  source: string;
  services: Map<string, ServiceConfig>;
  templates: Map<string, CompiledTemplate>;
  triggers: Map<string, TriggerCondition[]>;
  context: Record<string, unknown>;
  /** Keys that did not load, with the reason (never a secret's value). */
  errors: ConfigKeyError[];
}

const SECRET_REF = /\$([A-Za-z0-9_][\w-]*)/g;

function resolveSecrets(key: string, v: unknown, secrets: Readonly<Record<string, string>>): unknown {
  if (typeof v === 'string') {
    return v.replace(SECRET_REF, (_m, ref: string) => {
      const value = secrets[ref];
      if (value === undefined) throw new ConfigKeyError(key, `$${ref} is not a key of the notifications Secret`);
      return value;
    });
  }
  if (Array.isArray(v)) return v.map((x) => resolveSecrets(key, x, secrets));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveSecrets(key, x, secrets)]));
  return v;
}

function compileTree(key: string, path: string, v: unknown): TemplateTree {
  if (typeof v === 'string') return Template.parse(path, v);
  if (Array.isArray(v)) return v.map((x, i) => compileTree(key, `${path}[${i}]`, x));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, compileTree(key, `${path}.${k}`, x)]));
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  throw new ConfigKeyError(key, `unsupported value at ${path}`);
}

// Argo's github service finds the repository and commit of an Application by default; a template may override them.
const COMMIT_DEFAULTS = { repoURLPath: '{{.app.spec.source.repoURL}}', revisionPath: '{{.app.status.operationState.syncResult.revision}}' } as const;

function withCommitDefaults(root: TemplateTree): TemplateTree {
  if (typeof root !== 'object' || root === null || Array.isArray(root) || root instanceof Template) return root;
  const out = { ...root };
  for (const section of ['github', 'gitlab']) {
    const sec = out[section];
    if (typeof sec !== 'object' || sec === null || Array.isArray(sec) || sec instanceof Template) continue;
    const filled = { ...sec };
    for (const [k, v] of Object.entries(COMMIT_DEFAULTS)) if (filled[k] === undefined) filled[k] = Template.parse(`${section}.${k} (default)`, v);
    out[section] = filled;
  }
  return out;
}

function yamlOf(key: string, text: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    throw new ConfigKeyError(key, `not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
}

const SERVICE_TYPES = new Set(['webhook', 'slack', 'teams', 'googlechat', 'discord', 'mattermost', 'email', 'github', 'gitlab']);

/** Loads a ConfigMap's data and its Secret's (decoded) data. Never throws: broken keys land in `errors`. */
export function loadConfig(source: string, data: Readonly<Record<string, string>>, secrets: Readonly<Record<string, string>>): NotificationConfig {
  const cfg: NotificationConfig = { source, services: new Map(), templates: new Map(), triggers: new Map(), context: {}, errors: [] };
  for (const [key, text] of Object.entries(data)) {
    try {
      if (key.startsWith('template.')) {
        const name = key.slice('template.'.length);
        const y = yamlOf(key, text);
        if (typeof y !== 'object' || y === null || Array.isArray(y)) throw new ConfigKeyError(key, 'must be a map (message, email, slack, webhook, ...)');
        cfg.templates.set(name, { name, root: withCommitDefaults(compileTree(key, key, y)) });
      } else if (key.startsWith('trigger.')) {
        const parsed = z.array(triggerConditionSchema).safeParse(yamlOf(key, text));
        if (!parsed.success) throw new ConfigKeyError(key, z.prettifyError(parsed.error).replace(/\n/g, '; '));
        cfg.triggers.set(key.slice('trigger.'.length), parsed.data);
      } else if (key.startsWith('service.')) {
        const [type = '', ...rest] = key.slice('service.'.length).split('.');
        if (!SERVICE_TYPES.has(type)) throw new ConfigKeyError(key, `unknown service type "${type}" (supported: ${[...SERVICE_TYPES].join(', ')})`);
        const y = yamlOf(key, text) ?? {};
        if (typeof y !== 'object' || Array.isArray(y)) throw new ConfigKeyError(key, 'must be a map of settings');
        const name = rest.length > 0 ? rest.join('.') : type;
        cfg.services.set(name, { name, type, settings: resolveSecrets(key, y, secrets) as Record<string, unknown> });
      } else if (key === 'context') {
        const y = yamlOf(key, text);
        if (typeof y === 'object' && y !== null && !Array.isArray(y)) cfg.context = y as Record<string, unknown>;
        else throw new ConfigKeyError(key, 'must be a map');
      }
      // Other keys (defaultTriggers, subscriptions, resource.*) are not supported yet and are ignored.
    } catch (err) {
      if (err instanceof ConfigKeyError) cfg.errors.push(err);
      else if (err instanceof TemplateError) cfg.errors.push(new ConfigKeyError(key, err.message));
      else throw err;
    }
  }
  // A trigger naming a missing template is an error of that trigger, found at load.
  for (const [name, conds] of cfg.triggers) {
    const missing = conds.flatMap((c) => c.send).filter((t) => !cfg.templates.has(t) && !cfg.errors.some((e) => e.key === `template.${t}`));
    if (missing.length > 0) {
      cfg.errors.push(new ConfigKeyError(`trigger.${name}`, `sends template(s) that do not exist: ${missing.join(', ')}`));
      cfg.triggers.delete(name);
    }
  }
  return cfg;
}
