// `kubectl sluice app list|get|sync|refresh`: Applications through the operator's own triggers, the annotations
// sluice.dev/refresh (look at Git now) and sluice.dev/sync (run one sync now; "<time> prune" also prunes).
import { z } from 'zod';
import { applicationStatusSchema, type ApplicationStatus } from '../../api/application/schema.ts';
import { objectMetaSchema } from '../../api/common/meta.ts';
import { REFRESH_ANNOTATION, SYNC_ANNOTATION } from '../../gitops/sync.ts';
import type { KubeObject } from '../../kube/client.ts';
import { KubeApiError } from '../../kube/errors.ts';
import { collectionPath, R } from '../../kube/resource.ts';
import { parseCommandArgs, parseDuration, positionalArgs } from '../args.ts';
import { ExitCode, type Command, type CommandContext } from '../command.ts';
import { ObjectNotFound } from '../errors.ts';
import { changeFeed } from '../feed.ts';
import { listObjects } from '../listing.ts';
import { age, render, table } from '../output.ts';
import { CLI_FIELD_MANAGER } from '../rollouts.ts';
import { parseWith } from '../view/snapshot.ts';

/** An Application as the views read it: lenient about the spec (an invalid one still lists), strict about status. */
export const appViewSchema = z.object({
  metadata: objectMetaSchema,
  spec: z
    .looseObject({
      source: z.looseObject({ repoURL: z.string().optional(), targetRevision: z.string().optional(), path: z.string().optional() }).optional(),
      destination: z.looseObject({ namespace: z.string().optional(), server: z.string().optional(), name: z.string().optional() }).optional(),
      syncPolicy: z.looseObject({ automated: z.looseObject({ prune: z.boolean().optional(), selfHeal: z.boolean().optional() }).optional() }).optional(),
    })
    .optional(),
  status: applicationStatusSchema.optional(),
});
export type AppView = z.infer<typeof appViewSchema>;

const parseApp = (raw: unknown): AppView => parseWith(appViewSchema, `Application ${(raw as KubeObject).metadata?.namespace ?? ''}/${(raw as KubeObject).metadata?.name ?? ''}`, raw);

export async function readApp(ctx: CommandContext, name: string): Promise<{ raw: KubeObject; app: AppView }> {
  try {
    const raw = await ctx.client().get<KubeObject>(R.application, ctx.namespace, name);
    return { raw, app: parseApp(raw) };
  } catch (err) {
    if (err instanceof KubeApiError && err.kind === 'NotFound') throw new ObjectNotFound(`applications.sluice.dev "${name}" not found in namespace "${ctx.namespace}"`);
    throw err;
  }
}

const short = (rev: string | undefined): string => (rev === undefined ? '-' : /^[0-9a-f]{40}$/.test(rev) ? rev.slice(0, 7) : rev);

/** One row of `app list`. Pure. */
export function appRow(a: AppView, now: number): string[] {
  const s = a.status;
  const src = a.spec?.source;
  const auto = a.spec?.syncPolicy?.automated;
  return [
    a.metadata.name ?? '',
    s?.sync?.status ?? 'Unknown',
    s?.health?.status ?? 'Unknown',
    short(s?.sync?.revision),
    auto === undefined ? 'manual' : `auto${auto.prune === true ? '+prune' : ''}${auto.selfHeal === true ? '+heal' : ''}`,
    `${src?.repoURL ?? ''}${src?.path !== undefined && src.path !== '' ? ` ${src.path}` : ''}${src?.targetRevision !== undefined ? `@${src.targetRevision}` : ''}`,
    age(a.metadata.creationTimestamp, now),
  ];
}

/** The `app get` view: the Application, its last operation and its resources with sync and health. Pure. */
export function renderApp(a: AppView): string {
  const s = a.status;
  const src = a.spec?.source;
  const dest = a.spec?.destination;
  const op = s?.operationState;
  const lines: string[] = [];
  const field = (k: string, v: string): void => {
    lines.push(`${`${k}:`.padEnd(15)}${v}`);
  };
  field('Name', `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`);
  field('Source', `${src?.repoURL ?? ''} path=${src?.path ?? '.'} revision=${src?.targetRevision ?? 'HEAD'}`);
  field('Destination', `${dest?.name ?? dest?.server ?? 'in-cluster'} namespace=${dest?.namespace ?? '-'}`);
  const auto = a.spec?.syncPolicy?.automated;
  field('Sync policy', auto === undefined ? 'manual' : `automated (prune=${auto.prune === true}, selfHeal=${auto.selfHeal === true})`);
  field('Sync status', `${s?.sync?.status ?? 'Unknown'}${s?.sync?.revision !== undefined ? ` to ${short(s.sync.revision)}` : ''}`);
  field('Health', `${s?.health?.status ?? 'Unknown'}${s?.health?.message !== undefined ? ` (${s.health.message})` : ''}`);
  if (op !== undefined) field('Last sync', `${op.phase}${op.message !== undefined ? `: ${op.message}` : ''}${op.finishedAt !== undefined ? ` (finished ${op.finishedAt})` : op.startedAt !== undefined ? ` (started ${op.startedAt})` : ''}`);
  for (const c of (s?.conditions ?? []).filter((c) => c.status === 'True')) field('Condition', `${c.type}: ${c.message ?? ''}`);
  const resources = s?.resources ?? [];
  if (resources.length > 0) {
    const rows = resources.map((r) => [r.group ?? '', r.kind, r.namespace ?? '', r.name, r.status ?? '', r.health?.status ?? '', r.syncWave === undefined ? '' : String(r.syncWave), r.health?.message ?? '']);
    lines.push('', ...table(['group', 'kind', 'namespace', 'name', 'sync', 'health', 'wave', 'message'], rows).trimEnd().split('\n'));
  }
  return lines.map((l) => `${l}\n`).join('');
}

export const appList: Command = {
  name: 'app list',
  summary: 'List Applications with sync status and health (-A: in every namespace)',
  usage: `List Applications with their sync status, health, synced revision and source.

Usage:
  kubectl sluice app list [-A] [-o table|json|yaml]
`,
  async run(ctx, argv) {
    positionalArgs(parseCommandArgs(argv, {}).positionals, []);
    const now = Date.now();
    return listObjects(ctx, R.application, ['name', 'sync', 'health', 'revision', 'policy', 'source', 'age'], (o) => appRow(parseApp(o), now));
  },
};

export const appGet: Command = {
  name: 'app get',
  summary: 'Show an Application: source, sync, health, last sync, and its resources',
  usage: `Show an Application: its source and destination, sync status and health, the last sync operation, and every
resource it manages with its sync status, health and wave.

Usage:
  kubectl sluice app get APPLICATION [-o table|json|yaml]
`,
  async run(ctx, argv) {
    const [name] = positionalArgs(parseCommandArgs(argv, {}).positionals, ['application']);
    const { raw, app } = await readApp(ctx, name);
    ctx.out.write(ctx.output === 'table' ? renderApp(app) : render(ctx.output, raw));
    return ExitCode.ok;
  },
};

const annotate = (ctx: CommandContext, name: string, annotations: Record<string, string>): Promise<KubeObject> =>
  ctx.client().mergePatch<KubeObject>(R.application, ctx.namespace, name, { metadata: { annotations } }, { fieldManager: CLI_FIELD_MANAGER });

export const appRefresh: Command = {
  name: 'app refresh',
  summary: 'Make the operator look at Git now instead of at the next poll',
  usage: `Make the operator look at Git now instead of at the next poll (sets the annotation ${REFRESH_ANNOTATION}).
An Application with automated sync then syncs a new commit; a manual one reports OutOfSync.

Usage:
  kubectl sluice app refresh APPLICATION
`,
  async run(ctx, argv) {
    const [name] = positionalArgs(parseCommandArgs(argv, {}).positionals, ['application']);
    await readApp(ctx, name);
    await annotate(ctx, name, { [REFRESH_ANNOTATION]: new Date().toISOString() });
    ctx.out.write(`application "${name}" refresh requested\n`);
    return ExitCode.ok;
  },
};

type Operation = NonNullable<ApplicationStatus['operationState']>;
const operationKey = (op: Operation | undefined): string => JSON.stringify([op?.startedAt, op?.finishedAt, op?.phase]);
const finished = (op: Operation | undefined): boolean => op !== undefined && ['Succeeded', 'Failed', 'Error'].includes(op.phase);

/** The result of a finished sync as a table of what happened to each resource. Pure. */
export function renderOperation(op: Operation): string {
  const rows = (op.syncResult?.resources ?? []).map((r) => [r.kind, r.namespace ?? '', r.name, r.status ?? '', r.message ?? '']);
  const head = `${op.phase}${op.message !== undefined ? `: ${op.message}` : ''}${op.syncResult?.revision !== undefined ? ` (revision ${short(op.syncResult.revision)})` : ''}\n`;
  return rows.length === 0 ? head : `${head}\n${table(['kind', 'namespace', 'name', 'result', 'message'], rows)}`;
}

export const appSync: Command = {
  name: 'app sync',
  summary: 'Sync an Application now (--prune: also delete what Git no longer has) and wait for the result',
  usage: `Sync an Application now, automated or not, and wait for the operation to finish.

Usage:
  kubectl sluice app sync APPLICATION [--prune] [--async] [--timeout DURATION]

Sets the annotation ${SYNC_ANNOTATION} to the current time ("<time> prune" with --prune); the operator runs one
sync for each new value. Exit codes: 0 the sync Succeeded, 1 it Failed, 2 --timeout passed first.

Flags:
      --prune              delete objects the Application tracks that Git no longer has, even without automated prune
      --async              do not wait for the result
  -t, --timeout DURATION   stop waiting after this long (default 5m)
`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, { prune: { type: 'boolean' }, async: { type: 'boolean' }, timeout: { type: 'string', short: 't' } });
    const [name] = positionalArgs(positionals, ['application']);
    const timeoutMs = parseDuration('--timeout', values.timeout ?? '5m');
    const before = (await readApp(ctx, name)).app.status?.operationState;
    const feed = values.async === true ? undefined : changeFeed(ctx.client(), [{ path: collectionPath(R.application, ctx.namespace), query: { fieldSelector: `metadata.name=${name}` } }], ctx.signal);
    try {
      await annotate(ctx, name, { [SYNC_ANNOTATION]: `${new Date().toISOString()}${values.prune === true ? ' prune' : ''}` });
      ctx.err.write(`application "${name}" sync requested${values.prune === true ? ' (with prune)' : ''}\n`);
      if (feed === undefined) return ExitCode.ok;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { raw, app } = await readApp(ctx, name);
        const op = app.status?.operationState;
        // A new operation (a new start), or the one that was running when we asked, finished.
        if (finished(op) && operationKey(op) !== operationKey(before) && op !== undefined) {
          ctx.out.write(ctx.output === 'table' ? renderOperation(op) : render(ctx.output, raw));
          return op.phase === 'Succeeded' ? ExitCode.ok : ExitCode.failed;
        }
        if (Date.now() >= deadline) {
          ctx.err.write(`error: application "${name}": no finished sync within ${values.timeout ?? '5m'}${op !== undefined ? ` (last operation: ${op.phase}${op.message !== undefined ? `: ${op.message}` : ''})` : ''}\n`);
          return ExitCode.timeout;
        }
        if (ctx.signal.aborted) return ExitCode.interrupted;
        await feed.next(Math.min(deadline - Date.now(), 5000));
      }
    } finally {
      feed?.close();
    }
  },
};

export const appCommands: readonly Command[] = [appList, appGet, appSync, appRefresh];
