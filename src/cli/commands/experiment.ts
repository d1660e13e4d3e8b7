// The experiment verbs, as Argo Rollouts' plugin has them: get, list, terminate, retry.
import { experimentSchema, type Experiment } from '../../api/experiment/schema.ts';
import type { KubeObject } from '../../kube/client.ts';
import { R } from '../../kube/resource.ts';
import { EXPERIMENT_LABEL } from '../../experiment/resources.ts';
import { parseCommandArgs, positionalArgs } from '../args.ts';
import { ExitCode, type Command, type CommandContext } from '../command.ts';
import { listObjects } from '../listing.ts';
import { render } from '../output.ts';
import { CLI_FIELD_MANAGER, notFound } from '../rollouts.ts';
import { experimentRow, renderExperiment } from '../view/experiment.ts';
import { parseWith } from '../view/snapshot.ts';

async function readExperiment(ctx: CommandContext, name: string): Promise<Experiment> {
  try {
    return parseWith(experimentSchema, `Experiment ${ctx.namespace}/${name}`, await ctx.client().get<KubeObject>(R.experiment, ctx.namespace, name));
  } catch (err) {
    return notFound(err, 'Experiment', name, ctx.namespace);
  }
}

const oneName = (argv: readonly string[]): string => positionalArgs(parseCommandArgs(argv, {}).positionals, ['experiment'])[0] ?? '';

export const getExperiment: Command = {
  name: 'get experiment',
  summary: 'Show an Experiment: status, templates with their pods, analysis runs',
  usage: `Show an Experiment: its phase and message, each template's ReplicaSet with available pods, and its analyses
with their AnalysisRuns' phases. -o json|yaml prints the Experiment.

Usage:
  kubectl sluice get experiment EXPERIMENT [-o table|json|yaml]
`,
  async run(ctx, argv) {
    const e = await readExperiment(ctx, oneName(argv));
    ctx.out.write(ctx.output === 'table' ? renderExperiment(e, Date.now()) : render(ctx.output, e));
    return ExitCode.ok;
  },
};

export const listExperiments: Command = {
  name: 'list experiments',
  summary: 'List Experiments (-A: in every namespace)',
  usage: `List Experiments with their status, duration, templates and analyses.

Usage:
  kubectl sluice list experiments [-A] [-o table|json|yaml]
`,
  async run(ctx, argv) {
    positionalArgs(parseCommandArgs(argv, {}).positionals, []);
    const now = Date.now();
    return listObjects(ctx, R.experiment, ['name', 'status', 'duration', 'templates', 'analyses', 'age'], (o) => experimentRow(parseWith(experimentSchema, `Experiment ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, o), now));
  },
};

export const terminateExperiment: Command = {
  name: 'terminate experiment',
  summary: 'Terminate an Experiment: its ReplicaSets scale to 0, its analyses end',
  usage: `Terminate an Experiment: sets spec.terminate: true. The operator ends it (Successful unless an analysis had
already failed), scales its ReplicaSets to 0 and terminates its AnalysisRuns. An experiment step's Rollout then
moves on.

Usage:
  kubectl sluice terminate experiment EXPERIMENT
`,
  async run(ctx, argv) {
    const name = oneName(argv);
    await readExperiment(ctx, name);
    const e = await ctx.client().mergePatch<KubeObject>(R.experiment, ctx.namespace, name, { spec: { terminate: true } }, { fieldManager: CLI_FIELD_MANAGER });
    ctx.out.write(ctx.output === 'table' ? `experiment "${name}" terminated\n` : render(ctx.output, e));
    return ExitCode.ok;
  },
};

export const retryExperiment: Command = {
  name: 'retry experiment',
  summary: 'Run an ended Experiment again from the start',
  usage: `Run an ended Experiment again: its AnalysisRuns are deleted and its status cleared (Argo's plugin clears the
status too), so the operator scales its ReplicaSets up again and measures afresh. A terminated Experiment stays
terminated: edit spec.terminate first.

Usage:
  kubectl sluice retry experiment EXPERIMENT
`,
  async run(ctx, argv) {
    const name = oneName(argv);
    const e = await readExperiment(ctx, name);
    const client = ctx.client();
    // The runs go first: with the status still ended the operator does nothing, and once it is cleared it must not
    // find the previous attempt's verdicts.
    const runs = await client.list<KubeObject>(R.analysisRun, ctx.namespace, { labelSelector: `${EXPERIMENT_LABEL}=${name}` });
    for (const run of runs.items) {
      if (run.metadata?.ownerReferences?.some((o) => o.uid === e.metadata.uid) === true) await client.delete(R.analysisRun, ctx.namespace, run.metadata.name ?? '', { propagationPolicy: 'Background' });
    }
    await client.jsonPatch<KubeObject>(R.experiment, ctx.namespace, name, [{ op: 'remove', path: '/status' }], { subresource: 'status', fieldManager: CLI_FIELD_MANAGER });
    ctx.out.write(`experiment "${name}" retried\n`);
    return ExitCode.ok;
  },
};

export const experimentCommands: readonly Command[] = [getExperiment, listExperiments, terminateExperiment, retryExperiment];
