import type { Logger } from '../log/logger.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import { sleep } from './sleep.ts';

export interface LeaseObject extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  /** controller-runtime's defaults: 15 s / 10 s / 2 s. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  now?: () => number;
}

/** A Lease timestamp is a MicroTime: RFC 3339 with six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface LeaseDecision {
  acquire: boolean;
  /** The spec to write when acquiring or renewing. */
  spec?: NonNullable<LeaseObject['spec']>;
}

/**
 * The pure part of one election round. Expiry is judged on our own clock from when *we* last saw the record change
 * (never by comparing our clock with another host's renewTime, which skew would break).
 */
export function decideLease(
  lease: LeaseObject['spec'] | undefined,
  me: string,
  clock: { monotonicMs: number; observedChangeAtMs: number; wallMs: number },
  leaseDurationMs: number,
): LeaseDecision {
  const holder = lease?.holderIdentity ?? '';
  const durationMs = (lease?.leaseDurationSeconds ?? leaseDurationMs / 1000) * 1000;
  const heldByOther = holder !== '' && holder !== me;
  if (heldByOther && clock.monotonicMs - clock.observedChangeAtMs <= durationMs) return { acquire: false };
  const stamp = microTime(clock.wallMs);
  const mine = holder === me;
  return {
    acquire: true,
    spec: {
      holderIdentity: me,
      leaseDurationSeconds: Math.round(leaseDurationMs / 1000),
      acquireTime: mine && lease?.acquireTime !== undefined ? lease.acquireTime : stamp,
      renewTime: stamp,
      leaseTransitions: (lease?.leaseTransitions ?? 0) + (mine ? 0 : 1),
    },
  };
}

/**
 * Leader election on a coordination.k8s.io Lease. `run` resolves with 'lost' when a leader fails to renew within
 * the renew deadline (the caller must stop acting at once, and exits like controller-runtime does), or with
 * 'stopped' when its signal is aborted. Every write is a replace with the resourceVersion read, so of two
 * candidates racing for an expired lease exactly one wins (the other gets a Conflict).
 */
export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'now'>> & { now: () => number };
  private observed: { holder?: string; renew?: string; at: number } = { at: 0 };
  private leading = false;
  private lastLease: LeaseObject | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, now: () => performance.now(), ...opts };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.o;
    const wall = Date.now();
    let lease: LeaseObject;
    try {
      lease = await client.get<LeaseObject>(R.lease, namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const d = decideLease(undefined, identity, { monotonicMs: this.o.now(), observedChangeAtMs: 0, wallMs: wall }, this.o.leaseDurationMs);
      try {
        this.lastLease = await client.create<LeaseObject>(R.lease, { metadata: { name, namespace }, spec: d.spec });
        return true;
      } catch (e) {
        if (isConflict(e)) return false; // another candidate created it first
        throw e;
      }
    }
    const spec = lease.spec;
    if (spec?.holderIdentity !== this.observed.holder || spec?.renewTime !== this.observed.renew) {
      this.observed = { holder: spec?.holderIdentity, renew: spec?.renewTime, at: this.o.now() };
    }
    const d = decideLease(spec, identity, { monotonicMs: this.o.now(), observedChangeAtMs: this.observed.at, wallMs: wall }, this.o.leaseDurationMs);
    if (!d.acquire) return false;
    try {
      this.lastLease = await client.replace<LeaseObject>(R.lease, { ...lease, spec: d.spec });
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /** Campaigns until elected, calls onStartedLeading, then renews until the lease is lost or `signal` aborts. */
  async run(signal: AbortSignal, onStartedLeading: () => void): Promise<'lost' | 'stopped'> {
    const { log, retryPeriodMs, renewDeadlineMs } = this.o;
    while (!signal.aborted && !this.leading) {
      try {
        if (await this.tryAcquireOrRenew()) {
          this.leading = true;
          log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'became leader');
          onStartedLeading();
          break;
        }
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'leader election round failed');
      }
      await sleep(retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    let lastRenew = this.o.now();
    while (!signal.aborted) {
      await sleep(retryPeriodMs, signal);
      if (signal.aborted) break;
      try {
        if (await this.tryAcquireOrRenew()) lastRenew = this.o.now();
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lease renewal failed');
      }
      if (this.o.now() - lastRenew > renewDeadlineMs) {
        this.leading = false;
        log.error({ lease: `${this.o.namespace}/${this.o.name}` }, 'leader election lost');
        return 'lost';
      }
    }
    return 'stopped';
  }

  /** Gives the lease up at shutdown so a standby takes over at once instead of after the lease duration. */
  async release(): Promise<void> {
    if (!this.leading || this.lastLease === undefined) return;
    this.leading = false;
    try {
      const current = await this.o.client.get<LeaseObject>(R.lease, this.o.namespace, this.o.name);
      if (current.spec?.holderIdentity !== this.o.identity) return;
      await this.o.client.replace<LeaseObject>(R.lease, {
        ...current,
        spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(Date.now()) },
      });
      this.o.log.info('released the leader lease');
    } catch (err) {
      this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not release the leader lease');
    }
  }
}
