// Installs Sluice's generated CRDs into the shared control plane (idempotent: server-side apply) and waits for them.
import { join } from 'node:path';
import { kubectl } from './cluster.ts';

const CRD_DIR = join(import.meta.dirname, '..', '..', 'crds');
let installed: Promise<void> | undefined;

export function installCrds(): Promise<void> {
  installed ??= (async () => {
    const res = await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=sluice-test', '-f', CRD_DIR]);
    if (res.code !== 0) throw new Error(`installing crds/ failed: ${res.stderr}`);
    const wait = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', CRD_DIR]);
    if (wait.code !== 0) throw new Error(`crds/ not Established: ${wait.stderr}`);
  })();
  return installed;
}
