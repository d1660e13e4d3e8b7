// The rollout verbs that send a patch: promote, abort, retry, pause, resume, restart, undo.
// Status patches go to the status subresource; all are JSON merge patches, as Argo Rollouts' plugin sends them.
import { parseCommandArgs, parseCount, parseDuration, positionalArgs } from '../args.ts';
import { ExitCode, type Command, type CommandContext } from '../command.ts';
import { render } from '../output.ts';
import { abortPatches, pausePatches, promotePatches, restartPatches, resumePatches, retryPatches, undoTarget, undoTemplate, type RolloutPatches } from '../patches.ts';
import { CLI_FIELD_MANAGER, patchRolloutSpec, patchRolloutStatus, readRollout, warnIfGitManaged } from '../rollouts.ts';
import { hashOf } from '../view/rollout.ts';
import { fetchRolloutSnapshot } from '../view/snapshot.ts';
import type { KubeObject } from '../../kube/client.ts';
import { R } from '../../kube/resource.ts';
import type { Rollout } from '../../api/rollout/schema.ts';

async function send(ctx: CommandContext, name: string, p: RolloutPatches): Promise<number> {
  let result: KubeObject | undefined;
  if (p.status !== undefined) result = await patchRolloutStatus(ctx, name, p.status);
  if (p.spec !== undefined) result = await patchRolloutSpec(ctx, name, p.spec);
  if (ctx.output !== 'table' && result !== undefined) ctx.out.write(render(ctx.output, result));
  else ctx.out.write(`${p.message}\n`);
  return ExitCode.ok;
}

function simple(name: string, summary: string, details: string, patches: (r: Rollout) => RolloutPatches): Command {
  return {
    name,
    summary,
    usage: `${summary}.

Usage:
  kubectl sluice ${name} ROLLOUT

${details}
`,
    async run(ctx, argv) {
      const [rollout] = positionalArgs(parseCommandArgs(argv, {}).positionals, ['rollout']);
      const { rollout: r } = await readRollout(ctx, rollout);
      return send(ctx, rollout, patches(r));
    },
  };
}

export const promote: Command = {
  name: 'promote',
  summary: 'Promote a Rollout past its current pause or step, or all the way with --full',
  usage: `Promote a Rollout past its current pause or step, or all the way with --full.

Usage:
  kubectl sluice promote ROLLOUT [--full]

The patches are Argo Rollouts' plugin's (status subresource first, then spec):
  - paused by a pause step, an inconclusive analysis, or blue-green waiting for promotion: status.pauseConditions
    cleared; the operator moves on.
  - a canary with steps that no pause condition holds (mid setWeight or analysis, or only "pause"d): the current
    step is skipped (status.currentStepIndex + 1, pauseConditions cleared). Use "resume" to only unpause.
  - spec.paused set (by "pause"): unpaused (spec.paused: false) in the same promote.
  - --full: status.promoteFull: true (every remaining step and analysis skipped, the current revision becomes
    stable), plus spec.paused: false when paused: the operator skips nothing while spec.paused is true. (Argo's
    plugin sends that unpause too since argoproj/argo-rollouts#4412, 2025; older ones sent promoteFull alone and
    left a paused Rollout stuck.)

Flags:
      --full   skip all remaining steps and analysis
`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, { full: { type: 'boolean' } });
    const [name] = positionalArgs(positionals, ['rollout']);
    const { rollout } = await readRollout(ctx, name);
    return send(ctx, name, promotePatches(rollout, values.full === true));
  },
};

export const abort = simple('abort', 'Abort a Rollout: traffic and pods go back to the stable revision', 'Sends status.abort: true. "retry" starts the update again from step 0.', abortPatches);
export const retry = simple('retry', 'Retry an aborted Rollout from its first step', 'Sends status.abort: false.', retryPatches);
export const pause = simple('pause', 'Pause a Rollout where it is', 'Sets spec.paused: true; "resume" or "promote" continues.', pausePatches);
export const resume = simple('resume', 'Resume a Rollout paused with "pause"', 'Sets spec.paused: false (pause steps still need "promote").', resumePatches);

export const restart: Command = {
  name: 'restart',
  summary: "Restart a Rollout's pods, a batch at a time",
  usage: `Restart a Rollout's pods, a batch at a time.

Usage:
  kubectl sluice restart ROLLOUT [--in DURATION]

Sets spec.restartAt: the operator evicts the pods created before it, maxUnavailable at a time, honouring
PodDisruptionBudgets.

Flags:
  -i, --in DURATION   restart after this long (e.g. 30s, 5m)
`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, { in: { type: 'string', short: 'i' } });
    const [name] = positionalArgs(positionals, ['rollout']);
    const delay = values.in === undefined ? 0 : parseDuration('--in', values.in);
    const { rollout } = await readRollout(ctx, name);
    return send(ctx, name, restartPatches(rollout, new Date(Date.now() + delay)));
  },
};

export const undo: Command = {
  name: 'undo',
  summary: "Roll back to a previous revision's pod template",
  usage: `Roll back to a previous revision's pod template.

Usage:
  kubectl sluice undo ROLLOUT [--to-revision N]

Copies the pod template of the revision's ReplicaSet into spec.template (of the workloadRef Deployment when the
Rollout uses one). Revisions are numbered as "get rollout" shows them: the rollout.argoproj.io/revision
annotation the operator stamps on each ReplicaSet it creates (numbers stay put when revisionHistoryLimit deletes
old ReplicaSets); a ReplicaSet without it (made by an older operator) is numbered by its position by creation,
oldest = 1. Without --to-revision (or with 0) the previous revision: the highest-numbered other than the current.

Flags:
      --to-revision N   the revision to go back to
`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, { 'to-revision': { type: 'string' } });
    const [name] = positionalArgs(positionals, ['rollout']);
    const to = values['to-revision'] === undefined ? undefined : parseCount('--to-revision', values['to-revision']);
    const snap = await fetchRolloutSnapshot(ctx.client(), ctx.namespace, name, ctx.signal);
    const { rs, revision } = undoTarget(snap.replicaSets, snap.rollout.status?.currentPodHash, to);
    const ref = snap.rollout.spec.workloadRef;
    const target = ref?.name !== undefined ? { r: R.deployment, name: ref.name } : { r: R.rollout, name };
    const live = await ctx.client().get<KubeObject & { spec?: { template?: unknown } }>(target.r, ctx.namespace, target.name);
    const currentRS = snap.replicaSets.find((x) => hashOf(x) === snap.rollout.status?.currentPodHash);
    const { template, exact } = undoTemplate(rs, { template: live.spec?.template, replicaSet: currentRS });
    if (!exact) ctx.err.write(`note: revision ${revision}'s template could not be restored exactly as written; it rolls out as a new revision\n`);
    warnIfGitManaged(ctx, live, 'this rollback (spec.template)');
    const result = await ctx.client().jsonPatch<KubeObject>(
      target.r,
      ctx.namespace,
      target.name,
      [
        { op: 'test', path: '/metadata/resourceVersion', value: live.metadata?.resourceVersion },
        { op: 'replace', path: '/spec/template', value: template },
      ],
      { fieldManager: CLI_FIELD_MANAGER },
    );
    if (ctx.output !== 'table') ctx.out.write(render(ctx.output, result));
    else ctx.out.write(`rollout "${name}" rolled back to revision ${revision} (${rs.metadata.name ?? ''})${target.r === R.deployment ? ` through Deployment "${target.name}"` : ''}\n`);
    return ExitCode.ok;
  },
};

export const rolloutActions: readonly Command[] = [promote, abort, retry, pause, resume, restart, undo];
