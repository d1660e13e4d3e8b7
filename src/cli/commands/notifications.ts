// `kubectl sluice notifications template get|notify` and `notifications trigger get|run`, as Argo's plugin has them:
// look at the configured templates and triggers, render a template against a live object without sending (or send it
// once to the recipients named), and ask whether a trigger fires for an object now.
import { parseCommandArgs } from '../args.ts';
import { ExitCode, UsageError, type Command, type CommandContext } from '../command.ts';
import { render, table } from '../output.ts';
import type { KubeObject } from '../../kube/client.ts';
import { R } from '../../kube/resource.ts';
import type { NotificationConfig } from '../../notify/config.ts';
import { applicationTriggers, BUILTIN_TRIGGERS, notifiedKeys, rolloutTriggers, subscriptions } from '../../notify/decide.ts';
import { renderNotification, templateData } from '../../notify/render.ts';
import { buildService } from '../../notify/services/index.ts';
import { readConfigs } from '../../notify/source.ts';
import { customTriggers } from '../../notify/when.ts';

const COMMON_FLAGS = {
  app: { type: 'boolean' },
  'config-namespace': { type: 'string' },
} as const;

const COMMON_HELP = `Flags:
      --app                      the object is an Application (default: a Rollout)
      --config-namespace NS      also read the operator-wide notification ConfigMap from NS (after the object's namespace)
`;

async function configs(ctx: CommandContext, extra: string | undefined): Promise<NotificationConfig[]> {
  const namespaces = [...new Set([ctx.namespace, ...(extra !== undefined ? [extra] : [])])];
  const found = await readConfigs(ctx.client(), namespaces);
  for (const c of found) for (const e of c.errors) ctx.err.write(`warning: ${c.source}: ${e.message}\n`);
  if (found.length === 0) ctx.err.write(`no notification ConfigMap in ${namespaces.join(', ')}\n`);
  return found;
}

const templateGet: Command = {
  name: 'notifications template get',
  summary: 'List the notification templates (or show one)',
  usage: `List the notification templates of the ConfigMaps the namespace sees, or show one's sections.

Usage:
  kubectl sluice notifications template get [NAME] [--config-namespace NS]

${COMMON_HELP}`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, COMMON_FLAGS);
    const [name] = positionals;
    const rows: { name: string; sections: string[]; source: string }[] = [];
    for (const c of await configs(ctx, values['config-namespace'])) {
      for (const t of c.templates.values()) {
        if (name !== undefined && t.name !== name) continue;
        if (rows.some((r) => r.name === t.name)) continue;
        rows.push({ name: t.name, sections: typeof t.root === 'object' && t.root !== null ? Object.keys(t.root) : [], source: c.source });
      }
    }
    if (name !== undefined && rows.length === 0) {
      ctx.err.write(`template "${name}" not found\n`);
      return ExitCode.failed;
    }
    if (ctx.output !== 'table') ctx.out.write(render(ctx.output, rows));
    else ctx.out.write(table(['NAME', 'SECTIONS', 'CONFIGMAP'], rows.map((r) => [r.name, r.sections.join(','), r.source])));
    return ExitCode.ok;
  },
};

const templateNotify: Command = {
  name: 'notifications template notify',
  summary: 'Render a notification template against a live object (send it with --recipient)',
  usage: `Render a template against a live Rollout (or Application) and print it; with --recipient, send it once.
Nothing is recorded on the object: a notification sent this way does not count as the trigger's.

Usage:
  kubectl sluice notifications template notify TEMPLATE NAME [--recipient SERVICE[:RECIPIENT]]… [--app]

${COMMON_HELP}      --recipient SERVICE[:RECIPIENT]   send to this service (a name of the ConfigMap's service.* keys)

Examples:
  kubectl sluice notifications template notify rollout-completed web
  kubectl sluice notifications template notify rollout-aborted web --recipient slack:deploys
`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...COMMON_FLAGS, recipient: { type: 'string', multiple: true } });
    const [template, name] = positionals;
    if (template === undefined || name === undefined) throw new UsageError('missing TEMPLATE or NAME');
    const kind = values.app === true ? 'app' : 'rollout';
    const obj = await ctx.client().get<KubeObject>(kind === 'app' ? R.application : R.rollout, ctx.namespace, name);
    const all = await configs(ctx, values['config-namespace']);
    const cfg = all.find((c) => c.templates.has(template));
    const compiled = cfg?.templates.get(template);
    if (cfg === undefined || compiled === undefined) {
      const broken = all.flatMap((c) => c.errors).find((e) => e.key === `template.${template}`);
      ctx.err.write(broken !== undefined ? `${broken.message}\n` : `template "${template}" not found\n`);
      return ExitCode.failed;
    }
    const targets = (values.recipient ?? []).map((r) => {
      const i = r.indexOf(':');
      return i < 0 ? { service: r, recipient: '' } : { service: r.slice(0, i), recipient: r.slice(i + 1) };
    });
    if (targets.length === 0) {
      const rendered = renderNotification([compiled], templateData(kind, obj, cfg.context, 'console', ''));
      ctx.out.write(render(ctx.output === 'json' ? 'json' : 'yaml', rendered));
      return ExitCode.ok;
    }
    let failed = false;
    for (const t of targets) {
      const svc = all.map((c) => c.services.get(t.service)).find((s) => s !== undefined);
      if (svc === undefined) {
        ctx.err.write(`service "${t.service}" is not configured\n`);
        failed = true;
        continue;
      }
      try {
        const rendered = renderNotification([compiled], templateData(kind, obj, cfg.context, svc.type, t.recipient));
        const sent = await buildService(svc).send(rendered, { recipient: t.recipient }, ctx.signal);
        ctx.out.write(sent ? `sent ${template} to ${t.service}${t.recipient !== '' ? `:${t.recipient}` : ''}\n` : `${template} has nothing for ${t.service}\n`);
      } catch (err) {
        ctx.err.write(`${t.service}: ${err instanceof Error ? err.message : String(err)}\n`);
        failed = true;
      }
    }
    return failed ? ExitCode.failed : ExitCode.ok;
  },
};

const triggerGet: Command = {
  name: 'notifications trigger get',
  summary: 'List the notification triggers and the templates they send',
  usage: `List the triggers of the ConfigMaps the namespace sees.

Usage:
  kubectl sluice notifications trigger get [NAME] [--config-namespace NS]

${COMMON_HELP}`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, COMMON_FLAGS);
    const [name] = positionals;
    const rows: { name: string; templates: string[]; source: string }[] = [];
    for (const c of await configs(ctx, values['config-namespace'])) {
      for (const [n, conds] of c.triggers) if ((name === undefined || n === name) && !rows.some((r) => r.name === n)) rows.push({ name: n, templates: conds.flatMap((x) => x.send), source: c.source });
    }
    if (name !== undefined && rows.length === 0) {
      ctx.err.write(`trigger "${name}" not found\n`);
      return ExitCode.failed;
    }
    if (ctx.output !== 'table') ctx.out.write(render(ctx.output, rows));
    else ctx.out.write(table(['NAME', 'TEMPLATES', 'CONFIGMAP'], rows.map((r) => [r.name, r.templates.join(','), r.source])));
    return ExitCode.ok;
  },
};

const triggerRun: Command = {
  name: 'notifications trigger run',
  summary: 'Tell whether a trigger fires for an object now, and what it would send',
  usage: `Evaluate a trigger against a live Rollout (or Application): whether it fires, its once-per key, and for each
subscription whether that notification was already sent. A builtin trigger is decided by the object's state; any other
is the ConfigMap's trigger, whose when expressions are evaluated. Exit 0 when it fires, 1 when it does not.

Usage:
  kubectl sluice notifications trigger run TRIGGER NAME [--app] [--config-namespace NS]

${COMMON_HELP}`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, COMMON_FLAGS);
    const [trigger, name] = positionals;
    if (trigger === undefined || name === undefined) throw new UsageError('missing TRIGGER or NAME');
    const kind = values.app === true ? 'app' : 'rollout';
    const obj = await ctx.client().get<KubeObject>(kind === 'app' ? R.application : R.rollout, ctx.namespace, name);
    const sent = notifiedKeys(obj.metadata?.annotations);
    let oncePer: string | undefined;
    if ((BUILTIN_TRIGGERS[kind] as readonly string[]).includes(trigger)) oncePer = (kind === 'app' ? applicationTriggers(obj) : rolloutTriggers(obj)).get(trigger);
    else {
      const custom = customTriggers(kind, obj, [trigger], await configs(ctx, values['config-namespace']), Object.keys(sent));
      for (const e of custom.errors) ctx.err.write(`error: ${e.key}: ${e.message}\n`);
      if (custom.errors.length > 0) return ExitCode.failed;
      oncePer = custom.fired.get(trigger);
    }
    const subs = subscriptions(obj.metadata?.annotations)
      .filter((s) => s.trigger === trigger)
      .map((s) => ({ service: s.service, recipient: s.recipient, sent: oncePer !== undefined && sent[`${oncePer}:${trigger}:${s.service}:${s.recipient}`] !== undefined }));
    const result = { trigger, fires: oncePer !== undefined, oncePer: oncePer ?? null, subscriptions: subs };
    if (ctx.output !== 'table') ctx.out.write(render(ctx.output, result));
    else {
      ctx.out.write(`${trigger}: ${oncePer !== undefined ? `fires (once per ${oncePer})` : 'does not fire'}\n`);
      for (const s of subs) ctx.out.write(`  ${s.service}${s.recipient !== '' ? `:${s.recipient}` : ''}\t${s.sent ? 'sent' : oncePer !== undefined ? 'owed' : '-'}\n`);
    }
    return oncePer !== undefined ? ExitCode.ok : ExitCode.failed;
  },
};

export const notificationCommands: readonly Command[] = [templateGet, templateNotify, triggerGet, triggerRun];
