// Shared by the Rollout integration tests: the operator's runtime in-process on one namespace, and the kubectl
// calls a person (or Argo Rollouts' plugin) would make.
import { expect } from '@jest/globals';
import { stringify } from 'yaml';
import { registerControllers } from '../../src/controllers.ts';
import type { KubeObject } from '../../src/kube/client.ts';
import { R } from '../../src/kube/resource.ts';
import { EventRecorder } from '../../src/runtime/events.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../../src/rollout/hash.ts';
import { kubectl, waitFor } from './cluster.ts';
import { installCrds, waitEstablished } from './crds.ts';
import { upstreamCrdDir } from '../crds/upstream.ts';
import { testClient, testLogger, testMetrics } from './operator.ts';

export type RolloutObj = KubeObject & {
  status?: {
    phase?: string;
    restartedAt?: string;
    stableRS?: string;
    currentPodHash?: string;
    currentStepIndex?: number;
    abort?: boolean;
    message?: string;
    canary?: { weights?: { canary?: { weight?: number }; additional?: { serviceName?: string; weight?: number }[] } };
    blueGreen?: { activeSelector?: string; previewSelector?: string; scaleUpPreviewCheckPoint?: boolean };
    pauseConditions?: { reason: string; startTime?: string }[];
  };
};

/** Sluice's CRDs plus the upstream Gateway API (standard channel) and Istio VirtualService/DestinationRule CRDs. */
export async function installAllCrds(): Promise<void> {
  await installCrds();
  const dir = upstreamCrdDir();
  const installed = await kubectl(['apply', '--server-side', '-f', dir]);
  // The apiserver warns about a format it does not know in an upstream schema ("binary"): a warning, not a failure.
  const errors = installed.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: unrecognized format'));
  expect({ code: installed.code, errors }).toEqual({ code: 0, errors: [] });
  const established = await waitEstablished(kubectl, ['-f', dir]);
  expect({ code: established.code, stderr: established.stderr }).toEqual({ code: 0, stderr: '' });
}

export interface InProcessOperator {
  client: ReturnType<typeof testClient>['client'];
  stop(): Promise<void>;
}

export async function runOperator(ns: string): Promise<InProcessOperator> {
  const { client } = testClient();
  const log = testLogger();
  const manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [ns] });
  registerControllers(manager, { client, log, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2 });
  const running = manager.run();
  await waitFor('caches', () => manager.ready());
  return {
    client,
    stop: async () => {
      await manager.stop();
      await running;
    },
  };
}

export function helpers(ns: string, client: InProcessOperator['client']) {
  return {
    apply: async (m: object): Promise<void> => {
      const res = await kubectl(['apply', '--server-side', '--field-manager=gitops-user', '-n', ns, '-f', '-'], stringify(m));
      expect(res.stderr).toBe('');
    },
    /** The status patches Argo Rollouts' kubectl plugin sends (promote, abort, retry, promote --full). */
    statusPatch: async (name: string, patch: object): Promise<void> => {
      const res = await kubectl(['patch', 'rollouts.sluice.dev', name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(patch)]);
      expect(res.stderr).toBe('');
    },
    rollout: (name: string): Promise<RolloutObj> => client.get<RolloutObj>(R.rollout, ns, name),
    selector: async (svc: string): Promise<string | undefined> =>
      (await client.get<KubeObject & { spec?: { selector?: Record<string, string> } }>(R.service, ns, svc)).spec?.selector?.[POD_TEMPLATE_HASH_LABEL],
    service: async (name: string, app: string): Promise<void> => {
      const res = await kubectl(['apply', '--server-side', '--field-manager=gitops-user', '-n', ns, '-f', '-'], stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] } }));
      expect(res.stderr).toBe('');
    },
    /** `<app>-stable` and `<app>-canary` Services and a VirtualService `<app>` routing all of `<app>` to stable. */
    istioCanary: async (app: string): Promise<void> => {
      for (const name of [`${app}-stable`, `${app}-canary`]) {
        const res = await kubectl(['apply', '--server-side', '--field-manager=gitops-user', '-n', ns, '-f', '-'], stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] } }));
        expect(res.stderr).toBe('');
      }
      const vs = {
        apiVersion: 'networking.istio.io/v1beta1',
        kind: 'VirtualService',
        metadata: { name: app },
        spec: { hosts: [app], http: [{ route: [{ destination: { host: `${app}-stable` }, weight: 100 }, { destination: { host: `${app}-canary` }, weight: 0 }] }] },
      };
      const res = await kubectl(['apply', '--server-side', '--field-manager=gitops-user', '-n', ns, '-f', '-'], stringify(vs));
      expect(res.stderr).toBe('');
    },
  };
}

export function rolloutManifest(app: string, version: string, canary: Record<string, unknown>, podLabels: Record<string, string> = {}): object {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: app },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app } },
      template: { metadata: { labels: { app, ...podLabels } }, spec: { containers: [{ name: 'app', image: `registry.invalid/${app}:${version}` }] } },
      strategy: { canary: { scaleDownDelaySeconds: 2, abortScaleDownDelaySeconds: 2, ...canary } },
    },
  };
}

/** A blue-green Rollout of 4 replicas with short scale-down delays (2 s), its Services named `<app>-active` and
 * `<app>-preview`; `blueGreen` and `spec` override. */
export function blueGreenManifest(app: string, version: string, blueGreen: Record<string, unknown> = {}, podLabels: Record<string, string> = {}, spec: Record<string, unknown> = {}): object {
  const base = rolloutManifest(app, version, {}, podLabels) as { spec: Record<string, unknown> };
  return {
    ...base,
    spec: {
      ...base.spec,
      ...spec,
      strategy: { blueGreen: { activeService: `${app}-active`, previewService: `${app}-preview`, scaleDownDelaySeconds: 2, abortScaleDownDelaySeconds: 2, ...blueGreen } },
    },
  };
}
