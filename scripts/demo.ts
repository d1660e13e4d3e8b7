// npm run demo: the main job. For now it brings up the local control plane, shows it working (a Deployment
// rolled out on kwok nodes) and takes it down; the end-to-end GitOps + canary demo builds on this.
import { ensureBinaries, startControlPlane } from '../test/cluster/controlplane.ts';

const say = (s: string): void => void process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const binDir = await ensureBinaries();
  const t0 = Date.now();
  const cp = await startControlPlane({ binDir, progress: (m) => say(`  ${m}`) });
  try {
    say(`control plane up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    say(`$ kubectl version\n${await cp.kubectl(['version'])}`);
    say(`$ kubectl get nodes\n${await cp.kubectl(['get', 'nodes'])}`);
    await cp.kubectl(['create', 'namespace', 'demo']);
    await cp.kubectl(['-n', 'demo', 'create', 'deployment', 'web', '--image=registry.invalid/web:1', '--replicas=3']);
    const t1 = Date.now();
    await cp.kubectl(['-n', 'demo', 'rollout', 'status', 'deployment/web', '--timeout=60s']);
    say(`$ kubectl -n demo get deployment,pods   (3 replicas available after ${((Date.now() - t1) / 1000).toFixed(1)} s)`);
    say(await cp.kubectl(['-n', 'demo', 'get', 'deployment,pods', '-o', 'wide']));
  } finally {
    await cp.stop();
  }
  say('control plane stopped; nothing left running.');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
