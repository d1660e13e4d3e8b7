// `kubectl sluice version`: the plugin's version (from package.json) and the Node.js running it. Offline, like
// kubectl plugins' version verbs: it never contacts the cluster (`kubectl version` shows the server's).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseCommandArgs, positionalArgs } from '../args.ts';
import { ExitCode, type Command } from '../command.ts';
import { render } from '../output.ts';

const pkg = z.object({ version: z.string() });

/** The version in package.json: two levels up from src/cli/commands and from dist/cli/commands alike. */
export function pluginVersion(): string {
  return pkg.parse(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))).version;
}

export const version: Command = {
  name: 'version',
  summary: 'Print the plugin version',
  offline: true,
  usage: `Print the plugin version and the Node.js version running it. Offline: the cluster is not contacted
("kubectl version" shows the server's version).

Usage:
  kubectl sluice version [-o table|json|yaml]
`,
  run(ctx, argv) {
    positionalArgs(parseCommandArgs(argv, {}).positionals, []);
    const v = { plugin: pluginVersion(), node: process.versions.node };
    ctx.out.write(ctx.output === 'table' ? `kubectl-sluice ${v.plugin} (node ${v.node})\n` : render(ctx.output, v));
    return Promise.resolve(ExitCode.ok);
  },
};
