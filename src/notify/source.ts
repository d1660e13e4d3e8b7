// Reads the notification ConfigMaps and their Secrets from the apiserver (the operator and the CLI share this).
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';
import { R, type ResourceType } from '../kube/resource.ts';
import { CONFIGMAP_NAMES, SECRET_NAMES, loadConfig, type NotificationConfig } from './config.ts';

async function getOrNull(client: KubeClient, r: ResourceType, ns: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(r, ns, name);
  } catch (err) {
    if (err instanceof KubeApiError && err.kind === 'NotFound') return undefined;
    throw err;
  }
}

/** Every notification ConfigMap in `namespaces`, in order (the object's own namespace first, then the operator's). */
export async function readConfigs(client: KubeClient, namespaces: readonly string[]): Promise<NotificationConfig[]> {
  const out: NotificationConfig[] = [];
  for (const ns of namespaces) {
    for (const name of CONFIGMAP_NAMES) {
      const cm = await getOrNull(client, R.configMap, ns, name);
      if (cm === undefined) continue;
      const secret = await getOrNull(client, R.secret, ns, SECRET_NAMES[name]);
      const data = (secret as { data?: Record<string, string> } | undefined)?.data ?? {};
      const secrets = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
      out.push(loadConfig(`${ns}/${name}`, (cm as { data?: Record<string, string> }).data ?? {}, secrets));
    }
  }
  return out;
}
