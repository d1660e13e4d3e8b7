// A remote cluster as Argo CD declares it: a Secret labelled `argocd.argoproj.io/secret-type: cluster` (or Sluice's
// alias) whose data holds `name`, `server`, `config` (JSON: bearerToken or tlsClientConfig) and optionally
// `namespaces`. Pure: Secret in, a ClusterSpec or errors naming the field out. Errors never quote a credential.
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { z } from 'zod';
import type { KubeObject } from '../kube/client.ts';
import { IN_CLUSTER_NAME, IN_CLUSTER_SERVER } from '../api/application/schema.ts';

export const ARGO_SECRET_TYPE_LABEL = 'argocd.argoproj.io/secret-type';
/** Sluice's own label, for installations that do not want Argo CD's label on their Secrets. */
export const SLUICE_SECRET_TYPE_LABEL = 'sluice.dev/secret-type';
export const CLUSTER_SECRET_TYPE = 'cluster';

export interface ClusterCredentials {
  bearerToken?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure?: boolean;
  serverName?: string;
}

export interface ClusterSpec {
  /** The Secret's name (where errors point). */
  secret: string;
  name: string;
  /** Without a trailing slash. */
  server: string;
  /** `namespaces` limits what the cluster may be given; empty means all. */
  namespaces: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  credentials: ClusterCredentials;
  /** A digest of everything that shapes the connection: a changed Secret rebuilds the client only when it moves. */
  fingerprint: string;
}

export interface ClusterSecretError {
  field: string;
  message: string;
}

const configSchema = z.object({
  bearerToken: z.string().min(1).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  tlsClientConfig: z
    .object({
      caData: z.string().optional(),
      certData: z.string().optional(),
      keyData: z.string().optional(),
      insecure: z.boolean().optional(),
      serverName: z.string().optional(),
    })
    .optional(),
});

/** Is this Secret a cluster Secret (either label)? */
export function isClusterSecret(obj: KubeObject): boolean {
  const l = obj.metadata?.labels ?? {};
  return l[ARGO_SECRET_TYPE_LABEL] === CLUSTER_SECRET_TYPE || l[SLUICE_SECRET_TYPE_LABEL] === CLUSTER_SECRET_TYPE;
}

/** A Secret's data, decoded (`data` is base64; `stringData` never comes back from the apiserver but tests may pass it). */
function decoded(obj: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  const data = obj['data'];
  if (typeof data === 'object' && data !== null) for (const [k, v] of Object.entries(data)) if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString('utf8');
  const sd = obj['stringData'];
  if (typeof sd === 'object' && sd !== null) for (const [k, v] of Object.entries(sd)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** base64 → bytes, or an error naming the field (never its content). */
function pemField(field: string, b64: string | undefined, check: (pem: Buffer) => void, errors: ClusterSecretError[]): Buffer | undefined {
  if (b64 === undefined || b64 === '') return undefined;
  if (!/^[A-Za-z0-9+/=\s]+$/.test(b64)) {
    errors.push({ field, message: 'is not base64' });
    return undefined;
  }
  const pem = Buffer.from(b64, 'base64');
  try {
    check(pem);
  } catch (err) {
    // OpenSSL's reason only (e.g. "error:0680007B:asn1 encoding routines::header too long"): it quotes no bytes.
    errors.push({ field, message: `is not valid PEM: ${err instanceof Error ? err.message.split('\n')[0] : 'unparseable'}` });
    return undefined;
  }
  return pem;
}

/**
 * Parses a cluster Secret. `config` JSON errors name `data.config.<path>`; a CA or client certificate that does
 * not parse, a key without its certificate, or no credential at all, are errors too.
 */
export function parseClusterSecret(obj: KubeObject): { ok: true; value: ClusterSpec } | { ok: false; secret: string; errors: ClusterSecretError[] } {
  const secret = obj.metadata?.name ?? '';
  const data = decoded(obj);
  const errors: ClusterSecretError[] = [];
  const server = (data['server'] ?? '').trim().replace(/\/+$/, '');
  if (server === '') errors.push({ field: 'data.server', message: 'required: the apiserver URL' });
  else if (!/^https?:\/\/[^\s/]+/.test(server)) errors.push({ field: 'data.server', message: `must be an http(s) URL, got "${server}"` });
  const name = (data['name'] ?? '').trim() || server;
  if (name === IN_CLUSTER_NAME || server === IN_CLUSTER_SERVER) errors.push({ field: 'data.server', message: `"${IN_CLUSTER_NAME}" (${IN_CLUSTER_SERVER}) is the operator's own cluster: it needs no Secret` });

  let json: unknown = {};
  try {
    json = JSON.parse(data['config'] ?? '{}');
  } catch (err) {
    errors.push({ field: 'data.config', message: `is not JSON: ${err instanceof Error ? err.message : String(err)}` });
  }
  const parsed = configSchema.safeParse(json);
  const credentials: ClusterCredentials = {};
  if (!parsed.success) {
    for (const iss of parsed.error.issues) errors.push({ field: ['data.config', ...iss.path.map(String)].join('.'), message: iss.message });
  } else {
    const c = parsed.data;
    const tls = c.tlsClientConfig ?? {};
    const at = 'data.config.tlsClientConfig';
    const ca = pemField(`${at}.caData`, tls.caData, (pem) => new X509Certificate(pem), errors);
    const cert = pemField(`${at}.certData`, tls.certData, (pem) => new X509Certificate(pem), errors);
    const key = pemField(`${at}.keyData`, tls.keyData, (pem) => createPrivateKey(pem), errors);
    if ((tls.certData === undefined) !== (tls.keyData === undefined)) errors.push({ field: tls.certData === undefined ? `${at}.certData` : `${at}.keyData`, message: 'certData and keyData go together' });
    if (c.username !== undefined || c.password !== undefined) errors.push({ field: 'data.config.username', message: 'basic auth is not supported: use bearerToken or tlsClientConfig.certData/keyData' });
    if (c.bearerToken === undefined && tls.certData === undefined) errors.push({ field: 'data.config', message: 'no credentials: set bearerToken or tlsClientConfig.certData and keyData' });
    Object.assign(credentials, {
      ...(c.bearerToken !== undefined ? { bearerToken: c.bearerToken } : {}),
      ...(ca !== undefined ? { ca } : {}),
      ...(cert !== undefined ? { cert } : {}),
      ...(key !== undefined ? { key } : {}),
      ...(tls.insecure !== undefined ? { insecure: tls.insecure } : {}),
      ...(tls.serverName !== undefined ? { serverName: tls.serverName } : {}),
    });
  }
  const namespaces = (data['namespaces'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (errors.length > 0) return { ok: false, secret, errors };
  const fingerprint = createHash('sha256').update(JSON.stringify([server, data['config'] ?? '', namespaces])).digest('hex').slice(0, 16);
  return {
    ok: true,
    value: { secret, name, server, namespaces, labels: { ...obj.metadata?.labels }, annotations: { ...obj.metadata?.annotations }, credentials, fingerprint },
  };
}

export const formatClusterSecretErrors = (secret: string, errors: ClusterSecretError[]): string => `cluster Secret ${secret}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`;
