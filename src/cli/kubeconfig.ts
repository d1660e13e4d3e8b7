// Kube context loading as kubectl does it: --kubeconfig, else $KUBECONFIG, else ~/.kube/config (else in-cluster);
// --context picks a context; the namespace is -n, else the context's namespace, else "default".
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../kube/client.ts';
import { UsageError } from './command.ts';

export interface KubeSelection {
  kubeconfig?: string;
  context?: string;
}

export function loadKubeConfig(sel: KubeSelection): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (sel.kubeconfig !== undefined) kc.loadFromFile(sel.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    const from = sel.kubeconfig !== undefined ? `--kubeconfig ${sel.kubeconfig}` : `the kubeconfig (${process.env['KUBECONFIG'] ?? '~/.kube/config'})`;
    throw new Error(`cannot load ${from}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (sel.context !== undefined) {
    if (kc.getContextObject(sel.context) === null) {
      throw new UsageError(`--context: context "${sel.context}" is not in the kubeconfig (have: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    kc.setCurrentContext(sel.context);
  }
  return kc;
}

/** The namespace of the kubeconfig's current context, if it sets one. */
export function contextNamespace(kc: KubeConfig): string | undefined {
  const ns = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return ns === undefined || ns === '' ? undefined : ns;
}

/** A lazily built client and the namespace to use, for the dispatcher. */
export function kubeAccess(sel: KubeSelection & { namespace?: string }): { client: () => KubeClient; namespace: () => string } {
  let kc: KubeConfig | undefined;
  let client: KubeClient | undefined;
  const config = (): KubeConfig => (kc ??= loadKubeConfig(sel));
  return {
    client: () => (client ??= new KubeClient(config())),
    namespace: () => sel.namespace ?? contextNamespace(config()) ?? 'default',
  };
}
