// Credentials for the apiserver, loaded once: a kubeconfig file (as kubectl finds it) or the in-cluster service
// account. Why not client-node's KubeConfig for every request: importing @kubernetes/client-node costs ~90 MB of RSS
// (it loads every generated model), and its applySecurityAuthentication re-reads the certificate files and builds
// a new undici Agent (so a new TLS connection) for every request. Here one Agent per client keeps connections alive.
// Auth this loader does not implement (exec plugins, auth-provider) still goes through client-node, loaded lazily.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isIPv6 } from 'node:net';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { parse } from 'yaml';
import { z } from 'zod';

export interface KubeAuth {
  /** The apiserver's base URL, without a trailing slash. */
  readonly server: string;
  /** What one request needs: its headers (Authorization) and the connection pool to send it through. */
  prepare(url: string, method: string): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher | undefined }>;
}

export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A projected service-account token rotates; client-go re-reads the file about once a minute, so do we. */
const TOKEN_FILE_TTL_MS = 60_000;

const ClusterSchema = z.looseObject({
  server: z.string().min(1),
  'certificate-authority': z.string().optional(),
  'certificate-authority-data': z.string().optional(),
  'insecure-skip-tls-verify': z.boolean().optional(),
  'tls-server-name': z.string().optional(),
  'proxy-url': z.string().optional(),
});
const UserSchema = z.looseObject({
  'client-certificate': z.string().optional(),
  'client-certificate-data': z.string().optional(),
  'client-key': z.string().optional(),
  'client-key-data': z.string().optional(),
  token: z.string().optional(),
  tokenFile: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
});
const KubeconfigSchema = z.looseObject({
  clusters: z.array(z.looseObject({ name: z.string(), cluster: ClusterSchema })).nullish(),
  users: z.array(z.looseObject({ name: z.string(), user: UserSchema.nullish() })).nullish(),
  contexts: z.array(z.looseObject({ name: z.string(), context: z.looseObject({ cluster: z.string(), user: z.string().optional(), namespace: z.string().optional() }) })).nullish(),
  'current-context': z.string().optional(),
});
type Cluster = z.infer<typeof ClusterSchema>;
type User = z.infer<typeof UserSchema>;

/** User fields that need client-node's machinery (plugins, impersonation): the lazily loaded fallback handles them. */
const DELEGATED_USER_FIELDS = ['exec', 'auth-provider', 'as', 'as-groups', 'as-uid', 'as-user-extra'];

/** The kubeconfig files kubectl would read: $KUBECONFIG (merged, first wins), else ~/.kube/config; none in-cluster. */
export function kubeconfigFiles(env: Record<string, string | undefined> = process.env): string[] {
  const list = env['KUBECONFIG'];
  if (list !== undefined && list !== '') return list.split(delimiter).filter((f) => f !== '' && existsSync(f));
  const home = join(env['HOME'] ?? homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

interface Resolved {
  cluster: Cluster;
  user: User;
  /** Files named in the config are relative to the file that names them. */
  dir: string;
  delegated: boolean;
}

/** Reads and merges kubeconfig files (the first file to define a name wins, as kubectl merges) and resolves the
 * current context. Errors name the file and the field. */
export function resolveKubeconfig(files: string[]): Resolved {
  const clusters = new Map<string, { v: Cluster; dir: string }>();
  const users = new Map<string, { v: User; dir: string; raw: Record<string, unknown> }>();
  const contexts = new Map<string, { cluster: string; user?: string }>();
  let current: string | undefined;
  for (const file of files) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new KubeconfigError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const parsed = KubeconfigSchema.safeParse(doc ?? {});
    if (!parsed.success) {
      const iss = parsed.error.issues[0];
      throw new KubeconfigError(`${file}: ${iss?.path.join('.') ?? ''}: ${iss?.message ?? 'invalid kubeconfig'}`);
    }
    const dir = dirname(file);
    for (const c of parsed.data.clusters ?? []) if (!clusters.has(c.name)) clusters.set(c.name, { v: c.cluster, dir });
    for (const u of parsed.data.users ?? []) if (!users.has(u.name)) users.set(u.name, { v: u.user ?? {}, dir, raw: u.user ?? {} });
    for (const c of parsed.data.contexts ?? []) if (!contexts.has(c.name)) contexts.set(c.name, c.context);
    current ??= parsed.data['current-context'] || undefined;
  }
  const where = files.join(', ');
  if (current === undefined) throw new KubeconfigError(`${where}: no current-context`);
  const ctx = contexts.get(current);
  if (ctx === undefined) throw new KubeconfigError(`${where}: current-context "${current}" is not among the contexts`);
  const cluster = clusters.get(ctx.cluster);
  if (cluster === undefined) throw new KubeconfigError(`${where}: context "${current}" names cluster "${ctx.cluster}", which is not defined`);
  const user = ctx.user !== undefined ? users.get(ctx.user) : undefined;
  const delegated = DELEGATED_USER_FIELDS.some((f) => user?.raw[f] !== undefined) || cluster.v['proxy-url'] !== undefined;
  return { cluster: cluster.v, user: user?.v ?? {}, dir: user?.dir ?? cluster.dir, delegated };
}

const fileIn = (dir: string, p: string): string => (isAbsolute(p) ? p : join(dir, p));

/** A file's content read again once it may have changed (a rotated token). */
function cachedFile(path: string): () => string {
  let value = '';
  let at = -Infinity;
  let mtime = -1;
  return () => {
    const now = Date.now();
    if (now - at < TOKEN_FILE_TTL_MS) return value;
    at = now;
    const m = statSync(path).mtimeMs;
    if (m !== mtime) {
      value = readFileSync(path, 'utf8').trim();
      mtime = m;
    }
    return value;
  };
}

/** Credentials from bytes already in hand (the kubeconfig loader's, and Argo CD-style cluster Secrets in src/fleet). */
export function staticAuth(server: string, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; insecure?: boolean; servername?: string }, authorization: (() => string | undefined) | undefined): KubeAuth {
  const https = server.startsWith('https:');
  // One pool for the client's lifetime: connections are kept alive and reused (client-go's transport does the same).
  const dispatcher = https
    ? new Agent({
        connect: {
          ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
          ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
          ...(tls.key !== undefined ? { key: tls.key } : {}),
          ...(tls.insecure === true ? { rejectUnauthorized: false } : {}),
          ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
          keepAlive: true,
          keepAliveInitialDelay: 30_000,
        },
        keepAliveTimeout: 30_000,
      })
    : undefined;
  return {
    server: server.replace(/\/+$/, ''),
    prepare: () => {
      const a = authorization?.();
      const headers: Record<string, string> = a !== undefined ? { Authorization: a } : {};
      return Promise.resolve({ headers, dispatcher });
    },
  };
}

function fromResolved(r: Resolved): KubeAuth {
  const { cluster: c, user: u, dir } = r;
  const data = (b64: string | undefined, file: string | undefined): Buffer | undefined =>
    b64 !== undefined ? Buffer.from(b64, 'base64') : file !== undefined ? readFileSync(fileIn(dir, file)) : undefined;
  const tokenFile = u.tokenFile !== undefined ? cachedFile(fileIn(dir, u.tokenFile)) : undefined;
  const basic = u.username !== undefined ? `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}` : undefined;
  const authorization = u.token !== undefined ? () => `Bearer ${u.token}` : tokenFile !== undefined ? () => `Bearer ${tokenFile()}` : basic !== undefined ? () => basic : undefined;
  return staticAuth(
    c.server,
    {
      ca: data(c['certificate-authority-data'], c['certificate-authority']),
      cert: data(u['client-certificate-data'], u['client-certificate']),
      key: data(u['client-key-data'], u['client-key']),
      insecure: c['insecure-skip-tls-verify'],
      servername: c['tls-server-name'],
    },
    authorization,
  );
}

/** The pod's service account, as client-go's rest.InClusterConfig reads it. */
function inCluster(env: Record<string, string | undefined>): KubeAuth | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (host === undefined || host === '' || port === undefined || !existsSync(join(SA_DIR, 'token'))) return undefined;
  const h = isIPv6(host) ? `[${host}]` : host;
  const token = cachedFile(join(SA_DIR, 'token'));
  const ca = existsSync(join(SA_DIR, 'ca.crt')) ? readFileSync(join(SA_DIR, 'ca.crt')) : undefined;
  return staticAuth(`https://${h}:${port}`, { ...(ca !== undefined ? { ca } : {}) }, () => `Bearer ${token()}`);
}

/**
 * Auth through client-node's KubeConfig, for what this loader does not implement (exec plugins, auth providers,
 * proxies): imported on the first request only, and per request as client-node works.
 */
export function delegatedAuth(server: string, load: () => Promise<{ applySecurityAuthentication(ctx: unknown): Promise<void> }>): KubeAuth {
  let kc: Promise<{ applySecurityAuthentication(ctx: unknown): Promise<void> }> | undefined;
  return {
    server: server.replace(/\/+$/, ''),
    prepare: async (url, method) => {
      kc ??= load();
      const { RequestContext } = await import('@kubernetes/client-node');
      const ctx = new RequestContext(url, method as never);
      await (await kc).applySecurityAuthentication(ctx);
      return { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() };
    },
  };
}

/**
 * Credentials as kubectl finds them: `path`, else $KUBECONFIG / ~/.kube/config, else the in-cluster service account.
 * Throws KubeconfigError (naming the file and field) when none can be found or one is invalid.
 */
export function loadKubeAuth(path?: string, env: Record<string, string | undefined> = process.env): KubeAuth {
  const files = path !== undefined ? [path] : kubeconfigFiles(env);
  if (path !== undefined && !existsSync(path)) throw new KubeconfigError(`kubeconfig ${path} does not exist`);
  if (files.length === 0) {
    const sa = inCluster(env);
    if (sa !== undefined) return sa;
    throw new KubeconfigError(`no kubeconfig found: KUBECONFIG names no existing file, ~/.kube/config does not exist, and there is no in-cluster service account (${SA_DIR}/token)`);
  }
  const r = resolveKubeconfig(files);
  if (!r.delegated) return fromResolved(r);
  return delegatedAuth(r.cluster.server, async () => {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    if (path !== undefined) kc.loadFromFile(path);
    else kc.loadFromDefault();
    return kc;
  });
}
