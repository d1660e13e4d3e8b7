// `kubectl sluice list [rollouts]`: the Rollouts of a namespace (or all with -A), one line each.
import { rolloutSchema, type Rollout } from '../../api/rollout/schema.ts';
import { R } from '../../kube/resource.ts';
import { weightAt } from '../../rollout/decide/canary.ts';
import { parseCommandArgs, positionalArgs } from '../args.ts';
import { UsageError, type Command } from '../command.ts';
import { listObjects } from '../listing.ts';
import { parseWith } from '../view/snapshot.ts';

/** One table row per Rollout (Argo's columns). Pure. */
export function rolloutRow(r: Rollout): string[] {
  const s = r.status;
  const steps = r.spec.strategy?.canary?.steps;
  const blueGreen = r.spec.strategy?.blueGreen !== undefined;
  const index = s?.currentStepIndex ?? 0;
  return [
    r.metadata.name ?? '',
    blueGreen ? 'BlueGreen' : 'Canary',
    `${s?.phase ?? 'Unknown'}${s?.abort === true ? ' (aborted)' : ''}`,
    blueGreen || steps === undefined || steps.length === 0 ? '-' : `${Math.min(index, steps.length)}/${steps.length}`,
    blueGreen ? '-' : String(weightAt(steps ?? [], index)),
    String(s?.readyReplicas ?? 0),
    String(r.spec.replicas ?? 1),
    String(s?.updatedReplicas ?? 0),
    String(s?.availableReplicas ?? 0),
  ];
}

export const list: Command = {
  name: 'list',
  summary: 'List Rollouts (-A: in every namespace)',
  usage: `List Rollouts with their strategy, status, step, set weight and replica counts.

Usage:
  kubectl sluice list [rollouts] [-A] [-o table|json|yaml]
`,
  async run(ctx, argv) {
    const { positionals } = parseCommandArgs(argv, {});
    if (positionals.length > 0 && positionals[0] !== 'rollouts' && positionals[0] !== 'rollout') throw new UsageError(`cannot list "${positionals[0] ?? ''}": only rollouts (Experiments: "list experiments", Applications: "app list")`);
    positionalArgs(positionals.slice(1), []);
    const headers = ['name', 'strategy', 'status', 'step', 'set-weight', 'ready', 'desired', 'up-to-date', 'available'];
    return listObjects(ctx, R.rollout, headers, (o) => rolloutRow(parseWith(rolloutSchema, `Rollout ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, o)));
  },
};
