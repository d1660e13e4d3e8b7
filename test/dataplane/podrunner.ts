// POD RUNNER (test harness, not a kubelet): kwok's pods run nothing, so for every Ready pod that opts in (label
// RUN_LABEL) this starts one process of the demo app with the env of the pod's first container, and stops it when
// the pod is gone from the apiserver. The process listens on 127.0.0.1:<free port>, not on the pod IP: pod IPs stay
// in kwok's 10.244.0.0/16 because the apiserver refuses loopback addresses in EndpointSlices, so the real
// endpointslice controller could not publish loopback pod IPs. `address(podIP)` is how the kube-proxy emulator
// (kubeproxy.ts) reaches a pod behind an endpoint the real controller published.
import { z } from 'zod';
import { Poller } from './poller.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { R } from '../../src/kube/resource.ts';
import { AppProcess } from './apps.ts';
import { ProcessGuard } from './guard.ts';
import type { Revision } from './routes.ts';
import { UNREADY_LABEL } from '../cluster/stages.ts';

/**
 * Pods with this label (value "demo-app") get a process; every other pod stays a status entry, as kwok makes it.
 * A pod that also carries UNREADY_LABEL (kwok runs it Running, not Ready) is made Ready by the runner once its
 * process answers /healthz, by removing that label: a readiness probe that passes, so no pod is Ready (and in a
 * Service's endpoints) before something listens behind it.
 */
export const RUN_LABEL = 'sluice.dev/test-run-process';

const envVar = z.looseObject({ name: z.string(), value: z.string().optional() });
export const podShape = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    uid: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: z.looseObject({ containers: z.array(z.looseObject({ image: z.string().optional(), env: z.array(envVar).optional() })) }),
  status: z.looseObject({
    podIP: z.string().optional(),
    conditions: z.array(z.looseObject({ type: z.string(), status: z.string() })).optional(),
  }).optional(),
});
export type PodShape = z.infer<typeof podShape>;

/** A pod the runner should have a process for. */
export interface RunnablePod {
  uid: string;
  name: string;
  ip: string;
  /** Not Ready until the runner removes UNREADY_LABEL, once the process answers. */
  waitsForProbe: boolean;
  revision: Revision;
}

const isReady = (p: PodShape): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/**
 * Pure: the opted-in pods with an IP that are Ready, or Running and waiting for their probe (UNREADY_LABEL). A
 * process starts once and runs until the pod is gone.
 */
export function runnablePods(pods: readonly PodShape[]): RunnablePod[] {
  return pods.flatMap((p) => {
    const ip = p.status?.podIP;
    const waitsForProbe = p.metadata.labels?.[UNREADY_LABEL] !== undefined;
    if (p.metadata.labels?.[RUN_LABEL] !== 'demo-app' || ip === undefined || !(isReady(p) || waitsForProbe) || p.metadata.deletionTimestamp !== undefined) return [];
    const c = p.spec.containers[0];
    const image = c?.image ?? '';
    const env = Object.fromEntries((c?.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])));
    const version = /:([^:/@]+)$/.exec(image)?.[1] ?? 'latest';
    return [{ uid: p.metadata.uid, name: p.metadata.name, ip, waitsForProbe, revision: { replicaSet: p.metadata.name, labels: p.metadata.labels ?? {}, image, version, env } }];
  });
}

export interface RunningPod {
  name: string;
  ip: string;
  labels: Record<string, string>;
  port: number;
}

/** One line of the runner's own log: what ran where, when. */
export interface RunnerEvent {
  at: number;
  event: 'started' | 'probe passed' | 'stopped';
  pod: string;
  ip: string;
  port: number;
}

export class PodRunner {
  private readonly client: KubeClient;
  private readonly namespace: string;
  private readonly logDir: string;
  private readonly guard = new ProcessGuard('sluice-podrunner');
  private readonly running = new Map<string, { pod: RunningPod; app: AppProcess }>();
  private readonly starting = new Set<string>();
  private readonly poller = new Poller(() => this.tick());
  readonly log: RunnerEvent[] = [];

  constructor(client: KubeClient, namespace: string, logDir: string) {
    this.client = client;
    this.namespace = namespace;
    this.logDir = logDir;
  }

  start(intervalMs = 100): void {
    this.poller.start(intervalMs);
  }

  get errors(): string[] {
    return this.poller.errors;
  }


  /** The loopback address of the process serving this pod IP, if one runs. */
  address(podIP: string): { host: string; port: number } | undefined {
    for (const { pod } of this.running.values()) if (pod.ip === podIP) return { host: '127.0.0.1', port: pod.port };
    return undefined;
  }

  pods(): RunningPod[] {
    return [...this.running.values()].map((r) => r.pod);
  }

  private async tick(): Promise<void> {
    const list = await this.client.list(R.pod, this.namespace, { labelSelector: RUN_LABEL });
    const pods = list.items.map((p) => podShape.parse(p));
    const present = new Set(pods.map((p) => p.metadata.uid));
    for (const want of runnablePods(pods)) {
      if (this.running.has(want.uid) || this.starting.has(want.uid)) continue;
      this.starting.add(want.uid);
      void this.launch(want).finally(() => this.starting.delete(want.uid));
    }
    for (const [uid, r] of this.running) {
      if (present.has(uid)) continue;
      this.running.delete(uid);
      this.log.push({ at: Date.now(), event: 'stopped', pod: r.pod.name, ip: r.pod.ip, port: r.pod.port });
      await r.app.stop();
    }
  }

  private async launch(want: RunnablePod): Promise<void> {
    try {
      const app = await AppProcess.start(want.revision, this.logDir);
      this.guard.add(app.pid, process.execPath);
      if (this.poller.stopped) return void (await app.stop());
      const pod = { name: want.name, ip: want.ip, labels: want.revision.labels, port: app.port };
      this.running.set(want.uid, { pod, app });
      this.log.push({ at: Date.now(), event: 'started', pod: want.name, ip: want.ip, port: app.port });
      if (want.waitsForProbe) {
        await this.client.mergePatch(R.pod, this.namespace, want.name, { metadata: { labels: { [UNREADY_LABEL]: null } } });
        this.log.push({ at: Date.now(), event: 'probe passed', pod: want.name, ip: want.ip, port: app.port });
      }
    } catch (e) {
      this.errors.push(`pod ${want.name}: ${String(e)}`);
    }
  }

  async stop(): Promise<void> {
    await this.poller.stop();
    while (this.starting.size > 0) await new Promise((r) => setTimeout(r, 20));
    await Promise.all([...this.running.values()].map((r) => r.app.stop()));
    this.running.clear();
    this.guard.close();
  }
}
