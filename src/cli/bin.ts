// The executable's entry (bin/kubectl-sluice imports it): process I/O, signals and the exit code around `dispatch`.
import { dispatch } from './main.ts';

/** How long the first Ctrl-C waits for the verb to wind down before the process exits anyway. */
const GRACE_MS = 3000;

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // The first signal aborts the verb: every API request in flight (the cluster client is tied to this signal) and
    // the waits of status/get --watch; the verb then returns 130. Work not tied to it (a git fetch, say) gets a
    // short grace, then the process exits 130 anyway; a second signal exits at once.
    controller.abort();
    setTimeout(() => process.exit(130), GRACE_MS).unref();
    process.once(signal, () => process.exit(130));
  });
}

const code = await dispatch(process.argv.slice(2), { out: process.stdout, err: process.stderr, cwd: process.cwd(), signal: controller.signal });
// Interrupted: a connection the aborted request was still opening (a silent server) would otherwise hold the event
// loop until its connect timeout. (stdout/stderr writes are synchronous on Linux pipes and terminals: nothing is lost.)
if (controller.signal.aborted) process.exit(code);
process.exitCode = code;
