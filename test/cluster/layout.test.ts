import { describe, expect, it } from '@jest/globals';
import { apiserverSpec, componentSpecs, CONTROLLERS, paths, type Layout } from './layout.ts';

const layout: Layout = {
  dir: '/tmp/cp',
  binDir: '/cache/bin',
  ports: { etcd: 2001, etcdPeer: 2002, apiserver: 2003, controllerManager: 2004, scheduler: 2005 },
};

const flag = (args: string[], name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

describe('control plane layout', () => {
  const specs = componentSpecs(layout);

  it('starts etcd, then the apiserver, then its clients', () => {
    expect(specs.map((s) => s.name)).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']);
    for (const s of specs) expect(s.command).toBe(`/cache/bin/${s.name}`);
  });

  it('binds and dials loopback only', () => {
    for (const s of specs) {
      for (const a of s.args) {
        for (const url of a.match(/[a-z]+:\/\/[^,\s]+/g) ?? []) expect(new URL(url).hostname).toBe('127.0.0.1');
      }
      const bind = flag(s.args, 'bind-address');
      if (bind !== undefined) expect(bind).toBe('127.0.0.1');
      if (s.health) expect(new URL(s.health.url).hostname).toBe('127.0.0.1');
    }
  });

  it('gives every listener its own port from the layout', () => {
    const listeners = specs.flatMap((s) => [
      ...s.args.flatMap((a) => (a.startsWith('--listen-') ? [...a.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])) : [])),
      ...(flag(s.args, 'secure-port') !== undefined ? [Number(flag(s.args, 'secure-port'))] : []),
    ]);
    expect(listeners.sort()).toEqual(Object.values(layout.ports).sort());
    expect(flag(apiserverSpec(layout).args, 'secure-port')).toBe('2003');
  });

  it('points every client at the generated kubeconfig and checks only the apiserver against the cluster CA', () => {
    for (const s of specs.slice(2)) expect(flag(s.args, 'kubeconfig')).toBe(paths(layout.dir).kubeconfig);
    expect(specs.filter((s) => s.health?.verifyWithClusterCA).map((s) => s.name)).toEqual(['kube-apiserver']);
  });

  it('runs the workload controllers but not node-lifecycle (kwok nodes have no kubelet)', () => {
    const kcm = specs[2]!;
    const controllers = flag(kcm.args, 'controllers')?.split(',') ?? [];
    expect(controllers).toEqual(CONTROLLERS);
    expect(controllers).toEqual(expect.arrayContaining(['deployment-controller', 'replicaset-controller', 'garbage-collector-controller']));
    expect(controllers).not.toContain('node-lifecycle-controller');
  });

  it('keeps service and pod address ranges apart', () => {
    expect(flag(apiserverSpec(layout).args, 'service-cluster-ip-range')).toBe('127.96.0.0/16');
    expect(flag(specs[4]!.args, 'cidr')).toBe('10.244.0.1/16');
  });
});
