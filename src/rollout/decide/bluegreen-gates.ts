// Webhook gates of a blue-green rollout (spec.strategy.blueGreen.webhooks), at Flagger's points of its blue-green
// run. Pure. confirm-rollout holds before the new revision's pods come up; pre-rollout checks them once they serve
// behind the preview Service (a failure aborts); rollout checks run while the revision waits for the switch (a
// failure aborts); confirm-promotion holds right before the active Service moves; rollback asks for an abort at any
// time before the revision is stable. post-rollout and event are notifications the shell sends. A person's full
// promote goes past the confirm gates and the checks, as on a canary.
import type { RolloutStatus } from '../../api/rollout/schema.ts';
import type { Gates, GateState } from './gates.ts';
import type { EngineEvent } from './types.ts';

type Held = Exclude<GateState, { state: 'open' }>;

/** What a gate point says: go on, wait (for a gate not open yet, or for the pods a check needs), or abort. */
export type GateVerdict = { go: true } | { go: false; held?: Held } | { go: false; abort: string; reason: string };

const GO: GateVerdict = { go: true };

export class BlueGreenGates {
  private readonly gates: Gates;
  private readonly hash: string;
  /** A person's full promote: past every confirm gate and check. */
  private readonly full: boolean;

  constructor(gates: Gates, hash: string, full: boolean) {
    this.gates = gates;
    this.hash = hash;
    this.full = full;
  }

  /** The start gates passed for this revision (or there are none). */
  started(s: RolloutStatus): boolean {
    return this.full || !(this.gates.has('confirm-rollout') || this.gates.has('pre-rollout')) || s.gates?.started === this.hash;
  }

  /** confirm-rollout, before the new revision's pods come up (and before its ReplicaSet gets any). */
  confirmRollout(s: RolloutStatus): GateVerdict {
    if (this.started(s)) return GO;
    const g = this.gates.check('confirm-rollout');
    return g.state === 'open' ? GO : { go: false, held: g };
  }

  /**
   * pre-rollout, once the preview serves the new revision at its size: a failure aborts. Passing (or having no
   * pre-rollout hook) records the start in status.gates.started, so the start gates are not asked again.
   */
  preRollout(s: RolloutStatus, previewServing: boolean): GateVerdict {
    if (this.started(s)) return GO;
    if (this.gates.has('pre-rollout')) {
      if (!previewServing) return { go: false }; // the check is of the pods behind the preview: they come first
      const g = this.gates.check('pre-rollout');
      if (g.state === 'closed') return { go: false, reason: 'PreRolloutFailed', abort: `pre-rollout webhook ${g.name} failed: ${g.message}: aborting` };
      if (g.state === 'unknown') return { go: false, held: g };
    }
    s.gates = { ...s.gates, started: this.hash };
    return GO;
  }

  /** rollout checks while the checked revision waits for the switch: a failure aborts. */
  rolloutChecks(): GateVerdict {
    if (this.full || !this.gates.has('rollout')) return GO;
    const g = this.gates.check('rollout');
    if (g.state === 'closed') return { go: false, reason: 'RolloutCheckFailed', abort: `rollout webhook ${g.name} failed before the switch: ${g.message}: aborting` };
    return g.state === 'open' ? GO : { go: false, held: g };
  }

  /** confirm-promotion, right before the active Service moves to the new revision. */
  confirmPromotion(): GateVerdict {
    if (this.full) return GO;
    const g = this.gates.check('confirm-promotion');
    return g.state === 'open' ? GO : { go: false, held: g };
  }

  /** A rollback hook that answers 2xx asks for an abort: sets it, with the event, and says so. */
  rollback(s: RolloutStatus, events: EngineEvent[], wake: (ms: number) => void): boolean {
    if (!this.gates.has('rollback')) return false;
    const who = this.gates.rollbackRequested();
    if (who === undefined) {
      wake(this.gates.intervalMs('rollback'));
      return false;
    }
    s.abort = true;
    events.push({ type: 'Warning', reason: 'RollbackRequested', message: `webhook ${who} asked for a rollback: aborting` });
    return true;
  }
}
