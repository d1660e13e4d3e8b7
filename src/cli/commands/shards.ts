// `kubectl sluice shards`: the ring of a sharded install (--shards=auto), as the apiserver shows it: the members
// from their membership Leases (state, last renewal, which one leads and runs the sharder) and how many Rollouts,
// Applications and AnalysisRuns each owns, counted from the owner labels. The per-replica metrics (moves, reconcile
// latency) live on each replica's /metrics; this verb reads only what every replica writes to the apiserver.
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { R, type ResourceType } from '../../kube/resource.ts';
import type { LeaseObject } from '../../runtime/leader.ts';
import { DRAIN_LABEL, memberState, OWNER_LABEL, RING_LABEL, type MemberState } from '../../runtime/sharding/decide.ts';
import { parseCommandArgs, positionalArgs } from '../args.ts';
import { ExitCode, type Command } from '../command.ts';
import { age, render, table } from '../output.ts';

const KINDS = [
  { key: 'rollouts', resource: R.rollout },
  { key: 'applications', resource: R.application },
  { key: 'analysisruns', resource: R.analysisRun },
] as const;
type KindKey = (typeof KINDS)[number]['key'];
const PAGE = 500;

export interface ShardRow {
  shard: string;
  /** ready, expired, dead (see decide.ts), or 'unknown': objects name a shard with no Lease (a hand edit, a deleted Lease). */
  state: MemberState | 'unknown';
  leader: boolean;
  renewTime?: string;
  owned: Record<KindKey, number>;
  /** Objects the sharder asked this shard to give up, not yet acknowledged. */
  draining: number;
}

export interface RingView {
  ring: string;
  leader?: string;
  shards: ShardRow[];
  /** Objects with no owner label yet: new, or released by a drain and not yet reassigned. */
  unassigned: Record<KindKey, number>;
}

/** One object's labels, as counted. */
export interface Labelled {
  kind: KindKey;
  labels?: Record<string, string>;
}

const zero = (): Record<KindKey, number> => ({ rollouts: 0, applications: 0, analysisruns: 0 });

/** The ring from its Leases and the objects' labels. Pure. */
export function ringView(ring: string, leases: readonly LeaseObject[], leader: string | undefined, objects: Iterable<Labelled>, nowMs: number): RingView {
  const rows = new Map<string, ShardRow>();
  for (const l of leases) {
    const { id, state } = memberState(l, nowMs);
    rows.set(id, { shard: id, state, leader: id === leader, ...(l.spec?.renewTime !== undefined ? { renewTime: l.spec.renewTime } : {}), owned: zero(), draining: 0 });
  }
  const unassigned = zero();
  for (const o of objects) {
    const owner = o.labels?.[OWNER_LABEL];
    if (owner === undefined || owner === '') {
      unassigned[o.kind]++;
      continue;
    }
    let row = rows.get(owner);
    if (row === undefined) rows.set(owner, (row = { shard: owner, state: 'unknown', leader: owner === leader, owned: zero(), draining: 0 }));
    row.owned[o.kind]++;
    if (o.labels?.[DRAIN_LABEL] !== undefined) row.draining++;
  }
  return { ring, ...(leader !== undefined && leader !== '' ? { leader } : {}), shards: [...rows.values()].sort((a, b) => a.shard.localeCompare(b.shard)), unassigned };
}

/** Every object of a kind carrying (or lacking) the owner label, page by page; only the labels are kept. */
async function labelsOf(client: KubeClient, kind: KindKey, resource: ResourceType, labelSelector: string, signal: AbortSignal): Promise<Labelled[]> {
  const out: Labelled[] = [];
  let cont: string | undefined;
  do {
    const page = await client.list<KubeObject>(resource, undefined, { labelSelector, limit: PAGE, ...(cont !== undefined ? { continue: cont } : {}) }, signal);
    for (const o of page.items) out.push({ kind, ...(o.metadata?.labels !== undefined ? { labels: o.metadata.labels } : {}) });
    cont = page.metadata.continue === '' ? undefined : page.metadata.continue;
  } while (cont !== undefined);
  return out;
}

export const shards: Command = {
  name: 'shards',
  summary: 'Show the shard ring of a sharded operator (--shards=auto)',
  usage: `Show the live members of the shard ring (from their membership Leases in the operator's namespace: -n) and
how many Rollouts, Applications and AnalysisRuns each owns, counted from the owner labels across all namespaces.
Moves and reconcile latency are per-replica metrics (sluice_sharder_moves_total, sluice_shard_owned_objects,
sluice_reconcile_duration_seconds) on each replica's /metrics.

Usage:
  kubectl sluice shards -n <operator-namespace> [--ring=<leader-election-id>] [-o table|json|yaml]

Flags:
  --ring   the ring's name: the operator's --leader-election-id (default sluice-leader)
`,
  async run(ctx, argv) {
    const { values, positionals } = parseCommandArgs(argv, { ring: { type: 'string' } });
    positionalArgs(positionals, []);
    const ring = values.ring ?? 'sluice-leader';
    const client = ctx.client();
    const leases = (await client.list<LeaseObject>(R.lease, ctx.namespace, { labelSelector: `${RING_LABEL}=${ring}` }, ctx.signal)).items;
    let leader: string | undefined;
    try {
      leader = (await client.get<LeaseObject>(R.lease, ctx.namespace, ring)).spec?.holderIdentity;
    } catch (err) {
      if (!isNotFound(err)) throw err; // no leader Lease (yet): the ring is shown without one
    }
    const objects = (await Promise.all(KINDS.flatMap(({ key, resource }) => [labelsOf(client, key, resource, OWNER_LABEL, ctx.signal), labelsOf(client, key, resource, `!${OWNER_LABEL}`, ctx.signal)]))).flat();
    const view = ringView(ring, leases, leader, objects, Date.now());
    if (ctx.output !== 'table') {
      ctx.out.write(render(ctx.output, view));
      return ExitCode.ok;
    }
    if (view.shards.length === 0) {
      ctx.err.write(`no shard Leases of ring "${ring}" in namespace ${ctx.namespace} (is the operator running with --shards=auto? -n names its namespace)\n`);
      return ExitCode.failed;
    }
    const now = Date.now();
    ctx.out.write(table(
      ['shard', 'state', 'leader', 'renewed', 'rollouts', 'applications', 'analysisruns', 'draining'],
      view.shards.map((s) => [s.shard, s.state, s.leader ? '*' : '', s.renewTime === undefined ? '-' : `${age(s.renewTime, now)} ago`, String(s.owned.rollouts), String(s.owned.applications), String(s.owned.analysisruns), String(s.draining)]),
    ));
    const u = view.unassigned;
    if (u.rollouts + u.applications + u.analysisruns > 0) ctx.out.write(`unassigned: ${u.rollouts} rollouts, ${u.applications} applications, ${u.analysisruns} analysisruns\n`);
    return ExitCode.ok;
  },
};
