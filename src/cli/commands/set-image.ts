// `kubectl sluice set image ROLLOUT CONTAINER=IMAGE…`: a new revision with other images.
import { parseCommandArgs } from '../args.ts';
import { ExitCode, UsageError, type Command } from '../command.ts';
import { render } from '../output.ts';
import { imagePatch, parseImageArgs } from '../patches.ts';
import { CLI_FIELD_MANAGER, readRollout, warnIfGitManaged } from '../rollouts.ts';
import type { KubeObject } from '../../kube/client.ts';
import { R } from '../../kube/resource.ts';

type WithTemplate = KubeObject & { spec?: { template?: { spec?: { containers?: { name: string; image?: string }[] } } } };

export const setImage: Command = {
  name: 'set image',
  summary: "Set a Rollout's container images (a new revision)",
  usage: `Set a Rollout's container images: the pod template changes, so a new revision rolls out.

Usage:
  kubectl sluice set image ROLLOUT CONTAINER=IMAGE [CONTAINER=IMAGE…]

CONTAINER "*" sets every container. Init containers are matched too. With a workloadRef the Deployment's template
is changed. A Git-managed Rollout (Sluice Application) gets a warning: its next sync sets Git's image back.

Examples:
  kubectl sluice set image web app=registry.example/web:1.4
  kubectl sluice set image web '*=registry.example/web:1.4'
`,
  async run(ctx, argv) {
    const { positionals } = parseCommandArgs(argv, {});
    const [name, ...pairs] = positionals;
    if (name === undefined) throw new UsageError('missing ROLLOUT');
    const changes = parseImageArgs(pairs);
    const { raw, rollout } = await readRollout(ctx, name);
    const ref = rollout.spec.workloadRef;
    const target: WithTemplate = ref?.name !== undefined ? await ctx.client().get<WithTemplate>(R.deployment, ctx.namespace, ref.name) : raw;
    const rt = ref?.name !== undefined ? R.deployment : R.rollout;
    const ops = imagePatch(target.spec?.template, '/spec/template', changes, target.metadata?.resourceVersion);
    if (!ops.some((o) => (o as { op: string }).op === 'replace')) {
      ctx.out.write(`${rt.kind.toLowerCase()} "${target.metadata?.name ?? ''}": images already set, nothing changed\n`);
      return ExitCode.ok;
    }
    warnIfGitManaged(ctx, target, 'this image change');
    const result = await ctx.client().jsonPatch<KubeObject>(rt, ctx.namespace, target.metadata?.name ?? '', ops, { fieldManager: CLI_FIELD_MANAGER });
    if (ctx.output !== 'table') ctx.out.write(render(ctx.output, result));
    else ctx.out.write(`${rt.kind.toLowerCase()} "${target.metadata?.name ?? ''}" image updated\n`);
    return ExitCode.ok;
  },
};
