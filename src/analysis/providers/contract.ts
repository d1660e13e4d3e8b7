// The shared MetricProvider contract: every provider passes it against its real backend (a real Prometheus, an HTTP
// server, the real control plane for Jobs). A provider whose measurements stay under way (Observation 'running') is
// looked at again, as the controller would, until it finishes.
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Measurement, Metric } from '../../api/analysis/schema.ts';
import { judge, type Observation } from '../decide/judge.ts';
import { ProviderError, type MeasureContext, type MetricProvider } from './provider.ts';

export type Scenario = 'pass' | 'fail' | 'empty' | 'http-error' | 'slow' | 'unreachable' | 'no-endpoint';

export interface ContractFixture {
  provider: MetricProvider;
  /** Another provider instance for a scenario (one pointed at a hanging or closed backend), when the metric cannot say. */
  providerFor?(s: Scenario): MetricProvider | undefined;
  /** A metric for the scenario; its successCondition holds for 'pass' and not for 'fail'. A 'slow' one times out after 1 s. */
  metric(s: Scenario): Metric;
  /** What the controller would pass besides the metric (the run, the attempt). */
  context?(s: Scenario): MeasureContext;
  /** Called while a measurement is under way ('empty': the fixture removes what it measures). */
  onRunning?(s: Scenario, obs: Observation): Promise<void>;
}

export async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof ProviderError ? err.reason : `foreign: ${String(err)}`;
  }
}

/** One measurement to its end: resumed (after a short pause) for as long as the provider says it is under way. */
export async function measureFully(f: ContractFixture, s: Scenario, signal: AbortSignal, deadlineMs = 60_000): Promise<Observation> {
  const provider = f.providerFor?.(s) ?? f.provider;
  const metric = f.metric(s);
  const context = f.context?.(s);
  const until = Date.now() + deadlineMs;
  let obs = await provider.measure(metric, signal, context);
  while (obs.kind === 'running') {
    if (Date.now() > until) throw new Error(`scenario ${s}: still running after ${deadlineMs} ms`);
    await f.onRunning?.(s, obs);
    await new Promise((r) => setTimeout(r, 200));
    const inProgress: Measurement = { phase: 'Running', startedAt: new Date().toISOString(), metadata: obs.metadata };
    obs = await provider.measure(metric, signal, { nowMs: Date.now(), ...context, inProgress });
  }
  return obs;
}

/**
 * The contract every MetricProvider passes. `setup` runs in beforeAll and must have its servers ready. A provider
 * with no notion of "no data" (a webhook answers or it does not) says so with `noData: false`: its 'pass' and 'fail'
 * answers must then never be missing, which the first two cases check anyway.
 */
export function providerContract(name: string, setup: () => ContractFixture, opts: { noData?: boolean } = {}): void {
  describe(`${name} provider contract`, () => {
    let f: ContractFixture;
    const live = (): AbortSignal => new AbortController().signal;
    beforeAll(() => {
      f = setup();
    });

    it('observes a value (or its own verdict) that is judged Successful', async () => {
      const m = f.metric('pass');
      const obs = await measureFully(f, 'pass', live());
      expect(['value', 'verdict']).toContain(obs.kind);
      expect(judge(m, obs, 'fail').phase).toBe('Successful');
    }, 90_000);

    it('observes a value (or its own verdict) that is judged Failed', async () => {
      const m = f.metric('fail');
      const obs = await measureFully(f, 'fail', live());
      expect(['value', 'verdict']).toContain(obs.kind);
      expect(judge(m, obs, 'inconclusive').phase).toBe('Failed');
    }, 90_000);

    (opts.noData === false ? it.skip : it)('reports no data as missing, never as a value, so the policy decides', async () => {
      const m = f.metric('empty');
      const obs = await measureFully(f, 'empty', live());
      expect(obs.kind).toBe('missing');
      expect(judge(m, obs, 'fail').phase).toBe('Failed');
      expect(judge(m, obs, 'inconclusive').phase).toBe('Inconclusive');
      expect(judge(m, obs, 'ignore')).toMatchObject({ phase: 'Inconclusive', ignored: true });
    }, 90_000);

    it('rejects an error answer with ProviderError(http)', async () => {
      expect(await reason(measureFully(f, 'http-error', live()))).toBe('http');
    });

    it('times out with ProviderError(timeout) close to its timeout', async () => {
      const t0 = Date.now();
      expect(await reason(measureFully(f, 'slow', live()))).toBe('timeout');
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(3000);
    });

    it('rejects an unreachable server with ProviderError(network)', async () => {
      expect(await reason(measureFully(f, 'unreachable', live()))).toBe('network');
    });

    it('rejects a metric without an endpoint with ProviderError(config)', async () => {
      expect(await reason(measureFully(f, 'no-endpoint', live()))).toBe('config');
    });

    it('stops at once when its signal aborts', async () => {
      const ac = new AbortController();
      const t0 = Date.now();
      const p = reason(measureFully(f, 'slow', ac.signal));
      setTimeout(() => ac.abort(), 100);
      expect(await p).toBe('aborted');
      expect(Date.now() - t0).toBeLessThan(800);
      const done = new AbortController();
      done.abort();
      expect(await reason(measureFully(f, 'pass', done.signal))).toBe('aborted');
    });
  });
}
