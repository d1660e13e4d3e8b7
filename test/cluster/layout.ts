import { join } from 'node:path';

/**
 * Where one control plane lives: its state directory, the binaries, and the loopback ports it listens on.
 * Everything here is pure: the command lines are data that the unit tests check and the runner executes.
 */
export interface Layout {
  dir: string;
  binDir: string;
  ports: Ports;
}

export interface Ports {
  etcd: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

export const PORT_NAMES = ['etcd', 'etcdPeer', 'apiserver', 'controllerManager', 'scheduler'] as const;

/**
 * The service IP range must not overlap kwok's pod CIDR. It is loopback (never 127.0.0.1's /16) so a ClusterIP is an
 * address of this machine: the data-plane tests' kube-proxy emulator (test/dataplane/kubeproxy.ts) listens on the
 * ClusterIPs of the Services that opt in, and Traefik dials them. The apiserver accepts loopback ClusterIPs; it
 * refuses loopback addresses in EndpointSlices, which is why pod IPs stay in 10.244.0.0/16 (never dialled).
 */
export const SERVICE_CIDR = '127.96.0.0/16';
export const POD_CIDR = '10.244.0.1/16';

export interface Paths {
  pki: string;
  caCert: string;
  caKey: string;
  adminCert: string;
  adminKey: string;
  saPublic: string;
  saPrivate: string;
  kubeconfig: string;
  etcdData: string;
  kwokConfig: string;
  logs: string;
  state: string;
}

export function paths(dir: string): Paths {
  const pki = join(dir, 'pki');
  return {
    pki,
    caCert: join(pki, 'ca.crt'),
    caKey: join(pki, 'ca.key'),
    adminCert: join(pki, 'admin.crt'),
    adminKey: join(pki, 'admin.key'),
    saPublic: join(pki, 'sa.pub'),
    saPrivate: join(pki, 'sa.key'),
    kubeconfig: join(dir, 'kubeconfig'),
    etcdData: join(dir, 'etcd'),
    kwokConfig: join(dir, 'kwok.yaml'),
    logs: join(dir, 'logs'),
    state: join(dir, 'state.json'),
  };
}

export interface HealthCheck {
  url: string;
  /** true when the endpoint is served with the cluster CA (the apiserver); false for self-signed component certs. */
  verifyWithClusterCA: boolean;
}

export interface ComponentSpec {
  name: string;
  command: string;
  args: string[];
  health?: HealthCheck;
}

/** Controllers the operator's behaviour depends on; node-lifecycle is left out because kwok nodes have no kubelet. */
export const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'daemonset-controller',
  'job-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'root-ca-certificate-publisher-controller',
  'endpointslice-controller',
  'disruption-controller',
  'clusterrole-aggregation-controller',
];

export function apiserverURL(ports: Ports): string {
  return `https://127.0.0.1:${ports.apiserver}`;
}

export function etcdSpec(l: Layout): ComponentSpec {
  const p = paths(l.dir);
  const client = `http://127.0.0.1:${l.ports.etcd}`;
  const peer = `http://127.0.0.1:${l.ports.etcdPeer}`;
  return {
    name: 'etcd',
    command: join(l.binDir, 'etcd'),
    args: [
      '--name=sluice-test',
      `--data-dir=${p.etcdData}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=sluice-test=${peer}`,
      '--listen-metrics-urls=',
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=4294967296',
      '--log-level=warn',
    ],
    health: { url: `${client}/health`, verifyWithClusterCA: false },
  };
}

export function apiserverSpec(l: Layout): ComponentSpec {
  const p = paths(l.dir);
  const url = apiserverURL(l.ports);
  return {
    name: 'kube-apiserver',
    command: join(l.binDir, 'kube-apiserver'),
    args: [
      `--etcd-servers=http://127.0.0.1:${l.ports.etcd}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${l.ports.apiserver}`,
      `--cert-dir=${p.pki}`,
      `--tls-cert-file=${join(p.pki, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(p.pki, 'apiserver.key')}`,
      `--client-ca-file=${p.caCert}`,
      `--service-account-issuer=${url}`,
      `--service-account-key-file=${p.saPublic}`,
      `--service-account-signing-key-file=${p.saPrivate}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      // This admission plugin taints new Nodes not-ready until node-lifecycle-controller clears it; that controller
      // is not run (kwok nodes have no kubelet, and under load a late lease renewal would evict pods), so skip both.
      '--disable-admission-plugins=TaintNodesByCondition',
      // The kubernetes Service's endpoints would be a loopback address, which the reconciler rejects.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      // The tests create many objects quickly; the defaults throttle a busy suite on two cores.
      '--max-requests-inflight=2000',
      '--max-mutating-requests-inflight=1000',
      '--watch-cache=true',
    ],
    health: { url: `${url}/readyz`, verifyWithClusterCA: true },
  };
}

/** kube-controller-manager and kube-scheduler serve /healthz on a loopback port with a self-signed certificate. */
function componentServing(port: number): string[] {
  return [
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
  ];
}

export function controllerManagerSpec(l: Layout): ComponentSpec {
  const p = paths(l.dir);
  return {
    name: 'kube-controller-manager',
    command: join(l.binDir, 'kube-controller-manager'),
    args: [
      `--kubeconfig=${p.kubeconfig}`,
      '--leader-elect=false',
      `--controllers=${CONTROLLERS.join(',')}`,
      '--use-service-account-credentials=false',
      `--root-ca-file=${p.caCert}`,
      `--service-account-private-key-file=${p.saPrivate}`,
      `--cert-dir=${join(p.pki, 'kcm')}`,
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      // Fast reaction matters more than batching in tests: the defaults sync ReplicaSets within milliseconds anyway.
      '--concurrent-deployment-syncs=10',
      '--concurrent-replicaset-syncs=10',
      ...componentServing(l.ports.controllerManager),
    ],
    health: { url: `https://127.0.0.1:${l.ports.controllerManager}/healthz`, verifyWithClusterCA: false },
  };
}

export function schedulerSpec(l: Layout): ComponentSpec {
  const p = paths(l.dir);
  return {
    name: 'kube-scheduler',
    command: join(l.binDir, 'kube-scheduler'),
    args: [
      `--kubeconfig=${p.kubeconfig}`,
      '--leader-elect=false',
      `--cert-dir=${join(p.pki, 'scheduler')}`,
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      ...componentServing(l.ports.scheduler),
    ],
    health: { url: `https://127.0.0.1:${l.ports.scheduler}/healthz`, verifyWithClusterCA: false },
  };
}

export function kwokSpec(l: Layout): ComponentSpec {
  const p = paths(l.dir);
  return {
    name: 'kwok',
    command: join(l.binDir, 'kwok'),
    args: [
      `--kubeconfig=${p.kubeconfig}`,
      `--config=${p.kwokConfig}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      `--cidr=${POD_CIDR}`,
      '--node-ip=10.240.0.1',
      '--node-lease-duration-seconds=40',
    ],
  };
}

export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

/** The start order: etcd, then the apiserver, then everything that talks to the apiserver. */
export function componentSpecs(l: Layout): ComponentSpec[] {
  return [etcdSpec(l), apiserverSpec(l), controllerManagerSpec(l), schedulerSpec(l), kwokSpec(l)];
}
