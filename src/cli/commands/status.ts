// `kubectl sluice status ROLLOUT`: waits until the Rollout is Healthy (exit 0), Degraded or aborted (exit 1), or the
// timeout passes (exit 2): a CI gate.
import type { Rollout } from '../../api/rollout/schema.ts';
import { collectionPath, R } from '../../kube/resource.ts';
import { parseCommandArgs, parseDuration, positionalArgs } from '../args.ts';
import { ExitCode, type Command } from '../command.ts';
import { changeFeed } from '../feed.ts';
import { render } from '../output.ts';
import { readRollout } from '../rollouts.ts';

export interface StatusVerdict {
  /** 'healthy' and 'degraded' end the wait. */
  done?: 'healthy' | 'degraded';
  line: string;
}

/** What `status` says about a Rollout as read. A status older than the spec (observedGeneration) is not trusted. */
export function statusVerdict(r: Rollout): StatusVerdict {
  const s = r.status;
  const observed = s?.observedGeneration;
  if (observed === undefined || String(observed) !== String(r.metadata.generation ?? '')) return { line: 'Progressing - waiting for the operator to observe the latest spec' };
  const phase = s?.phase ?? 'Progressing';
  const line = s?.message !== undefined && s.message !== '' ? `${phase} - ${s.message}` : phase;
  if (s?.abort === true || phase === 'Degraded') return { done: 'degraded', line };
  if (phase === 'Healthy') return { done: 'healthy', line };
  return { line };
}

export const status: Command = {
  name: 'status',
  summary: 'Wait for a Rollout to become Healthy (exit 0), Degraded or aborted (1), or time out (2)',
  usage: `Wait for a Rollout to become Healthy, printing each status change.

Usage:
  kubectl sluice status ROLLOUT [--timeout DURATION]

Exit codes: 0 Healthy, 1 Degraded or aborted, 2 the timeout passed. A status written for an older spec
(status.observedGeneration behind metadata.generation) is never taken as the answer.

Flags:
  -t, --timeout DURATION   give up after this long (e.g. 90s, 10m); default: wait until done
`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, { timeout: { type: 'string', short: 't' } });
    const [name] = positionalArgs(positionals, ['rollout']);
    const deadline = values.timeout === undefined ? Infinity : Date.now() + parseDuration('--timeout', values.timeout);
    const feed = changeFeed(ctx.client(), [{ path: collectionPath(R.rollout, ctx.namespace), query: { fieldSelector: `metadata.name=${name}` } }], ctx.signal);
    let last = '';
    try {
      for (;;) {
        const { rollout } = await readRollout(ctx, name);
        const v = statusVerdict(rollout);
        if (v.line !== last) {
          if (ctx.output === 'table') ctx.out.write(`${v.line}\n`);
          last = v.line;
        }
        if (v.done !== undefined) {
          if (ctx.output !== 'table') ctx.out.write(render(ctx.output, { name, phase: rollout.status?.phase, message: rollout.status?.message, aborted: rollout.status?.abort === true }));
          return v.done === 'healthy' ? ExitCode.ok : ExitCode.failed;
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          ctx.err.write(`error: rollout "${name}" did not finish within ${values.timeout ?? ''} (last: ${v.line})\n`);
          return ExitCode.timeout;
        }
        if (ctx.signal.aborted) return ExitCode.interrupted;
        await feed.next(Math.min(left, 5000));
      }
    } finally {
      feed.close();
    }
  },
};
