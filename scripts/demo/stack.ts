// Everything the demo runs besides the control plane, shared by `npm run demo` and test/e2e/demo.int.test.ts:
// CRDs, the data plane (by default the real one: Traefik on the Gateway API, app processes per pod, real load;
// with `--istio` the Istio data-plane EMULATOR), a real Prometheus scraping it, a real Git server holding the config
// repo, the Sluice operator as a process, and the example Application applied with kubectl.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { formatSpecErrors } from '../../src/api/common/errors.ts';
import { checkApplication } from '../../src/gitops/spec.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { DataPlaneEmulator } from '../../test/dataplane/emulator.ts';
import { GATEWAY_NAME } from './traefik-plane.ts';
import { ProcessGuard } from '../../test/dataplane/guard.ts';
import { prometheusBinary, PrometheusServer } from '../../test/prometheus/harness.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { startOperator, type OperatorProcess } from '../../test/support/operator-process.ts';
import { ConfigRepo, EXAMPLES, istioVariant, ROLLOUT_FILE, seedFiles, withHarnessLabels } from './repo.ts';
import { emulatorPlane, type DemoPlane } from './plane.ts';
import { TraefikPlane } from './traefik-plane.ts';
import { UPSTREAM, upstreamCrdDir } from '../../test/crds/upstream.ts';

/** A control plane to run on: the demo's own, or the one jest's global setup started. */
export interface Cluster {
  kubeconfig: string;
  /** The plane's kubectl; rejects with its stderr on a non-zero exit. */
  kubectl(args: string[], input?: string): Promise<string>;
}

export type Say = (line: string) => void;

export interface StackOptions {
  cluster: Cluster;
  /** Where the Application lives, and the namespace it deploys into. */
  appNamespace: string;
  namespace: string;
  /** The operator's credentials (default: the cluster's admin kubeconfig); the e2e test uses the chart's ServiceAccount. */
  operatorKubeconfig?: string;
  /** The operator's process identity (names its log file under test-results/operator-logs). */
  identity: string;
  /** The demo app processes' logs. */
  logDir: string;
  say: Say;
  /** The real data plane (Traefik's bin directory from test/dataplane/traefik/build.sh), or the Istio emulator. */
  plane: { kind: 'traefik'; binDir: string; rate?: number } | { kind: 'istio-emulator' };
}

export interface Stack {
  client: KubeClient;
  opts: StackOptions;
  plane: DemoPlane;
  prometheus: PrometheusServer;
  git: GitServer;
  repo: ConfigRepo;
  operator: OperatorProcess;
  /** Where the emulator's event lines go from now on (the live view takes them over while it runs). */
  setLog(say: Say): void;
  /** Applies examples/demo/application.yaml pointed at this stack's Git server and namespaces. */
  applyApplication(): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, '..', '..');
const crdDirs = (): string[] => [join(ROOT, 'crds'), upstreamCrdDir()];

export const APP_NAME = 'demo';
export const VIRTUAL_SERVICE_NAME = 'demo';
export const HTTP_ROUTE_NAME = 'demo';

/** Starts the pieces in dependency order; on failure stops what already started. */
export async function startStack(o: StackOptions): Promise<Stack> {
  // Prometheus and the operator are stopped by stop(); the guard stops them if this process dies first.
  const guard = new ProcessGuard('sluice-demo');
  const stops: (() => Promise<unknown>)[] = [() => Promise.resolve(guard.close())];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    for (const dir of crdDirs()) {
      await o.cluster.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=sluice-test', '-f', dir]);
      await o.cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', dir]);
    }
    o.say(`CRDs installed: Sluice's (crds/) and the upstream ones of the Gateway API ${UPSTREAM.gatewayApi.version} (standard channel) and Istio ${UPSTREAM.istio.version} (VirtualService, DestinationRule), from their Go modules; no mesh runs`);

    // 5 s, not the default 30 s: after a Ctrl-C the terminal's SIGINT has stopped etcd as well, and the harness's
    // loops (pod runner, kube-proxy emulator) finish their request in progress before they stop.
    const client = KubeClient.fromDefault({ qps: 100, burst: 200, timeoutMs: 5000 }, o.cluster.kubeconfig);
    const sink = { say: o.say };
    let plane: DemoPlane;
    if (o.plane.kind === 'traefik') {
      // The Gateway lives in the app's namespace, so it exists before the first sync (CreateNamespace then finds it).
      await o.cluster.kubectl(['create', 'namespace', o.namespace]).catch((e: unknown) => {
        if (!String(e).includes('AlreadyExists')) throw e;
      });
      const traefik = await TraefikPlane.start({
        client, kubeconfig: o.cluster.kubeconfig, kubectl: (args, input) => o.cluster.kubectl(args, input), binDir: o.plane.binDir, namespace: o.namespace, app: APP_NAME,
        route: HTTP_ROUTE_NAME, canaryService: 'demo-canary', stableService: 'demo-stable', logDir: o.logDir, onEvent: (l) => sink.say(l), ...(o.plane.rate !== undefined ? { rate: o.plane.rate } : {}),
      });
      stops.push(() => traefik.stop());
      plane = traefik;
      o.say(`REAL data plane up: Traefik (its Gateway API provider, built from its Go module) on 127.0.0.1:${traefik.webPort}, Gateway ${o.namespace}/${GATEWAY_NAME}; the pod runner starts examples/demo/app per Ready pod; a load generator sends ${traefik.load.rate} req/s to Traefik; Traefik's metrics on http://${traefik.metricsTarget}/metrics`);
      o.say('  stand-ins left: kwok runs the pods (no kubelet, so the pod runner starts their processes) and the kube-proxy emulator forwards each Service\'s ClusterIP (a loopback address) to them');
    } else {
      const emulator = await DataPlaneEmulator.start({ client, namespace: o.namespace, virtualService: VIRTUAL_SERVICE_NAME, route: 'primary', logDir: o.logDir, onEvent: (l) => sink.say(l) });
      stops.push(() => emulator.stop());
      plane = emulatorPlane(emulator);
      o.say(`data-plane EMULATOR up (--istio: no mesh here): follows VirtualService ${o.namespace}/${VIRTUAL_SERVICE_NAME}, runs examples/demo/app per ready ReplicaSet on 127.0.0.1, 40 req/s of generated load split by its own arithmetic, Istio metrics on http://${emulator.target}/metrics`);
    }

    const prometheus = await PrometheusServer.start([plane.metricsTarget]);
    stops.push(() => prometheus.stop());
    guard.add(prometheus.pid, prometheusBinary());
    o.say(`Prometheus up at ${prometheus.url} (a real one), scraping ${plane.kind === 'traefik' ? "Traefik's metrics" : 'the emulator'} every second`);

    const git = await startGitServer();
    stops.push(() => git.close());
    const repoURL = await git.createRepo('config');
    const files = o.plane.kind === 'traefik' ? withHarnessLabels(seedFiles()) : istioVariant(seedFiles());
    const seed = await git.commit('config', files, 'config repo: the demo app (examples/demo/repo)');
    const variant = o.plane.kind === 'traefik' ? " plus the harness's opt-in labels (pod runner, kube-proxy emulator)" : ' with the VirtualService of examples/demo/istio instead of the HTTPRoute';
    o.say(`Git server up (git http-backend over smart HTTP): ${repoURL}, seeded from examples/demo/repo${variant} at ${seed.slice(0, 7)}`);

    const secret = randomBytes(16).toString('hex');
    // The operator reads its webhook secret from the environment, as a Deployment would pass it from a Secret.
    const operator = await startOperator(o.operatorKubeconfig ?? o.cluster.kubeconfig, o.identity, [`--namespace=${o.appNamespace},${o.namespace}`, `--prometheus-address=${prometheus.url}`], { SLUICE_WEBHOOK_SECRET: secret });
    guard.add(operator.child.pid, process.execPath);
    stops.push(async () => {
      operator.kill('SIGTERM');
      await operator.exited;
    });
    const base = operator.metricsUrl.replace(/\/metrics$/, '');
    o.say(`Sluice operator up (node src/main.ts, pid ${operator.child.pid}), watching ${o.appNamespace} and ${o.namespace}; logs in ${operator.logFile}`);

    const repo = new ConfigRepo({ git, repo: 'config', repoURL, webhook: { url: `${base}/api/webhook`, secret } }, files[ROLLOUT_FILE] ?? '');
    const applyApplication = async (): Promise<void> => {
      const file = join(EXAMPLES, 'application.yaml');
      const doc = parseDocument(readFileSync(file, 'utf8'));
      const check = checkApplication(doc.toJS());
      if (!check.ok) throw new Error(`${file}: ${formatSpecErrors(check.errors)}`);
      doc.setIn(['metadata', 'namespace'], o.appNamespace);
      doc.setIn(['spec', 'source', 'repoURL'], repoURL);
      doc.setIn(['spec', 'destination', 'namespace'], o.namespace);
      await o.cluster.kubectl(['apply', '--server-side', '-f', '-'], doc.toString());
      sink.say(`$ kubectl apply --server-side -f examples/demo/application.yaml   (repoURL → ${repoURL}, namespace ${o.appNamespace} → ${o.namespace})`);
    };
    const setLog = (say: Say): void => {
      sink.say = say;
    };
    return { client, opts: o, plane, prometheus, git, repo, operator, setLog, applyApplication, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
