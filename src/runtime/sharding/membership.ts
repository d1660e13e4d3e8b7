import type { KubeClient } from '../../kube/client.ts';
import { isConflict, isNotFound } from '../../kube/errors.ts';
import { R } from '../../kube/resource.ts';
import type { Logger } from '../../log/logger.ts';
import { microTime, type LeaseObject } from '../leader.ts';
import { sleep } from '../sleep.ts';
import { leaseName, RING_LABEL, SHARDER_HOLDER } from './decide.ts';

export interface MembershipOptions {
  client: KubeClient;
  namespace: string;
  id: string;
  ring: string;
  log: Logger;
  leaseDurationMs: number;
  /** Stop acting when no renewal succeeded for this long: shorter than the lease, so we stop before anyone takes over. */
  renewDeadlineMs: number;
  retryPeriodMs: number;
  now?: () => number;
}

/** Thrown when our Lease is held by someone else (the sharder took it after it expired): we must not act. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

/**
 * This replica's membership in the ring: a Lease `sluice-shard-<id>` it creates and renews. `run` resolves 'fenced'
 * once a renewal has not succeeded within the renew deadline, or the Lease was taken over; the caller then stops
 * every reconcile at once and exits, before the lease expires and the sharder hands its objects to others.
 */
export class ShardMembership {
  private readonly o: MembershipOptions & { now: () => number };
  private lastRenewMs = 0;
  private held = false;

  constructor(opts: MembershipOptions) {
    this.o = { now: () => performance.now(), ...opts };
  }

  get name(): string {
    return leaseName(this.o.id);
  }

  /** True while the last successful renewal is within the renew deadline: the guard for acting at all. */
  get valid(): boolean {
    return this.held && this.o.now() - this.lastRenewMs <= this.o.renewDeadlineMs;
  }

  private spec(wallMs: number, prev?: LeaseObject['spec']): NonNullable<LeaseObject['spec']> {
    const stamp = microTime(wallMs);
    return {
      holderIdentity: this.o.id,
      leaseDurationSeconds: Math.max(1, Math.round(this.o.leaseDurationMs / 1000)),
      acquireTime: prev?.holderIdentity === this.o.id && prev.acquireTime !== undefined ? prev.acquireTime : stamp,
      renewTime: stamp,
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (prev?.holderIdentity === this.o.id ? 0 : 1),
    };
  }

  /**
   * One create-or-renew. A Lease another holder has (the sharder declared us dead) is never taken back: our objects
   * may already act elsewhere, so this process is fenced for good.
   */
  async renew(first: boolean): Promise<void> {
    const { client, namespace } = this.o;
    const started = this.o.now();
    let lease: LeaseObject;
    try {
      lease = await client.get<LeaseObject>(R.lease, namespace, this.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      if (!first) throw new FencedError(`lease ${namespace}/${this.name} was deleted while we held it`);
      await client.create<LeaseObject>(R.lease, { metadata: { name: this.name, namespace, labels: { [RING_LABEL]: this.o.ring } }, spec: this.spec(Date.now()) });
      this.lastRenewMs = started;
      this.held = true;
      return;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    // At start-up a Lease released by our own earlier life, or taken by the sharder once it died, is ours to take.
    if (holder !== this.o.id && !(first && (holder === '' || holder === SHARDER_HOLDER))) throw new FencedError(`lease ${namespace}/${this.name} is held by "${holder}"`);
    try {
      await client.replace<LeaseObject>(R.lease, { ...lease, metadata: { ...lease.metadata, labels: { ...lease.metadata?.labels, [RING_LABEL]: this.o.ring } }, spec: this.spec(Date.now(), lease.spec) });
    } catch (err) {
      // Someone wrote between our read and write: only the sharder does, taking the Lease over.
      if (isConflict(err)) throw new FencedError(`lease ${namespace}/${this.name} changed under us`);
      throw err;
    }
    // Measured from before the request: a slow write must not extend how long we believe we hold the lease.
    this.lastRenewMs = started;
    this.held = true;
    // A renewal that takes half the deadline leaves little room before this replica fences itself: say so, with the
    // figure (an overloaded apiserver or a starved event loop shows here first).
    const tookMs = this.o.now() - started;
    if (tookMs > this.o.renewDeadlineMs / 2) this.o.log.warn({ tookMs: Math.round(tookMs), renewDeadlineMs: this.o.renewDeadlineMs }, 'shard lease renewal slow');
  }

  /** Joins the ring: retries until the Lease is ours (or the signal aborts). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      try {
        await this.renew(true);
        this.o.log.info({ lease: `${this.o.namespace}/${this.name}` }, 'joined the shard ring');
        return true;
      } catch (err) {
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not take the shard lease; retrying');
      }
      await sleep(this.o.retryPeriodMs, signal);
    }
    return false;
  }

  /** Renews until fenced or stopped. */
  async run(signal: AbortSignal): Promise<'fenced' | 'stopped'> {
    while (!signal.aborted) {
      await sleep(this.o.retryPeriodMs, signal);
      if (signal.aborted) break;
      try {
        await this.renew(false);
      } catch (err) {
        if (err instanceof FencedError) {
          this.held = false;
          this.o.log.error({ err: err.message }, 'shard lease lost; stopping');
          return 'fenced';
        }
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'shard lease renewal failed');
      }
      if (!this.valid) {
        this.held = false;
        this.o.log.error({ lease: `${this.o.namespace}/${this.name}`, renewDeadlineMs: this.o.renewDeadlineMs }, 'shard lease not renewed within the deadline; stopping');
        return 'fenced';
      }
    }
    return 'stopped';
  }

  /** At shutdown, after the last reconcile: the sharder moves our objects at once instead of after the lease expires. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    try {
      const lease = await this.o.client.get<LeaseObject>(R.lease, this.o.namespace, this.name);
      if (lease.spec?.holderIdentity !== this.o.id) return;
      await this.o.client.replace<LeaseObject>(R.lease, { ...lease, spec: { ...lease.spec, holderIdentity: '', renewTime: microTime(Date.now()) } });
      this.o.log.info('released the shard lease');
    } catch (err) {
      this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not release the shard lease');
    }
  }
}
