// Kube context loading as kubectl does it: --kubeconfig, else $KUBECONFIG, else ~/.kube/config (else in-cluster);
// --context picks a context; the namespace is -n, else the context's namespace, else "default".
import { KubeConfig, type HttpMethod } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';
import type { KubeAuth } from '../kube/kubeconfig.ts';
import { UsageError } from './command.ts';

export interface KubeSelection {
  kubeconfig?: string;
  context?: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Why no kubeconfig can be found, or undefined when one can (a file in $KUBECONFIG, ~/.kube/config, or a pod's
 * service account). Without this check client-node falls back to http://localhost:8080 and the first request fails
 * with a TLS message that names neither the files tried nor the cause.
 */
export function missingKubeconfig(env: Record<string, string | undefined>, exists: (path: string) => boolean = existsSync): string | undefined {
  const list = env['KUBECONFIG'];
  if (list !== undefined && list !== '') {
    const files = list.split(delimiter).filter((f) => f !== '');
    if (files.some(exists)) return undefined;
    return `no kubeconfig found: none of the files in $KUBECONFIG exists (${files.join(', ')}); pass --kubeconfig PATH or fix KUBECONFIG`;
  }
  const home = join(env['HOME'] ?? homedir(), '.kube', 'config');
  if (exists(home)) return undefined;
  if (exists(SERVICE_ACCOUNT_TOKEN)) return undefined;
  return `no kubeconfig found: KUBECONFIG is not set, ${home} does not exist, and there is no in-cluster service account (${SERVICE_ACCOUNT_TOKEN}); pass --kubeconfig PATH or set KUBECONFIG`;
}

export function loadKubeConfig(sel: KubeSelection): KubeConfig {
  const kc = new KubeConfig();
  if (sel.kubeconfig === undefined) {
    const missing = missingKubeconfig(process.env);
    if (missing !== undefined) throw new Error(missing);
  }
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

/** The chain of causes under a network failure ("fetch failed" → "connect ECONNREFUSED 127.0.0.1:1"), deepest last. */
export function causeChain(err: unknown): string[] {
  const out: string[] = [];
  for (let c = err instanceof Error ? err.cause : undefined, depth = 0; c instanceof Error && depth < 5; depth++) {
    const code = 'code' in c && typeof c.code === 'string' ? c.code : undefined;
    if (c.message !== '' && !out.includes(c.message)) out.push(code !== undefined && !c.message.includes(code) ? `${c.message} (${code})` : c.message);
    c = c.cause;
  }
  return out;
}

/**
 * The plugin's client: every request is tied to the process's SIGINT/SIGTERM signal (so Ctrl-C ends a verb that is
 * waiting on a slow or silent apiserver at once), and a request that never reached the server says which server and
 * why (the socket error under undici's bare "fetch failed").
 */
export class PluginClient extends KubeClient {
  private readonly stop: AbortSignal | undefined;
  readonly serverUrl: string;

  constructor(auth: KubeConfig | KubeAuth, stop?: AbortSignal) {
    super(auth);
    this.stop = stop;
    this.serverUrl = auth instanceof KubeConfig ? (auth.getCurrentCluster()?.server ?? '?') : auth.server;
  }

  override async request<T>(method: HttpMethod, path: string, opts: Parameters<KubeClient['request']>[2] = {}): Promise<T> {
    const signal = this.stop === undefined ? opts.signal : opts.signal === undefined ? this.stop : AbortSignal.any([opts.signal, this.stop]);
    try {
      return await super.request<T>(method, path, { ...opts, signal });
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.status !== 0 || this.stop?.aborted === true) throw err;
      const causes = causeChain(err).filter((c) => !err.message.endsWith(c));
      throw new KubeApiError({ kind: err.kind, status: 0, message: `${err.message}${causes.map((c) => `: ${c}`).join('')} (server ${this.serverUrl})`, cause: err });
    }
  }
}

/** A lazily built client and the namespace to use, for the dispatcher; `stop` aborts every request it makes. */
export function kubeAccess(sel: KubeSelection & { namespace?: string }, stop?: AbortSignal): { client: () => KubeClient; namespace: () => string } {
  let kc: KubeConfig | undefined;
  let client: KubeClient | undefined;
  const config = (): KubeConfig => (kc ??= loadKubeConfig(sel));
  return {
    client: () => (client ??= new PluginClient(config(), stop)),
    namespace: () => sel.namespace ?? contextNamespace(config()) ?? 'default',
  };
}
