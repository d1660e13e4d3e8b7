// npm run bench [-- flags]: starts a local control plane (test/cluster), builds the Argo Rollouts peer when asked
// (test/bench/peers/build.sh), runs the scenarios one controller at a time, and writes test-results/bench/bench.json
// and bench.md. See docs/benchmarks.md for what each figure means.
import { resolve } from 'node:path';
import { ensureBinaries, startControlPlane } from '../cluster/controlplane.ts';
import { ArgsError, parseArgs } from './args.ts';
import { runBench } from './bench.ts';

const say = (line: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ArgsError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const binDir = await ensureBinaries();
  const cp = await startControlPlane({ binDir, logDir: resolve(args.out, 'cluster-logs'), progress: (m) => say(`control plane: ${m}`) });
  const stop = (): void => void cp.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const plane = { kubeconfig: cp.kubeconfig, kubectl: (a: string[], input?: string) => cp.kubectl(a, input) };
    const result = await runBench(args, { plane, binDir, say });
    process.stdout.write(`${result.markdown}\nwritten: ${resolve(args.out, 'bench.json')} and bench.md\n`);
    return result.rows.some((r) => r.notes?.some((n) => n.startsWith('failed:'))) ? 1 : 0;
  } finally {
    await cp.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
