// `kubectl sluice convert FILE…`: Argo Rollouts, Argo CD and Flagger manifests → Sluice manifests (src/convert).
import { ExitCode, type Command } from '../command.ts';
import { readManifestArgs } from './manifest-args.ts';
import { asList, render } from '../output.ts';
import { convert, convertExitCode, formatConvertFinding, toYaml } from '../../convert/convert.ts';

/** Output was produced, but some fields have no Sluice equivalent and were left out (each one reported). */
export const EXIT_UNMAPPED = 3;

export const convertCommand: Command = {
  name: 'convert',
  offline: true,
  summary: 'Convert Argo Rollouts, Argo CD and Flagger manifests into Sluice manifests',
  usage: `Convert Argo Rollouts (Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun), Argo CD
(Application) and Flagger (Canary, MetricTemplate) manifests into Sluice manifests (sluice.dev/v1alpha1). Other
objects pass through unchanged, so the output replaces the input files. The manifests go to stdout (YAML, or a JSON
List with -o json); the report goes to stderr, one line per field:
  FILE:LINE:COLUMN: unmapped|note|error: KIND/NAME: FIELD: MESSAGE
"unmapped" fields have no Sluice equivalent and are left out of the output; nothing is dropped without a line.
Every converted object is checked with \`kubectl sluice lint\`'s rules before it is printed. When there is any error
(an object that could not be converted, a converted object that would not validate, a file that could not be read),
nothing is printed to stdout, so \`convert … | kubectl apply -f -\` never applies a partial or broken result.

A Flagger Canary becomes a Rollout with workloadRef to its Deployment (scaleDown: onsuccess), the Services Flagger
would generate (istio and gatewayapi: <svc>-primary stable, <svc>-canary canary, <svc> apex; nginx: <svc> stable,
which the Ingress already routes to, and <svc>-canary), the VirtualService or HTTPRoute, setWeight + pause steps
(one interval each) up to maxWeight, and a background analysis: request-success-rate and request-duration become
the builtin checks successRate {min} and latency {maxMs}; a templateRef or query metric becomes an AnalysisTemplate
<canary>-<metric>; threshold N becomes failureLimit N-1. A blue/green run (iterations) scales the canary up without
traffic for iterations x interval; an A/B run (match + iterations) sends the matching requests to it through a
header route for that long. Webhooks, alerts, session affinity and HPA cloning are reported, not mapped.

Usage:
  kubectl sluice convert FILE|DIR... [-R] [-o yaml|json]

Flags:
  -R, --recursive   also read the subdirectories of a DIR

Exit status: 0 everything mapped; ${EXIT_UNMAPPED} output produced but some fields were left out (see stderr);
1 an object could not be converted, the result would not validate, or a file could not be read (nothing printed).

Examples:
  kubectl sluice convert rollout.yaml > sluice-rollout.yaml
  kubectl sluice convert canary.yaml deployment.yaml | kubectl apply --server-side -f -
`,
  async run(ctx, argv) {
    const input = await readManifestArgs(ctx, argv);
    if (input === undefined) return ExitCode.failed;
    const unreadable = input.problems.filter((p) => p.severity === 'error').length;
    const result = convert(input.files);
    const code = unreadable > 0 ? 1 : convertExitCode(result);
    // Errors withhold the whole output: a pipe into kubectl apply must never apply part of a conversion.
    if (code !== 1) ctx.out.write(ctx.output === 'json' ? render('json', asList(result.manifests.map((m) => m.manifest))) : toYaml(result));
    for (const f of result.findings) ctx.err.write(`${formatConvertFinding(f)}\n`);
    const count = (s: string): number => result.findings.filter((f) => f.severity === s).length;
    const written = code === 1 ? `nothing written (${result.manifests.length} objects withheld because of errors)` : `${result.manifests.length} objects written`;
    ctx.err.write(`${written}; ${count('unmapped')} fields left out, ${count('note')} notes, ${count('error') + unreadable} errors\n`);
    return code === 3 ? EXIT_UNMAPPED : code;
  },
};
