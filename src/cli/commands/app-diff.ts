// `kubectl sluice app diff APPLICATION`: what a sync would change, as a readable diff per object.
import { checkApplication } from '../../gitops/spec.ts';
import { formatSpecErrors } from '../../api/common/errors.ts';
import { applicationStatusSchema } from '../../api/application/schema.ts';
import { parseCommandArgs, positionalArgs } from '../args.ts';
import { ExitCode, type Command } from '../command.ts';
import { render } from '../output.ts';
import { readApp } from './app.ts';

export const appDiff: Command = {
  name: 'app diff',
  summary: 'Show what a sync of an Application would change, as a diff per object',
  usage: `Show what a sync of an Application would change now: for each object Git declares, the difference between
the live object and what the sync's server-side apply would leave (computed by a dry-run apply with the operator's
field manager and conflict rules, so fields other controllers own are not shown as changes); objects to create;
objects the sync would prune or keep.

Usage:
  kubectl sluice app diff APPLICATION [--prune] [--exit-code] [-o table|json|yaml]

The Git repository is fetched into $XDG_CACHE_HOME/kubectl-sluice/git (default ~/.cache/kubectl-sluice/git).

Flags:
      --prune       show what "app sync --prune" would delete
      --exit-code   exit 1 when a sync would change something: create, update or prune (as kubectl diff);
                    objects only kept (no longer in Git, not pruned) are not a change
`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, { prune: { type: 'boolean' }, 'exit-code': { type: 'boolean' } });
    const [name] = positionalArgs(positionals, ['application']);
    const { raw } = await readApp(ctx, name);
    const check = checkApplication(raw);
    if (!check.ok) throw new Error(`application "${name}" has an invalid spec: ${formatSpecErrors(check.errors)}`);
    // The Git and render libraries load only for this verb.
    const { diffApplication, gitCacheDir, hasChanges, renderAppDiff } = await import('../appdiff.ts');
    // checkApplication leaves the status out (the operator reads its own); the diff needs the inventory in it.
    const status = applicationStatusSchema.safeParse((raw as { status?: unknown }).status ?? {});
    const app = status.success ? { ...check.value, status: status.data } : check.value;
    const d = await diffApplication(ctx.client(), app, { cacheDir: gitCacheDir(process.env), prune: values.prune === true });
    ctx.out.write(ctx.output === 'table' ? renderAppDiff(d) : render(ctx.output, d));
    return values['exit-code'] === true && hasChanges(d) ? ExitCode.failed : ExitCode.ok;
  },
};
