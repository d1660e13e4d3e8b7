// `kubectl sluice get rollout ROLLOUT [--watch]`: the rollout view, once or live.
import { collectionPath, R } from '../../kube/resource.ts';
import { parseCommandArgs, parseDuration, positionalArgs } from '../args.ts';
import { ExitCode, UsageError, type Command } from '../command.ts';
import { changeFeed } from '../feed.ts';
import { errorMessage, ObjectNotFound } from '../errors.ts';
import { render } from '../output.ts';
import { notFound } from '../rollouts.ts';
import { LiveView } from '../view/live.ts';
import { fetchRolloutSnapshot, renderRollout, type RolloutSnapshot } from '../view/rollout.ts';
import { POD_TEMPLATE_HASH, RUN_ROLLOUT_LABEL } from '../view/snapshot.ts';

export const getRollout: Command = {
  name: 'get rollout',
  summary: 'Show a Rollout: steps, weight, ReplicaSets, analysis (--watch: live)',
  usage: `Show a Rollout: its status, the steps with the current one marked, the canary weight as a bar (blue-green:
the active and preview revisions), its ReplicaSets with pod counts and its AnalysisRuns with their last
measurements. A ReplicaSet's revision is the rollout.argoproj.io/revision annotation the operator stamps when it
creates it ("undo --to-revision" takes these numbers); one without the annotation (made by an older operator) is
numbered by its position among the Rollout's ReplicaSets by creation, oldest = 1.

Usage:
  kubectl sluice get rollout ROLLOUT [-w] [--timeout DURATION] [-o table|json|yaml]

With --watch the view follows the Rollout: on a terminal it redraws in place; otherwise (a pipe, a log) each
change prints the whole view again as plain lines. -o json|yaml prints the Rollout, its ReplicaSets and its
AnalysisRuns once.

Flags:
  -w, --watch              keep following changes until interrupted (Ctrl-C) or --timeout
      --timeout DURATION   with --watch, stop after this long (exit 0)
`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, { watch: { type: 'boolean', short: 'w' }, timeout: { type: 'string' } });
    const [name] = positionalArgs(positionals, ['rollout']);
    const watch = values.watch === true;
    if (watch && ctx.output !== 'table') throw new UsageError('--watch shows the view: leave out -o json|yaml');
    if (values.timeout !== undefined && !watch) throw new UsageError('--timeout goes with --watch');
    const read = async (): Promise<RolloutSnapshot> => {
      try {
        return await fetchRolloutSnapshot(ctx.client(), ctx.namespace, name, ctx.signal);
      } catch (err) {
        return notFound(err, 'Rollout', name, ctx.namespace);
      }
    };
    if (!watch) {
      const snap = await read();
      ctx.out.write(ctx.output === 'table' ? renderRollout(snap, { now: Date.now() }) : render(ctx.output, snap));
      return ExitCode.ok;
    }
    const deadline = values.timeout === undefined ? Infinity : Date.now() + parseDuration('--timeout', values.timeout);
    const ns = ctx.namespace;
    const feed = changeFeed(
      ctx.client(),
      [
        { path: collectionPath(R.rollout, ns), query: { fieldSelector: `metadata.name=${name}` } },
        { path: collectionPath(R.replicaSet, ns), query: { labelSelector: POD_TEMPLATE_HASH } },
        { path: collectionPath(R.analysisRun, ns), query: { labelSelector: `${RUN_ROLLOUT_LABEL}=${name}` } },
      ],
      ctx.signal,
    );
    const view = new LiveView(ctx.out);
    try {
      while (!ctx.signal.aborted && Date.now() < deadline) {
        try {
          // On a terminal pause countdowns tick every second; plain lines change only when the Rollout does.
          view.show(renderRollout(await read(), view.tty ? { now: Date.now(), barWidth: 30 } : { barWidth: 30 }));
        } catch (err) {
          if (err instanceof ObjectNotFound) throw err;
          ctx.err.write(`warning: ${errorMessage(err)} (retrying)\n`);
        }
        await feed.next(Math.min(deadline - Date.now(), view.tty ? 1000 : 10_000));
      }
    } finally {
      feed.close();
      view.end();
    }
    return ctx.signal.aborted ? ExitCode.interrupted : ExitCode.ok;
  },
};
