import { describe, expect, it } from '@jest/globals';
import { connectionsToUnreadyPods, proxyRules } from './kubeproxy.ts';
import { RUN_LABEL, runnablePods, type PodShape } from './podrunner.ts';
import { traefikArgs } from './traefik/traefik.ts';
import { UNREADY_LABEL } from '../cluster/stages.ts';

const pod = (name: string, o: { ready?: boolean; ip?: string; optIn?: boolean; deleting?: boolean } = {}): PodShape => ({
  metadata: {
    name,
    uid: `uid-${name}`,
    labels: { app: 'web', ...(o.optIn === false ? {} : { [RUN_LABEL]: 'demo-app' }) },
    ...(o.deleting === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  spec: { containers: [{ image: 'registry.invalid/web:v2', env: [{ name: 'ERROR_RATE', value: '0.2' }, { name: 'FROM_SECRET' }] }] },
  status: { ...(o.ip === undefined ? { podIP: '10.244.0.7' } : { podIP: o.ip }), conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
});

describe('pod runner: which pods get a process', () => {
  it('runs opted-in Ready pods with an IP, with their literal env and the image tag as VERSION', () => {
    expect(runnablePods([pod('a')])).toEqual([
      { uid: 'uid-a', name: 'a', ip: '10.244.0.7', waitsForProbe: false, revision: { replicaSet: 'a', labels: { app: 'web', [RUN_LABEL]: 'demo-app' }, image: 'registry.invalid/web:v2', version: 'v2', env: { ERROR_RATE: '0.2' } } },
    ]);
  });

  it('runs a Running pod that waits for its probe (UNREADY_LABEL), so the runner can make it Ready', () => {
    const waiting = pod('w', { ready: false });
    waiting.metadata.labels = { ...waiting.metadata.labels, [UNREADY_LABEL]: 'true' };
    expect(runnablePods([waiting]).map((p) => [p.name, p.waitsForProbe])).toEqual([['w', true]]);
  });

  it('skips pods that are not Ready, not opted in, or being deleted', () => {
    expect(runnablePods([pod('a', { ready: false }), pod('b', { optIn: false }), pod('c', { deleting: true })])).toEqual([]);
  });
});

describe('kube-proxy emulator: listeners and endpoints', () => {
  const svc = (name: string, clusterIP: string) => ({ metadata: { name }, spec: { clusterIP, ports: [{ name: 'http', port: 8080 }] } });
  const slice = (service: string, endpoints: { ip: string; ready: boolean }[], port = 'http') => ({
    metadata: { labels: { 'kubernetes.io/service-name': service } },
    ports: [{ name: port, port: 8080 }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready } })),
  });

  it('listens on ClusterIP:port and forwards only to the Ready endpoints of the Service own slices, port matched by name', () => {
    const rules = proxyRules([svc('web-stable', '127.96.0.10')], [
      slice('web-stable', [{ ip: '10.244.0.2', ready: true }, { ip: '10.244.0.3', ready: false }]),
      slice('web-stable', [{ ip: '10.244.0.9', ready: true }], 'other'),
      slice('web-canary', [{ ip: '10.244.0.4', ready: true }]),
    ]);
    expect(rules).toEqual([{ key: '127.96.0.10:8080', service: 'web-stable', clusterIP: '127.96.0.10', port: 8080, podIPs: ['10.244.0.2'] }]);
  });

  it('finds connections to a pod whose process had not passed its probe, or had stopped, by the runner log', () => {
    const log = [
      { at: 10, event: 'started', ip: 'a' },
      { at: 20, event: 'probe passed', ip: 'a' },
      { at: 50, event: 'stopped', ip: 'a' },
    ];
    const conns = [15, 25, 60].map((at) => ({ at, service: 's', podIP: 'a' }));
    expect(connectionsToUnreadyPods([...conns, { at: 30, service: 's', podIP: undefined }], log).map((c) => c.at)).toEqual([15, 60]);
  });

  it('refuses a Service whose ClusterIP is not loopback, naming it', () => {
    expect(() => proxyRules([svc('web', '10.96.0.10')], [])).toThrow(/Service web: spec.clusterIP 10.96.0.10 is not a loopback address/);
  });
});

describe('Traefik command line', () => {
  it('listens on 127.0.0.1 only, never phones home, and sends to ClusterIPs (nativeLB)', () => {
    const args = traefikArgs({ binDir: '/b', kubeconfig: '/k', namespaces: ['a', 'b'], gatewayClassLabels: { team: 'x' }, logFile: '/l' }, { web: 1, api: 2, metrics: 3 });
    const addresses = args.filter((a) => a.includes('.address='));
    expect(addresses).toEqual(['--entryPoints.web.address=127.0.0.1:1', '--entryPoints.traefik.address=127.0.0.1:2', '--entryPoints.metrics.address=127.0.0.1:3']);
    expect(args).toEqual(expect.arrayContaining(['--global.checkNewVersion=false', '--global.sendAnonymousUsage=false', '--providers.kubernetesGateway.nativeLBByDefault=true', '--providers.kubernetesGateway.namespaces=a,b', '--providers.kubernetesGateway.labelSelector=team=x']));
  });
});
