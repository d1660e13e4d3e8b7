// The real data plane for one integration test, in its own namespace: the operator in-process, the pod runner, the
// kube-proxy emulator and a real Traefik watching that namespace (see traefik.int.test.ts for what each one is).
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createNamespace, deleteNamespace, kubeconfigPath } from '../support/cluster.ts';
import { helpers, installAllCrds, runOperator, type InProcessOperator } from '../support/rollouts.ts';
import { KubeProxyEmulator } from './kubeproxy.ts';
import { PodRunner } from './podrunner.ts';
import { ensureTraefik, startTraefik, TRAEFIK_BIN_ENV, type Traefik } from './traefik/traefik.ts';

export interface Testbed {
  ns: string;
  op: InProcessOperator;
  h: ReturnType<typeof helpers>;
  runner: PodRunner;
  proxy: KubeProxyEmulator;
  traefik: Traefik;
  /** Stops everything in reverse order and deletes the namespace. */
  stop(): Promise<void>;
}

/** `gatewayClassLabels` of this Traefik: `sluice.dev/test-namespace: <ns>`. */
export const TESTBED_CLASS_LABEL = 'sluice.dev/test-namespace';

export async function startTestbed(prefix: string, o: { ingressNginx?: boolean } = {}): Promise<Testbed> {
  const binDir = process.env[TRAEFIK_BIN_ENV] ?? (await ensureTraefik());
  await installAllCrds();
  const ns = await createNamespace(prefix);
  const logDir = resolve('test-results', 'dataplane', ns);
  mkdirSync(logDir, { recursive: true });
  const op = await runOperator(ns);
  const runner = new PodRunner(op.client, ns, logDir);
  runner.start();
  const proxy = new KubeProxyEmulator(op.client, ns, (ip) => runner.address(ip));
  proxy.start();
  const stopHarness = async (): Promise<void> => {
    await proxy.stop();
    await runner.stop();
    await op.stop();
  };
  let traefik: Traefik;
  try {
    traefik = await startTraefik({ binDir, kubeconfig: kubeconfigPath(), namespaces: [ns], gatewayClassLabels: { [TESTBED_CLASS_LABEL]: ns }, logFile: resolve(logDir, 'traefik.log'), ...o });
  } catch (e) {
    await stopHarness();
    throw e;
  }
  const stop = async (): Promise<void> => {
    await traefik.stop();
    await stopHarness();
    await deleteNamespace(ns);
  };
  return { ns, op, h: helpers(ns, op.client), runner, proxy, traefik, stop };
}
