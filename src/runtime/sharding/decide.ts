// The sharder's decisions (pure): which shards are alive, which key an object hashes on, and what to write on one
// object to bring it to its desired owner without ever giving it two owners at once.
import type { KubeObject } from '../../kube/client.ts';
import type { LeaseObject } from '../leader.ts';
import { assign, type Ring } from './ring.ts';

/** On Rollouts, Applications, Experiments and AnalysisRuns: the id of the shard that acts on the object. */
export const OWNER_LABEL = 'shard.sluice.dev/owner';
/** Set by the sharder to take an object from its owner; the owner acknowledges by removing it and the owner label. */
export const DRAIN_LABEL = 'shard.sluice.dev/drain';
/**
 * The owner the sharder last wrote. Only an owner label that matches it counts as today's assignment (which the
 * ring keeps where it can); a label someone edited by hand does not, so the object is moved back.
 */
export const ASSIGNED_ANNOTATION = 'shard.sluice.dev/assigned';
/** On membership Leases: the ring they belong to. */
export const RING_LABEL = 'shard.sluice.dev/ring';
export const LEASE_PREFIX = 'sluice-shard-';
/** The holder the sharder writes into a Lease it takes from a shard that stopped renewing. */
export const SHARDER_HOLDER = 'sluice-sharder';

/** The selector of the objects a shard acts on: its own, minus those being drained from it. */
export const ownSelector = (id: string): string => `${OWNER_LABEL}=${id},!${DRAIN_LABEL}`;
/**
 * The selector of the objects a shard's owned objects own or use (ReplicaSets, a Rollout's Services): they carry the
 * owner label too, written by the owner itself (at creation, or when it takes an object over), never by the sharder.
 */
export const childSelector = (id: string): string => `${OWNER_LABEL}=${id}`;
/** On a child an owner labelled but did not create (a Service, a workloadRef Deployment): the object it serves. */
export const PARENT_ANNOTATION = 'shard.sluice.dev/parent';
/** The selector of a shard's objects the sharder asked it to give up. */
export const drainSelector = (id: string): string => `${OWNER_LABEL}=${id},${DRAIN_LABEL}`;
export const leaseName = (id: string): string => `${LEASE_PREFIX}${id}`;

/**
 * ready: held by its shard and renewed within its duration. expired: held by its shard, not renewed in time (the
 * shard has fenced itself by now: it stops before its renew deadline, which is shorter). dead: released at shutdown,
 * or taken by the sharder; its shard can no longer renew it, so its objects may move without a drain.
 */
export type MemberState = 'ready' | 'expired' | 'dead';

export function memberState(lease: LeaseObject, nowMs: number): { id: string; state: MemberState } {
  const name = lease.metadata?.name ?? '';
  const id = name.startsWith(LEASE_PREFIX) ? name.slice(LEASE_PREFIX.length) : name;
  const spec = lease.spec ?? {};
  if (spec.holderIdentity !== id) return { id, state: 'dead' };
  const renewed = Date.parse(spec.renewTime ?? '');
  const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
  // A Lease's own semantics (renewTime + leaseDurationSeconds), as the kubelet's node leases: clocks are NTP-synced.
  if (!Number.isFinite(renewed) || nowMs > renewed + durationMs) return { id, state: 'expired' };
  return { id, state: 'ready' };
}

/** Controllers whose objects go with them: what a Rollout or an Experiment controls is acted on where it is. */
const FOLLOWED_KINDS: ReadonlySet<string> = new Set(['Rollout', 'Experiment']);
/** Bounds the walk up the controller chain (Run → Experiment → Rollout is 2): a hand-made cycle ends there. */
const MAX_CHAIN = 4;

/** The sharded objects the sharder knows, by kind: how hashKey reads a controller's own controller. */
export type ParentLookup = (kind: string, namespace: string | undefined, name: string) => KubeObject | undefined;

/**
 * The key an object hashes on: that of the Rollout or Experiment controlling it, followed up the chain, so an
 * AnalysisRun a Rollout controls, a Rollout's Experiment and that Experiment's AnalysisRuns all share the Rollout's
 * key (one owner), and a standalone Experiment's runs share the Experiment's. Anything else hashes on its own
 * namespace/name. Undefined while an Experiment on the chain is not known (its runs are left where they are rather
 * than placed on a key that may change once it is seen; a run whose Experiment is gone waits for the GC).
 */
export function hashKey(obj: KubeObject, parent: ParentLookup): string | undefined {
  let cur = obj;
  for (let depth = 0; ; depth++) {
    const m = cur.metadata;
    const ctl = m?.ownerReferences?.find((r) => r.controller === true && FOLLOWED_KINDS.has(r.kind) && r.apiVersion.startsWith('sluice.dev/'));
    if (ctl === undefined || depth === MAX_CHAIN) return `${m?.namespace ?? ''}/${m?.name ?? ''}`;
    // A Rollout is where a chain ends: nothing of ours controls one, so its key is its name without a look-up.
    if (ctl.kind === 'Rollout') return `${m?.namespace ?? ''}/${ctl.name}`;
    const next = parent(ctl.kind, m?.namespace, ctl.name);
    if (next === undefined) return undefined;
    cur = next;
  }
}

/** Whether the object is the one its key is named after (a Rollout, an Application, a standalone Experiment). */
export const isKeyRoot = (obj: KubeObject, key: string): boolean => key === `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

/**
 * Each key's desired owner over the ready shards (`ring`). Today's owners (as the sharder wrote them) make it sticky:
 * only what must move moves. The object a key is named after decides before those that go with it (a Rollout before
 * its Experiments and runs), so a child placed elsewhere (by an older hashKey, or by hand) moves to its parent, never
 * the parent to the child; among equals, the first in `objects` decides.
 */
export function desiredOwners(objects: readonly { obj: KubeObject; key: string }[], ring: Ring): Map<string, string> {
  const owners = new Map<string, string>();
  const leaving = new Map<string, string>();
  const rootsFirst = [...objects].sort((a, b) => Number(!isKeyRoot(a.obj, a.key)) - Number(!isKeyRoot(b.obj, b.key)));
  for (const { obj, key } of rootsFirst) {
    const owner = obj.metadata?.labels?.[OWNER_LABEL];
    if (owner === undefined || owners.has(key) || leaving.has(key)) continue;
    if (obj.metadata?.labels?.[DRAIN_LABEL] !== undefined) leaving.set(key, owner);
    else if (obj.metadata?.annotations?.[ASSIGNED_ANNOTATION] === owner) owners.set(key, owner);
  }
  return assign(
    objects.map(({ key }) => key),
    ring,
    undefined,
    { owners, leaving },
  );
}

export type ObjectAction =
  | { kind: 'none' }
  /** Write the owner label (and clear any drain label): nobody live acts on the object now. */
  | { kind: 'assign'; to: string; from?: string }
  /** Ask the live owner to let go; the move finishes after it acknowledges (or its Lease dies). */
  | { kind: 'drain'; from: string };

/**
 * One object's next step. `live` are the ready shards: an owner outside it (dead, unknown, or a label someone typed
 * by hand naming no shard) is not acting, so the object is assigned at once. A live owner that is not the desired
 * one is drained first, never relabelled directly: that is what keeps two replicas off one object.
 */
export function decideObject(labels: Record<string, string> | undefined, desired: string | undefined, live: ReadonlySet<string>): ObjectAction {
  const owner = labels?.[OWNER_LABEL];
  const draining = labels?.[DRAIN_LABEL] !== undefined;
  if (desired === undefined) return { kind: 'none' }; // no live shard: leave it where it is until one appears
  if (owner === undefined || owner === '' || !live.has(owner)) return { kind: 'assign', to: desired, ...(owner ? { from: owner } : {}) };
  if (owner === desired) {
    // A drain the ring no longer wants (the shard came back before acknowledging) is not cancelled here: the owner
    // may already be letting go, so the handshake runs to its end and the object comes straight back.
    return { kind: 'none' };
  }
  return draining ? { kind: 'none' } : { kind: 'drain', from: owner };
}
