import { hostname } from 'node:os';
import { z } from 'zod';

/** Operator settings: flags win over SLUICE_* environment variables, which win over defaults. */
export const ConfigSchema = z.object({
  kubeconfig: z.string().min(1).optional(),
  namespaces: z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label')).default([]),
  // Well above client-go's old 5/10 and Argo's 40/80: the apiserver's priority and fairness is the real guard (SIG API
  // Machinery's advice; controller-runtime dropped its client-side default), this bucket only damps a relist storm.
  qps: z.number().positive().default(200),
  burst: z.int().min(1).default(400),
  workers: z.int().min(1).max(64).default(4),
  // Rollout reconciles mostly wait on the apiserver (a status write, a scale): many run at once cheaply.
  rolloutWorkers: z.int().min(1).max(256).default(16),
  metricsAddr: z
    .string()
    .regex(/^[^:]+:\d{1,5}$/, 'must be HOST:PORT')
    .default('127.0.0.1:8080'),
  leaderElect: z.boolean().default(false),
  leaderElectionNamespace: z.string().min(1).default('default'),
  leaderElectionId: z.string().min(1).default('sluice-leader'),
  /** Fleet mode: remote clusters (Argo CD's cluster Secrets) are read from this namespace, ApplicationSets run; off unless set. */
  clusterSecretNamespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label').optional(),
  // controller-runtime's defaults and flag names; shorter leases fail over faster at the cost of more Lease writes.
  leaderElectionLeaseDuration: z.number().positive().default(15),
  leaderElectionRenewDeadline: z.number().positive().default(10),
  leaderElectionRetryPeriod: z.number().positive().default(2),
  // 'auto': every replica acts on its share of the objects (src/runtime/sharding); 'off': one leader does all.
  shards: z.enum(['off', 'auto'], { error: 'must be "auto" or "off"' }).default('off'),
  identity: z.string().min(1).default(`${hostname()}-${process.pid}`),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  prometheusAddress: z.url({ protocol: /^https?$/ }).optional(),
  /** The web dashboard (src/dashboard) in-cluster mode; off unless set. */
  dashboardAddr: z
    .string()
    .regex(/^[^:]+:\d{1,5}$/, 'must be HOST:PORT')
    .optional(),
  dashboardReadOnly: z.boolean().default(false),
  /** Secure on the session cookie: on behind TLS (the chart's ingress); off only for plain-HTTP local tests. */
  dashboardSecureCookie: z.boolean().default(true),
  // Git sources (src/gitops/source/git.ts): a deadline per ls-remote or fetch, so a hung or trickling server cannot
  // hold a worker; and size limits, so a huge repository is refused with a condition instead of exhausting memory.
  gitTimeout: z.number().positive().default(60),
  gitMaxFetchBytes: z.int().positive().default(64 * 1024 * 1024),
  gitMaxFiles: z.int().positive().default(5000),
  gitMaxTreeBytes: z.int().positive().default(32 * 1024 * 1024),
}).superRefine((c, ctx) => {
  // A leader must renew before its lease lapses, and retry more than once before it gives up.
  if (c.leaderElectionRenewDeadline >= c.leaderElectionLeaseDuration) ctx.addIssue({ code: 'custom', path: ['leaderElectionRenewDeadline'], message: `must be less than the lease duration (${c.leaderElectionLeaseDuration} s)` });
  // A shard id is a label value and part of a Lease name.
  if (c.shards === 'auto' && !/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(c.identity)) ctx.addIssue({ code: 'custom', path: ['identity'], message: 'must be a lowercase DNS-1123 name of at most 63 characters with --shards=auto (it becomes a label value and part of a Lease name)' });
  if (c.leaderElectionRetryPeriod >= c.leaderElectionRenewDeadline) ctx.addIssue({ code: 'custom', path: ['leaderElectionRetryPeriod'], message: `must be less than the renew deadline (${c.leaderElectionRenewDeadline} s)` });
});

export type Config = z.infer<typeof ConfigSchema>;

interface Setting {
  key: keyof Config;
  flag: string;
  env: string;
  kind: 'string' | 'number' | 'boolean' | 'list';
  help: string;
}

export const SETTINGS: Setting[] = [
  { key: 'kubeconfig', flag: 'kubeconfig', env: 'SLUICE_KUBECONFIG', kind: 'string', help: 'kubeconfig file (default: as kubectl: $KUBECONFIG, ~/.kube/config, then in-cluster)' },
  { key: 'namespaces', flag: 'namespace', env: 'SLUICE_NAMESPACES', kind: 'list', help: 'namespaces to watch, comma-separated (default: all)' },
  { key: 'qps', flag: 'qps', env: 'SLUICE_QPS', kind: 'number', help: 'apiserver requests per second (default 200)' },
  { key: 'burst', flag: 'burst', env: 'SLUICE_BURST', kind: 'number', help: 'apiserver request burst (default 400)' },
  { key: 'workers', flag: 'workers', env: 'SLUICE_WORKERS', kind: 'number', help: 'concurrent reconciles of the Application and AnalysisRun controllers (default 4)' },
  { key: 'rolloutWorkers', flag: 'rollout-workers', env: 'SLUICE_ROLLOUT_WORKERS', kind: 'number', help: 'concurrent Rollout reconciles (default 16)' },
  { key: 'metricsAddr', flag: 'metrics-addr', env: 'SLUICE_METRICS_ADDR', kind: 'string', help: 'address of /metrics, /healthz, /readyz (default 127.0.0.1:8080)' },
  { key: 'leaderElect', flag: 'leader-elect', env: 'SLUICE_LEADER_ELECT', kind: 'boolean', help: 'elect a leader among replicas through a Lease' },
  { key: 'leaderElectionNamespace', flag: 'leader-election-namespace', env: 'SLUICE_LEADER_ELECTION_NAMESPACE', kind: 'string', help: 'namespace of the Lease (default "default"; the chart sets its own)' },
  { key: 'clusterSecretNamespace', flag: 'cluster-secret-namespace', env: 'SLUICE_CLUSTER_SECRET_NAMESPACE', kind: 'string', help: 'fleet mode: remote clusters from the cluster Secrets of this namespace, and ApplicationSets (default: off)' },
  { key: 'leaderElectionId', flag: 'leader-election-id', env: 'SLUICE_LEADER_ELECTION_ID', kind: 'string', help: 'name of the Lease (default sluice-leader)' },
  { key: 'leaderElectionLeaseDuration', flag: 'leader-election-lease-duration', env: 'SLUICE_LEADER_ELECTION_LEASE_DURATION', kind: 'number', help: 'seconds a standby waits before taking an unrenewed lease (default 15)' },
  { key: 'leaderElectionRenewDeadline', flag: 'leader-election-renew-deadline', env: 'SLUICE_LEADER_ELECTION_RENEW_DEADLINE', kind: 'number', help: 'seconds the leader keeps trying to renew before it gives up and exits (default 10)' },
  { key: 'leaderElectionRetryPeriod', flag: 'leader-election-retry-period', env: 'SLUICE_LEADER_ELECTION_RETRY_PERIOD', kind: 'number', help: 'seconds between lease attempts (default 2)' },
  { key: 'shards', flag: 'shards', env: 'SLUICE_SHARDS', kind: 'string', help: 'auto: every replica works on its share of Rollouts and Applications (membership Leases, a hash ring); off: one leader (default off)' },
  { key: 'identity', flag: 'identity', env: 'POD_NAME', kind: 'string', help: 'this replica\'s identity in the Lease (default host-pid)' },
  { key: 'prometheusAddress', flag: 'prometheus-address', env: 'SLUICE_PROMETHEUS_ADDRESS', kind: 'string', help: 'Prometheus URL for builtin analysis checks that name none' },
  { key: 'dashboardAddr', flag: 'dashboard-addr', env: 'SLUICE_DASHBOARD_ADDR', kind: 'string', help: 'serve the web dashboard here, HOST:PORT (default: off); viewers sign in with their own Kubernetes token' },
  { key: 'dashboardReadOnly', flag: 'dashboard-read-only', env: 'SLUICE_DASHBOARD_READ_ONLY', kind: 'boolean', help: 'the dashboard refuses every action (promote, abort, sync, ...)' },
  { key: 'dashboardSecureCookie', flag: 'dashboard-secure-cookie', env: 'SLUICE_DASHBOARD_SECURE_COOKIE', kind: 'boolean', help: 'mark the dashboard session cookie Secure (default true: serve it behind TLS)' },
  { key: 'gitTimeout', flag: 'git-timeout', env: 'SLUICE_GIT_TIMEOUT', kind: 'number', help: 'seconds one Git ls-remote or fetch may take before the Application gets a ComparisonError (default 60)' },
  { key: 'gitMaxFetchBytes', flag: 'git-max-fetch-bytes', env: 'SLUICE_GIT_MAX_FETCH_BYTES', kind: 'number', help: 'bytes one Git fetch may download (default 67108864; a fetch holds about 3.5 times this in memory)' },
  { key: 'gitMaxFiles', flag: 'git-max-files', env: 'SLUICE_GIT_MAX_FILES', kind: 'number', help: 'files an Application\'s source path may hold (default 5000)' },
  { key: 'gitMaxTreeBytes', flag: 'git-max-tree-bytes', env: 'SLUICE_GIT_MAX_TREE_BYTES', kind: 'number', help: 'bytes of files an Application\'s source path may hold (default 33554432)' },
  { key: 'logLevel', flag: 'log-level', env: 'SLUICE_LOG_LEVEL', kind: 'string', help: 'fatal|error|warn|info|debug|trace (default info)' },
];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function convert(s: Setting, raw: string, source: string): unknown {
  switch (s.kind) {
    case 'string':
      return raw;
    case 'list':
      return raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${source}: "${raw}" is not a number`);
      return n;
    }
    case 'boolean':
      if (/^(true|1|yes)$/i.test(raw)) return true;
      if (/^(false|0|no)$/i.test(raw)) return false;
      throw new ConfigError(`${source}: "${raw}" is not true or false`);
  }
}

/** Parses flags (`--name=value`, `--name value`, bare `--flag` for booleans) over the environment. */
export function loadConfig(argv: string[], env: Record<string, string | undefined>): Config {
  const raw: Record<string, unknown> = {};
  const sourceOf: Record<string, string> = {};
  for (const s of SETTINGS) {
    const v = env[s.env];
    if (v !== undefined && v !== '') {
      raw[s.key] = convert(s, v, `environment variable ${s.env}`);
      sourceOf[s.key] = `environment variable ${s.env}`;
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (m === null) throw new ConfigError(`unexpected argument "${arg}" (see --help)`);
    const s = SETTINGS.find((x) => x.flag === m[1]);
    if (s === undefined) throw new ConfigError(`unknown flag --${m[1]} (see --help)`);
    let value = m[2];
    if (value === undefined) {
      if (s.kind === 'boolean') value = 'true';
      else {
        value = argv[++i];
        if (value === undefined) throw new ConfigError(`flag --${s.flag} needs a value`);
      }
    }
    raw[s.key] = convert(s, value, `flag --${s.flag}`);
    sourceOf[s.key] = `flag --${s.flag}`;
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const msgs = parsed.error.issues.map((iss) => {
      const key = String(iss.path[0] ?? '');
      return `${sourceOf[key] ?? key}: ${iss.message}`;
    });
    throw new ConfigError(msgs.join('; '));
  }
  return parsed.data;
}

export function usage(): string {
  const lines = SETTINGS.map((s) => `  --${s.flag}${s.kind === 'boolean' ? '' : '=VALUE'}`.padEnd(36) + `${s.help}  [$${s.env}]`);
  return `usage: sluice [flags]\n\nRuns the Sluice operator (Rollouts, AnalysisRuns, Applications).\n\n${lines.join('\n')}\n  --help                            this text\n`;
}
