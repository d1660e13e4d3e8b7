// Feeds the InvariantChecker straight from the apiserver: one watch per kind the operator writes, in one namespace.
import type { KubeClient } from '../../../src/kube/client.ts';
import { follow } from '../../bench/watch.ts';
import { InvariantChecker, type Kind } from './check.ts';

export const PATHS: Record<Kind, (ns: string) => string> = {
  Rollout: (ns) => `/apis/sluice.dev/v1alpha1/namespaces/${ns}/rollouts`,
  ReplicaSet: (ns) => `/apis/apps/v1/namespaces/${ns}/replicasets`,
  Service: (ns) => `/api/v1/namespaces/${ns}/services`,
  HTTPRoute: (ns) => `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`,
  VirtualService: (ns) => `/apis/networking.istio.io/v1beta1/namespaces/${ns}/virtualservices`,
  Ingress: (ns) => `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`,
};

export interface Observation {
  checker: InvariantChecker;
  stop(): Promise<void>;
}

export function observe(client: KubeClient, ns: string): Observation {
  const checker = new InvariantChecker();
  const ac = new AbortController();
  const feeds = (Object.keys(PATHS) as Kind[]).map((kind) =>
    follow(client, PATHS[kind](ns), (type, obj, atMs) => checker.add({ kind, type: type as 'ADDED' | 'MODIFIED' | 'DELETED', obj, atMs }), ac.signal),
  );
  return {
    checker,
    stop: async () => {
      ac.abort();
      await Promise.allSettled(feeds);
    },
  };
}
