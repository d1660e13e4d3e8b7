// Starts one real control plane for the whole integration run; tests isolate themselves by namespace.
import { resolve } from 'node:path';
import { ensureBinaries, startControlPlane, type ControlPlane } from './controlplane.ts';
import { CLUSTER_ENV } from './env.ts';
import { upstreamCrdDir } from '../crds/upstream.ts';
import { ensureTraefik, TRAEFIK_BIN_ENV } from '../dataplane/traefik/traefik.ts';

export default async function setup(): Promise<void> {
  const binDir = await ensureBinaries();
  // Fetched here, once, from the Go module proxy when the cache lacks them: never inside a test's time budget.
  upstreamCrdDir();
  // Traefik for the data-plane tests: `npm test` builds it in a step of its own first; a cold cache builds it here.
  process.env[TRAEFIK_BIN_ENV] ??= await ensureTraefik();
  const started = Date.now();
  const cp: ControlPlane = await startControlPlane({ binDir, logDir: resolve('test-results/cluster-logs') });
  (globalThis as { __sluiceControlPlane?: ControlPlane }).__sluiceControlPlane = cp;
  // Workers start after global setup and inherit the environment.
  process.env[CLUSTER_ENV.kubeconfig] = cp.kubeconfig;
  process.env[CLUSTER_ENV.binDir] = binDir;
  process.stderr.write(`\ncontrol plane up in ${((Date.now() - started) / 1000).toFixed(1)} s at ${cp.server}; logs in ${cp.logDir}\n`);
}
