// Installs Sluice's generated CRDs into the shared control plane (idempotent: server-side apply) and waits for them.
import { join } from 'node:path';
import { kubectl } from './cluster.ts';

const CRD_DIR = join(import.meta.dirname, '..', '..', 'crds');
let installed: Promise<void> | undefined;

/**
 * `kubectl wait --for=condition=Established` on CRDs, retried while a CRD just created has no conditions yet: kubectl
 * then fails at once ("status.conditions accessor error: <nil>") instead of waiting. Other failures return as they are.
 */
export async function waitEstablished(run: (args: string[]) => Promise<{ code: number; stderr: string }>, targets: string[]): Promise<{ code: number; stderr: string }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await run(['wait', '--for=condition=Established', '--timeout=60s', ...targets]);
    if (res.code === 0 || !res.stderr.includes('accessor error') || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function installCrds(): Promise<void> {
  installed ??= (async () => {
    const res = await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=sluice-test', '-f', CRD_DIR]);
    if (res.code !== 0) throw new Error(`installing crds/ failed: ${res.stderr}`);
    const wait = await waitEstablished(kubectl, ['-f', CRD_DIR]);
    if (wait.code !== 0) throw new Error(`crds/ not Established: ${wait.stderr}`);
  })();
  return installed;
}

/** The same CRDs into another control plane (a remote cluster of the fleet tests), by its kubeconfig. */
export async function installCrdsAt(kubeconfig: string): Promise<void> {
  const at = (args: string[]): ReturnType<typeof kubectl> => kubectl([`--kubeconfig=${kubeconfig}`, ...args]);
  const res = await at(['apply', '--server-side', '--force-conflicts', '--field-manager=sluice-test', '-f', CRD_DIR]);
  if (res.code !== 0) throw new Error(`installing crds/ at ${kubeconfig} failed: ${res.stderr}`);
  const wait = await waitEstablished(at, ['-f', CRD_DIR]);
  if (wait.code !== 0) throw new Error(`crds/ not Established at ${kubeconfig}: ${wait.stderr}`);
}
