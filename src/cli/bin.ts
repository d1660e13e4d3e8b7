// The executable's entry (bin/kubectl-sluice imports it): process I/O, signals and the exit code around `dispatch`.
import { dispatch } from './main.ts';

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // The first signal asks long-running verbs (status, get --watch) to stop; a second one kills the process.
    controller.abort();
    process.once(signal, () => process.exit(130));
  });
}

process.exitCode = await dispatch(process.argv.slice(2), { out: process.stdout, err: process.stderr, cwd: process.cwd(), signal: controller.signal });
