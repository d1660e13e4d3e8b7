// `kubectl sluice dashboard`: the web dashboard on 127.0.0.1 with the kubeconfig's user, so that user's RBAC decides
// what the page shows and what its buttons may do. A random token in the printed address (exchanged for a cookie
// on first load) keeps other local users of the machine out.
import { spawn } from 'node:child_process';
import { parseCommandArgs, parseCount, positionalArgs } from '../args.ts';
import { ExitCode, UsageError, type Command } from '../command.ts';

const OPENERS: Record<string, string> = { darwin: 'open', win32: 'explorer' };

export const dashboard: Command = {
  name: 'dashboard',
  summary: 'Serve the web dashboard on 127.0.0.1 with your kubeconfig user (live Rollouts and Applications)',
  usage: `Serve the web dashboard on 127.0.0.1, reading and writing as your kubeconfig's user.

Usage:
  kubectl sluice dashboard [--port 3100] [--open] [--read-only] [--remote https://sluice.example.com]

Prints the address to open; it carries a token made for this run (only someone who has the address can use the
dashboard: other users of this machine cannot). Stop with Ctrl-C.

With --remote, the page is the in-cluster dashboard (the chart's dashboard.enabled) at that address, reached through
127.0.0.1: every request carries your kubeconfig user's bearer token, which the remote dashboard checks with a
TokenReview and acts with, so your RBAC decides what you see and may do. The token never reaches the browser.

Flags:
  -p, --port PORT   the port on 127.0.0.1 (default 3100; 0 picks a free one)
      --open        open the address in the default browser
      --read-only   hide and refuse every action (promote, abort, sync, ...)
      --remote URL  the in-cluster dashboard to open with your kubeconfig token (https; http only to 127.0.0.1)
`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, { port: { type: 'string', short: 'p' }, open: { type: 'boolean' }, 'read-only': { type: 'boolean' }, remote: { type: 'string' } });
    positionalArgs(positionals, []);
    const port = parseCount('--port', values.port ?? '3100');
    if (port > 65535) throw new UsageError(`--port: ${port} is not a port (0-65535)`);
    const client = ctx.client();
    // The server and the page's code load only for this verb.
    const [{ startLocalDashboard }, { createLogger }, remote] = await Promise.all([import('../../dashboard/server.ts'), import('../../log/logger.ts'), import('../../dashboard/remote.ts')]);
    let upstream: { upstream: { base: URL; token: string } } | Record<string, never> = {};
    if (values.remote !== undefined) {
      try {
        upstream = { upstream: { base: remote.parseRemote(values.remote), token: remote.bearerOf(await client.authorization()) } };
      } catch (err) {
        if (err instanceof remote.RemoteDashboardError) throw new UsageError(err.message);
        throw err;
      }
    }
    const log = createLogger({ level: process.env['SLUICE_DASHBOARD_LOG'] ?? 'warn' });
    const running = await startLocalDashboard(client, { port, readOnly: values['read-only'] === true, log, ...upstream });
    const url = running.address;
    ctx.out.write(`Sluice dashboard: ${url}\n`);
    ctx.err.write(values.remote !== undefined ? `(serving on 127.0.0.1 only, the pages of ${values.remote} with your kubeconfig token; Ctrl-C stops it)\n` : '(serving on 127.0.0.1 only; Ctrl-C stops it)\n');
    if (values.open === true) {
      const opener = spawn(OPENERS[process.platform] ?? 'xdg-open', [url], { stdio: 'ignore', detached: true });
      opener.on('error', () => ctx.err.write('could not open a browser: open the address above\n'));
      opener.unref();
    }
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await running.close();
    return ExitCode.ok;
  },
};
