// Shared by the outage tests: a canary Rollout on the Gateway API (Services, HTTPRoute, Rollout), a gate in front of
// a server that can be shut (every connection refused, open ones cut: what a client sees of a stopped server), and
// the figures file `npm run chaos` reads.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import { R } from '../../../src/kube/resource.ts';
import { HTTP_ROUTE } from '../../../src/rollout/traffic/gatewayapi.ts';

export type Kubectl = (args: string[], input?: string) => Promise<{ stdout: string; stderr: string; code: number }>;

export type RolloutObj = KubeObject & {
  status?: { phase?: string; abort?: boolean; stableRS?: string; currentPodHash?: string; observedGeneration?: string | number; currentStepIndex?: number; message?: string };
};

export function canary(name: string, version: number, steps: object[]): object[] {
  return [
    ...[`${name}-stable`, `${name}-canary`].map((svc) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: svc }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } })),
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name }, spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: `${name}-stable`, port: 80, weight: 100 }, { name: `${name}-canary`, port: 80, weight: 0 }] }] } },
    rolloutObject(name, version, { canary: { canaryService: `${name}-canary`, stableService: `${name}-stable`, scaleDownDelaySeconds: 1, abortScaleDownDelaySeconds: 1, trafficRouting: { gatewayAPI: { httpRoute: name } }, steps } }),
  ];
}

/** A Rollout of 2 replicas of image `registry.invalid/<name>:v<version>` with the given strategy. */
export function rolloutObject(name: string, version: number, strategy: object): object {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `registry.invalid/${name}:v${version}` }] } },
      strategy,
    },
  };
}

export async function apply(kubectl: Kubectl, ns: string, objs: object[]): Promise<void> {
  const r = await kubectl(['apply', '--server-side', '--field-manager=chaos-user', '-n', ns, '-f', '-'], objs.map((m) => stringify(m)).join('---\n'));
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
}

export const getRollout = (client: KubeClient, ns: string, name: string): Promise<RolloutObj> => client.get<RolloutObj>(R.rollout, ns, name);

export async function canaryWeight(client: KubeClient, ns: string, name: string): Promise<number | undefined> {
  const route = await client.get<KubeObject & { spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] } }>(HTTP_ROUTE, ns, name);
  return route.spec?.rules?.[0]?.backendRefs?.find((b) => b.name === `${name}-canary`)?.weight;
}

/** Healthy on its newest revision (promoted), judged at its latest generation. */
export function promoted(r: RolloutObj): boolean {
  const s = r.status;
  return String(s?.observedGeneration ?? '') === String(r.metadata?.generation ?? '') && s?.phase === 'Healthy' && s.stableRS === s.currentPodHash && s.abort !== true;
}

/** A TCP gate in front of `target` (host:port) that can be shut and opened again on the same port. */
export class Gate {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port: number;
  private readonly target: { host: string; port: number };
  private constructor(port: number, target: { host: string; port: number }) {
    this.port = port;
    this.target = target;
  }

  static async open(target: string, port = 0): Promise<Gate> {
    const u = new URL(target);
    const g = new Gate(port, { host: u.hostname, port: Number(u.port) });
    return g.listen();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async listen(): Promise<Gate> {
    const server = createServer((inbound) => {
      const outbound = connect(this.target.port, this.target.host);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port; // the same port on every reopen
    return this;
  }

  /** Refuses every new connection and cuts the open ones. */
  async shut(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async reopen(): Promise<void> {
    if (this.server === undefined) await this.listen();
  }
}

/** One outage's figures, written where `npm run chaos` (test/chaos/run.ts) reads them. */
export function writeOutage(file: string, figures: { name: string; downS: number; resumeS: number; details: Record<string, unknown> }): void {
  const dir = join('test-results', 'chaos');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), JSON.stringify(figures, null, 2));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const say = (line: string): void => void process.stderr.write(`[outage ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
