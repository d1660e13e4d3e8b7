// What the RollingSync wave tests share (one cluster with environments as namespaces, or three clusters): the
// environments, a config repository's files (a canary Rollout whose analysis asks a loopback web check), the check
// server (it fails release v3 in staging only), the signed push webhook, and "this release is fully promoted".
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { stringify } from 'yaml';
import type { KubeObject } from '../../src/kube/client.ts';
import { rolloutManifest, type RolloutObj } from './rollouts.ts';

export const ENVS = ['dev', 'staging', 'prod'] as const;
export type Env = (typeof ENVS)[number];
export type WaveRollout = RolloutObj & KubeObject & { metadata?: { generation?: number }; spec?: { template?: { spec?: { containers?: { image?: string }[] } } }; status?: { observedGeneration?: string } };

/** envs/<env>/rollout.yaml and analysis.yaml for every environment; `pauseS` adds a pause before the analysis. */
export function waveFiles(version: string, checkPort: number, pauseS = 0): Record<string, string> {
  const rollout = (env: string): string =>
    stringify(rolloutManifest('web', version, { steps: [{ setWeight: 50 }, ...(pauseS > 0 ? [{ pause: { duration: pauseS } }] : []), { analysis: { templates: [{ templateName: 'check' }], args: [{ name: 'env', value: env }, { name: 'version', value: version }] } }] }));
  const template = stringify({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name: 'check' },
    spec: {
      args: [{ name: 'env' }, { name: 'version' }],
      metrics: [{ name: 'check', count: 1, successCondition: 'result == "ok"', failureLimit: 0, provider: { web: { url: `http://127.0.0.1:${checkPort}/check?env={{args.env}}&version={{args.version}}`, jsonPath: '{$.status}' } } }],
    },
  });
  return Object.fromEntries(ENVS.flatMap((e) => [[`envs/${e}/rollout.yaml`, rollout(e)], [`envs/${e}/analysis.yaml`, template]]));
}

/** The web check: records every `env/version` asked, and fails release v3 in staging, deterministically. */
export async function startCheckServer(): Promise<{ server: Server; port: number; checks: string[] }> {
  const checks: string[] = [];
  const server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    checks.push(`${q.get('env') ?? ''}/${q.get('version') ?? ''}`);
    const bad = q.get('env') === 'staging' && q.get('version') === 'v3';
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: bad ? 'error rate 30%' : 'ok' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, checks };
}

/** The push webhook a Git server sends after a commit (generic, signed); resolves with its status and what it refreshed. */
export async function pushWebhook(hookURL: string, secret: string, repoURL: string): Promise<{ status: number; refreshed: string[] }> {
  const body = JSON.stringify({ repoURL, ref: 'refs/heads/main' });
  const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const res = await fetch(hookURL, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Sluice-Signature-256': signature, 'X-Sluice-Delivery': randomBytes(8).toString('hex') }, body });
  return { status: res.status, refreshed: res.status === 202 ? ((await res.json()) as { refreshed: string[] }).refreshed : [] };
}

/** The Rollout runs `version` fully promoted: the spec says so, the controller has seen it, and the stable ReplicaSet is it. */
export const isPromoted = (r: WaveRollout, version: string): boolean =>
  r.spec?.template?.spec?.containers?.[0]?.image === `registry.invalid/web:${version}` && r.status?.observedGeneration === String(r.metadata?.generation) && r.status?.phase === 'Healthy' && r.status.stableRS === r.status.currentPodHash;
