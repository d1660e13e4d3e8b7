// The list verbs' shared shape: one namespace or all (-A), -o json|yaml as a kubectl List, "No … found." on
// stderr, else a table with a NAMESPACE column first under -A.
import type { KubeObject } from '../kube/client.ts';
import type { ResourceType } from '../kube/resource.ts';
import { ExitCode, type CommandContext } from './command.ts';
import { asList, render, table } from './output.ts';

export async function listObjects(ctx: CommandContext, rt: ResourceType, headers: readonly string[], row: (o: KubeObject) => string[]): Promise<number> {
  const items = (await ctx.client().list<KubeObject>(rt, ctx.allNamespaces ? undefined : ctx.namespace)).items;
  const plural = `${rt.kind.toLowerCase()}s`;
  if (ctx.output !== 'table') ctx.out.write(render(ctx.output, asList(items)));
  else if (items.length === 0) ctx.err.write(ctx.allNamespaces ? `No ${plural} found.\n` : `No ${plural} found in namespace "${ctx.namespace}".\n`);
  else {
    const rows = items.map((o) => [...(ctx.allNamespaces ? [o.metadata?.namespace ?? ''] : []), ...row(o)]);
    ctx.out.write(table([...(ctx.allNamespaces ? ['namespace'] : []), ...headers], rows));
  }
  return ExitCode.ok;
}
