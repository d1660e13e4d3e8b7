// The sharder's decisions (pure): which shards are alive, which key an object hashes on, and what to write on one
// object to bring it to its desired owner without ever giving it two owners at once.
import type { KubeObject } from '../../kube/client.ts';
import type { LeaseObject } from '../leader.ts';

/** On Rollouts, Applications and AnalysisRuns: the id of the shard that acts on the object. */
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

/**
 * The key an object hashes on. An AnalysisRun a Rollout controls goes with its Rollout (same key, same owner);
 * anything else hashes on its own namespace/name.
 */
export function hashKey(obj: KubeObject): string {
  const m = obj.metadata;
  const ctl = m?.ownerReferences?.find((r) => r.controller === true && r.kind === 'Rollout' && r.apiVersion.startsWith('sluice.dev/'));
  return `${m?.namespace ?? ''}/${ctl?.name ?? m?.name ?? ''}`;
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
