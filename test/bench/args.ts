// `npm run bench` flags, validated with zod: which scenarios, how many objects, which controllers.
import { z } from 'zod';

export const SCENARIOS = ['rollouts', 'istio', 'gitops'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export const CONTROLLERS = ['sluice', 'argo-rollouts'] as const;

export const BenchArgsSchema = z.object({
  /** Rollout scenarios: replica-ratio canaries (`rollouts`) and Istio canaries (`istio`); `gitops`: app sync. */
  scenarios: z.array(z.enum(SCENARIOS)).min(1),
  /** How many Rollouts per rollout scenario. */
  n: z.int().min(1).max(20_000),
  /** Pods per Rollout: 4 makes every step of [20%, pause, 50%, pause] a distinct ReplicaSet scale (1, 2, 4). */
  replicas: z.int().min(1).max(100),
  /** Image updates after the first (the first is the measured one); memory growth is read after the last. */
  cycles: z.int().min(1).max(50),
  /** Objects per GitOps app. */
  appSizes: z.array(z.int().min(1).max(20_000)).min(1),
  /** Which rollout controllers to run; `argo-rollouts` builds the peer from its Go module when first asked. */
  controllers: z.array(z.enum(CONTROLLERS)).min(1),
  /** Where bench.json and bench.md go. */
  out: z.string().min(1),
});
export type BenchArgs = z.infer<typeof BenchArgsSchema>;

export const DEFAULTS: BenchArgs = {
  scenarios: ['rollouts', 'istio', 'gitops'],
  n: 100,
  replicas: 4,
  cycles: 3,
  appSizes: [100, 1000],
  controllers: ['sluice', 'argo-rollouts'],
  out: 'test-results/bench',
};

export const USAGE = `usage: npm run bench -- [flags]

  --scenario=rollouts,istio,gitops   scenarios to run (default: all three)
  --n=100                            Rollouts per rollout scenario (default 100)
  --replicas=4                       pods per Rollout (default 4)
  --cycles=3                         image updates per rollout scenario; memory growth is read after the last
  --app-sizes=100,1000               objects per GitOps app (default 100,1000)
  --controllers=sluice,argo-rollouts rollout controllers to compare (default both)
  --quick                            N=10, 2 cycles, app size 100: a smoke run in about two minutes
  --full                             app sizes 100,1000,5000
  --out=test-results/bench           where bench.json and bench.md are written
`;

export class ArgsError extends Error {
  override readonly name = 'ArgsError';
}

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '');
const ints = (v: string): number[] => list(v).map(Number);

/** Parses `--flag=value` / `--flag value`; later flags win over --quick/--full presets. */
export function parseArgs(argv: string[]): BenchArgs {
  const raw: Record<string, unknown> = { ...DEFAULTS };
  const given: [string, string | undefined][] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i] ?? '');
    if (m === null) throw new ArgsError(`unexpected argument "${argv[i] ?? ''}"\n\n${USAGE}`);
    const flag = m[1] ?? '';
    if (flag === 'quick' || flag === 'full' || flag === 'help') {
      given.unshift([flag, undefined]);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new ArgsError(`flag --${flag} needs a value`);
    given.push([flag, value]);
  }
  for (const [flag, value] of given) {
    switch (flag) {
      case 'help':
        throw new ArgsError(USAGE);
      case 'quick':
        Object.assign(raw, { n: 10, cycles: 2, appSizes: [100] });
        break;
      case 'full':
        raw.appSizes = [100, 1000, 5000];
        break;
      case 'scenario':
      case 'scenarios':
        raw.scenarios = list(value ?? '');
        break;
      case 'n':
      case 'replicas':
      case 'cycles':
        raw[flag] = Number(value);
        break;
      case 'app-sizes':
        raw.appSizes = ints(value ?? '');
        break;
      case 'controllers':
        raw.controllers = list(value ?? '');
        break;
      case 'out':
        raw.out = value;
        break;
      default:
        throw new ArgsError(`unknown flag --${flag}\n\n${USAGE}`);
    }
  }
  const parsed = BenchArgsSchema.safeParse(raw);
  if (!parsed.success) {
    const flagOf: Record<string, string> = { scenarios: '--scenario', appSizes: '--app-sizes', n: '--n' };
    throw new ArgsError(parsed.error.issues.map((i) => `${flagOf[String(i.path[0])] ?? `--${String(i.path[0])}`}: ${i.message}`).join('; '));
  }
  return parsed.data;
}
