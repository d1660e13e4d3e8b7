// `kubectl sluice lint FILE…`: Sluice manifests checked offline (src/lint), each finding as file:line:column.
import { ExitCode, type Command } from '../command.ts';
import { readManifestArgs } from './manifest-args.ts';
import { render } from '../output.ts';
import { formatFinding, lintExitCode, summary } from '../../lint/format.ts';
import { NOT_CHECKED_OFFLINE, lint } from '../../lint/lint.ts';

export const lintCommand: Command = {
  name: 'lint',
  offline: true,
  summary: 'Check Sluice manifests offline (schemas, unknown fields, semantic rules) with file:line',
  usage: `Check every YAML document of the files offline, as the apiserver and Sluice's controllers would: the schema
(shape and types), unknown fields (the CRD prunes them; kubectl apply rejects them), and the semantic rules (step
weights, durations, analysis args and templates, selectors, Application sources). Each finding is printed as
  FILE:LINE:COLUMN: FIELD: MESSAGE            (an error)
  FILE:LINE:COLUMN: warning: FIELD: MESSAGE   (a warning: what could not be checked offline)
Argo Rollouts and Argo CD objects (argoproj.io/v1alpha1) are checked as the Sluice kind they would become.
AnalysisTemplates defined in any of the files count as present; one that is in none is a warning, since it may exist
in the cluster. Not checked offline:
${NOT_CHECKED_OFFLINE.map((n) => `  - ${n}`).join('\n')}

Usage:
  kubectl sluice lint FILE|DIR... [-R] [-o table|json]

Flags:
  -R, --recursive   also read the subdirectories of a DIR

Exit status: 0 no errors (warnings may be printed), 1 errors found or a file could not be read. In a DIR, a broken
symlink is skipped with a warning and a file that cannot be read is an error; the other files are still checked.

Examples:
  kubectl sluice lint rollout.yaml analysis.yaml
  kubectl sluice lint -R deploy/ -o json
`,
  async run(ctx, argv) {
    const input = await readManifestArgs(ctx, argv);
    if (input === undefined) return ExitCode.failed;
    const result = lint(input.files);
    if (ctx.output === 'table') {
      for (const f of result.findings) ctx.out.write(`${formatFinding(f)}\n`);
      ctx.err.write(`${summary(result)}\n`);
    } else {
      ctx.out.write(render(ctx.output, { ...result, notCheckedOffline: NOT_CHECKED_OFFLINE }));
    }
    return input.problems.some((p) => p.severity === 'error') ? ExitCode.failed : lintExitCode(result);
  },
};
