// KUBE-PROXY EMULATOR (test harness, not kube-proxy): no kube-proxy runs here (it needs iptables/IPVS and root), so
// for every Service that opts in (label PROXY_LABEL) this listens on the Service's ClusterIP:port (the test plane's
// Service CIDR is loopback, so ClusterIPs are addresses of this machine) and forwards each TCP connection to one of
// the Ready endpoints the REAL endpointslice controller published for it, round robin, through the pod runner's
// map from pod IP to process. Like kube-proxy it balances connections, not requests, and an established connection
// stays with its pod; a Service with no Ready endpoint refuses connections.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import { Poller } from './poller.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { R, type ResourceType } from '../../src/kube/resource.ts';

export const PROXY_LABEL = 'sluice.dev/test-kube-proxy';
const ENDPOINT_SLICE: ResourceType = { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true };
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export const serviceShape = z.looseObject({
  metadata: z.looseObject({ name: z.string() }),
  spec: z.looseObject({
    clusterIP: z.string().optional(),
    ports: z.array(z.looseObject({ name: z.string().optional(), port: z.number() })).optional(),
  }),
});
export const sliceShape = z.looseObject({
  metadata: z.looseObject({ labels: z.record(z.string(), z.string()).optional() }),
  ports: z.array(z.looseObject({ name: z.string().optional(), port: z.number().optional() })).nullish(),
  endpoints: z.array(z.looseObject({ addresses: z.array(z.string()), conditions: z.looseObject({ ready: z.boolean().optional() }).optional() })).nullish(),
});
type ServiceShape = z.infer<typeof serviceShape>;
type SliceShape = z.infer<typeof sliceShape>;

/** One listener: a Service port on its ClusterIP, and the pod IPs of its Ready endpoints. */
export interface ProxyRule {
  key: string;
  service: string;
  clusterIP: string;
  port: number;
  podIPs: string[];
}

export const isLoopback = (ip: string): boolean => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);

/** Pure: the listeners the opted-in Services need, each with its Ready endpoints (a port matched by name, as kube-proxy does). */
export function proxyRules(services: readonly ServiceShape[], slices: readonly SliceShape[]): ProxyRule[] {
  return services.flatMap((svc) => {
    const ip = svc.spec.clusterIP;
    if (ip === undefined || ip === 'None' || !isLoopback(ip)) {
      throw new Error(`Service ${svc.metadata.name}: spec.clusterIP ${String(ip)} is not a loopback address; the kube-proxy emulator needs a plane whose Service CIDR is in 127.0.0.0/8`);
    }
    const own = slices.filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === svc.metadata.name);
    return (svc.spec.ports ?? []).map((p) => {
      const podIPs = own
        .filter((s) => (s.ports ?? []).some((sp) => (sp.name ?? '') === (p.name ?? '')))
        .flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready === true).flatMap((e) => e.addresses));
      return { key: `${ip}:${p.port}`, service: svc.metadata.name, clusterIP: ip, port: p.port, podIPs: [...new Set(podIPs)].sort() };
    });
  });
}

/** Where a connection went: the runner's log and this one together show no connection reached a pod that was not Ready. */
export interface ProxiedConnection {
  at: number;
  service: string;
  podIP: string | undefined;
}

/**
 * Pure: the connections that reached a pod IP whose process had not passed its probe, or had stopped, at that time
 * (per the pod runner's log; an IP kwok reuses for a later pod is judged by its latest event before the connection).
 */
export function connectionsToUnreadyPods(connections: readonly ProxiedConnection[], runnerLog: readonly { at: number; event: string; ip: string }[]): ProxiedConnection[] {
  return connections.filter((c) => {
    if (c.podIP === undefined) return false;
    const last = runnerLog.filter((e) => e.ip === c.podIP && e.at <= c.at).at(-1);
    return last?.event !== 'probe passed';
  });
}

export class KubeProxyEmulator {
  private readonly client: KubeClient;
  private readonly namespace: string;
  private readonly resolve: (podIP: string) => { host: string; port: number } | undefined;
  private readonly listeners = new Map<string, { server: Server; rule: ProxyRule; next: number }>();
  private readonly sockets = new Set<Socket>();
  private readonly poller = new Poller(() => this.tick());
  readonly connections: ProxiedConnection[] = [];

  constructor(client: KubeClient, namespace: string, resolve: (podIP: string) => { host: string; port: number } | undefined) {
    this.client = client;
    this.namespace = namespace;
    this.resolve = resolve;
  }

  start(intervalMs = 100): void {
    this.poller.start(intervalMs);
  }

  get errors(): string[] {
    return this.poller.errors;
  }


  private async tick(): Promise<void> {
    const [svcs, slices] = await Promise.all([
      this.client.list(R.service, this.namespace, { labelSelector: PROXY_LABEL }),
      this.client.list(ENDPOINT_SLICE, this.namespace),
    ]);
    const rules = proxyRules(svcs.items.map((s) => serviceShape.parse(s)), slices.items.map((s) => sliceShape.parse(s)));
    for (const rule of rules) {
      const l = this.listeners.get(rule.key);
      if (l !== undefined) l.rule = rule;
      else this.listeners.set(rule.key, { server: await this.listen(rule), rule, next: 0 });
    }
    const wanted = new Set(rules.map((r) => r.key));
    for (const [key, l] of this.listeners) {
      if (wanted.has(key)) continue;
      this.listeners.delete(key);
      l.server.close();
    }
  }

  private listen(rule: ProxyRule): Promise<Server> {
    const server = createServer((socket) => this.forward(rule.key, socket));
    return new Promise((done, fail) => {
      server.once('error', (e) => fail(new Error(`kube-proxy emulator: cannot listen on ${rule.key} for Service ${rule.service}: ${e.message}`)));
      server.listen(rule.port, rule.clusterIP, () => done(server));
    });
  }

  private forward(key: string, socket: Socket): void {
    const l = this.listeners.get(key);
    const ips = l?.rule.podIPs.filter((ip) => this.resolve(ip) !== undefined) ?? [];
    const podIP = l === undefined || ips.length === 0 ? undefined : ips[l.next++ % ips.length];
    const target = podIP === undefined ? undefined : this.resolve(podIP);
    this.connections.push({ at: Date.now(), service: l?.rule.service ?? key, podIP });
    if (target === undefined) return void socket.destroy(); // no Ready endpoint: refused, as kube-proxy's REJECT rule
    const upstream = connect(target.port, target.host);
    for (const s of [socket, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {
        socket.destroy();
        upstream.destroy();
      });
    }
    socket.pipe(upstream).pipe(socket);
  }

  async stop(): Promise<void> {
    await this.poller.stop();
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.listeners.values()].map((l) => new Promise((r) => l.server.close(r))));
    this.listeners.clear();
  }
}
