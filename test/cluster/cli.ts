// npm run cluster:up | cluster:down | cluster:status: a local control plane for people, outliving the command.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries, startControlPlane, stopFromState } from './controlplane.ts';
import { paths } from './layout.ts';
import { runs } from './process.ts';

const cacheRoot = process.env.SLUICE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice');
const dir = join(cacheRoot, 'cluster');
const p = paths(dir);

function running(): boolean {
  if (!existsSync(p.state)) return false;
  const state = JSON.parse(readFileSync(p.state, 'utf8')) as { processes: { pid: number; command: string }[] };
  return state.processes.every((r) => runs(r.pid, r.command));
}

async function up(): Promise<void> {
  if (running()) {
    console.log(`The local control plane is already up.\nexport KUBECONFIG=${p.kubeconfig}`);
    return;
  }
  // A half-dead plane (a component crashed, the machine rebooted) is cleared before starting afresh.
  if (existsSync(p.state)) await stopFromState(p.state);
  rmSync(dir, { recursive: true, force: true });
  const binDir = await ensureBinaries();
  const started = Date.now();
  const cp = await startControlPlane({ binDir, dir, detached: true, progress: (m) => console.error(`cluster: ${m}`) });
  console.error(`cluster: up in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${cp.logDir}`);
  console.log(`export KUBECONFIG=${cp.kubeconfig}`);
  console.log(`export PATH=${binDir}:$PATH   # a kubectl of the server's version`);
}

async function down(): Promise<void> {
  if (await stopFromState(p.state)) console.log('The local control plane is down.');
  else console.log('No local control plane was up.');
  rmSync(dir, { recursive: true, force: true });
}

const verb = process.argv[2];
const verbs: Record<string, () => Promise<void>> = {
  up,
  down,
  status: () => {
    console.log(running() ? `up\nexport KUBECONFIG=${p.kubeconfig}` : 'down');
    return Promise.resolve();
  },
};
const fn = verb === undefined ? undefined : verbs[verb];
if (fn === undefined) {
  console.error('usage: cli.ts up|down|status');
  process.exit(2);
}
fn().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
