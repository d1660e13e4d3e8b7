// With sharding, a replica watches only the ReplicaSets, AnalysisRuns, Services and Deployments labelled with its
// shard. This is the Rollout controller's half of that: when a Rollout arrives in this shard, its ReplicaSets are
// labelled (and its AnalysisRuns, which the sharder moves with it, awaited) before the first decision; a Service or
// workloadRef Deployment it names is taken when first read. Without sharding every call is a plain cache read.
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import type { Cache } from '../runtime/manager.ts';
import { adoptChildren, takeReferenced, waitCached } from '../runtime/sharding/adopt.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';
import { ROLLOUT_LABEL, STEP_INDEX_LABEL } from './analysis.ts';
import { POD_TEMPLATE_HASH_LABEL } from './hash.ts';

type RolloutLike = KubeObject & { spec?: { selector?: { matchLabels?: Record<string, string> } } };

export interface RolloutChildrenOptions {
  client: KubeClient;
  /** This replica's shard; undefined without sharding. */
  shard: string | undefined;
  rollouts: Cache<KubeObject>;
  replicaSets: Cache<KubeObject>;
  runs: Cache<KubeObject>;
}

const controlledBy = (uid: string) => (o: KubeObject): boolean => (o.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);

export class RolloutChildren {
  private readonly o: RolloutChildrenOptions;
  /** Rollouts (uid) whose children this shard has taken since they arrived; forgotten when they leave the cache. */
  private readonly taken = new Set<string>();
  /** Taken Rollouts one of whose ReplicaSets left our cache since: their ReplicaSets are listed again. */
  private readonly recheck = new Set<string>();

  constructor(opts: RolloutChildrenOptions) {
    this.o = opts;
    opts.rollouts.on((ev, obj) => {
      if (ev !== 'delete') return;
      this.taken.delete(obj.metadata?.uid ?? '');
      this.recheck.delete(obj.metadata?.uid ?? '');
    });
    // A ReplicaSet leaving our cache was deleted, or its label was edited away: the Rollout's next reconcile lists
    // its ReplicaSets again and takes back any that still exist (the owner enqueues it).
    opts.replicaSets.on((ev, obj) => {
      if (ev !== 'delete') return;
      for (const r of obj.metadata?.ownerReferences ?? []) if (r.controller === true && this.taken.has(r.uid)) this.recheck.add(r.uid);
    });
  }

  /**
   * Before the first decision on a Rollout this shard just received: its ReplicaSets carry our label and are in our
   * cache, and so are its AnalysisRuns. False while the sharder is still moving a run (the caller requeues).
   */
  async takeOver(raw: RolloutLike, signal?: AbortSignal): Promise<boolean> {
    const { client, shard } = this.o;
    const uid = raw.metadata?.uid ?? '';
    const arrived = !this.taken.has(uid);
    if (shard === undefined || (!arrived && !this.recheck.has(uid))) return true;
    const ns = raw.metadata?.namespace;
    // Objects being deleted are nobody's to take: they leave every cache on their own.
    const live = (o: KubeObject): boolean => controlledBy(uid)(o) && o.metadata?.deletionTimestamp === undefined;
    if (arrived) {
      const runs = (await client.list<KubeObject>(R.analysisRun, ns, { labelSelector: `${ROLLOUT_LABEL}=${raw.metadata?.name ?? ''},${STEP_INDEX_LABEL}` })).items.filter(live);
      if (runs.some((r) => r.metadata?.labels?.[OWNER_LABEL] !== shard)) return false;
      await waitCached(this.o.runs, runs, signal);
    }
    const match = Object.entries(raw.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
    const sets = (await client.list<KubeObject>(R.replicaSet, ns, { labelSelector: [POD_TEMPLATE_HASH_LABEL, ...match].join(',') })).items.filter(live);
    await adoptChildren(client, shard, this.o.replicaSets, sets, signal);
    this.taken.add(uid);
    this.recheck.delete(uid);
    return true;
  }

  /** A Service or Deployment the Rollout names: from the cache, else read live (and taken, see takeReferenced). */
  async referenced<T extends KubeObject>(cache: Cache<T>, namespace: string | undefined, name: string | undefined, rollout: string): Promise<T | undefined> {
    if (name === undefined) return undefined;
    const { client, shard } = this.o;
    if (shard === undefined) return cache.get(namespace, name);
    return takeReferenced(client, shard, cache, namespace, name, `Rollout/${rollout}`);
  }
}
