// Webhook gates on the real control plane with the operator's runtime in-process, and a real HTTP gate server on
// 127.0.0.1 the test answers from: a confirm-promotion gate holds the last step until it says yes, a rollback hook's
// 2xx aborts, a pre-rollout check whose target is down fails after its retries; on a blue-green rollout, a
// confirm-promotion gate holds the switch of the active Service and a pre-rollout check's failure aborts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { sluice } from '../../test/support/plugin.ts';
import { blueGreenManifest, helpers, installAllCrds, rolloutManifest, runOperator, type InProcessOperator } from '../../test/support/rollouts.ts';
import type { RolloutStatus } from '../api/rollout/schema.ts';
import type { WebhookPayload } from '../webhooks/post.ts';

/** Answers each path with the status the test sets (404 for a path it did not set); keeps every payload. */
class GateServer {
  readonly answers = new Map<string, number>();
  readonly calls: { path: string; payload: WebhookPayload }[] = [];
  url = '';
  private readonly server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (path === '/hang') return; // accepts, never answers: the caller's timeout decides
      this.calls.push({ path, payload: JSON.parse(body) as WebhookPayload });
      const status = this.answers.get(path) ?? 404;
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? 'yes' : 'not yet');
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  paths(path: string): WebhookPayload[] {
    return this.calls.filter((c) => c.path === path).map((c) => c.payload);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A port nothing listens on: bound once, then released. */
async function downPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('webhook gates on a canary and a blue-green rollout', () => {
  let ns: string;
  let op: InProcessOperator;
  let gate: GateServer;
  let apply: (m: object) => Promise<void>;
  let rollout: ReturnType<typeof helpers>['rollout'];
  let h: ReturnType<typeof helpers>;
  const times: Record<string, number> = {};

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('gates');
    op = await runOperator(ns);
    gate = new GateServer();
    await gate.start();
    h = helpers(ns, op.client);
    ({ apply, rollout } = h);
  });

  afterAll(async () => {
    await op.stop();
    await gate.stop();
    await deleteNamespace(ns);
    // Figures, not assertions: how long each hold or failure took on this machine.
    process.stdout.write(`gates.int figures (ms): ${JSON.stringify(times)}\n`);
  });

  const statusOf = async (name: string): Promise<RolloutStatus> => ((await rollout(name)).status ?? {}) as RolloutStatus;
  const manifest = (app: string, version: string, steps: object[], webhooks: object[]): object => {
    const m = rolloutManifest(app, version, { steps, webhooks }) as { spec: { replicas: number } };
    m.spec.replicas = 2;
    return m;
  };
  const reasons = async (app: string): Promise<string> => (await kubectl(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${app}`, '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}'])).stdout;

  async function deployV1(app: string, steps: object[], webhooks: object[]): Promise<string> {
    await apply(manifest(app, 'v1', steps, webhooks));
    await waitFor(`${app} v1 Healthy`, async () => (await statusOf(app)).phase === 'Healthy', 60_000);
    return (await statusOf(app)).stableRS ?? '';
  }

  it('holds the last step while confirm-promotion answers 403, shows the gate, and promotes once it answers 200', async () => {
    const webhooks = [
      { name: 'approve', type: 'confirm-promotion', url: `${gate.url}/approve`, interval: '1s', metadata: { team: 'web' } },
      { name: 'done', type: 'post-rollout', url: `${gate.url}/done` },
      { name: 'news', type: 'event', url: `${gate.url}/news` },
    ];
    gate.answers.set('/news', 202);
    gate.answers.set('/approve', 403);
    gate.answers.set('/done', 200);
    const steps = [{ setWeight: 50 }];
    const v1 = await deployV1('approve', steps, webhooks);
    await apply(manifest('approve', 'v2', steps, webhooks));
    const t0 = Date.now();
    // The gate is called in the background: `asking` until its first answer, then the answer.
    await waitFor('held by the gate', async () => (await statusOf('approve')).gates?.waiting?.message === 'HTTP 403: not yet', 30_000);
    times.holdReported = Date.now() - t0;
    const held = await statusOf('approve');
    expect(held).toMatchObject({ phase: 'Paused', stableRS: v1, currentStepIndex: 1, message: 'waiting for gate approve (confirm-promotion): HTTP 403: not yet' });
    expect(held.gates?.waiting).toMatchObject({ type: 'confirm-promotion', message: 'HTTP 403: not yet' });
    expect(held.conditions?.find((c) => c.type === 'Paused')).toMatchObject({ status: 'True', reason: 'WaitingForGate' });
    const v2 = held.currentPodHash ?? '';
    // Asked again on its interval, with Flagger's payload.
    await waitFor('asked again', () => gate.paths('/approve').length >= 3, 15_000);
    expect(gate.paths('/approve').at(-1)).toEqual({ name: 'approve', namespace: ns, phase: 'WaitingPromotion', checksum: v2, metadata: { team: 'web' } });
    // Still held: the stable revision is v1 and the canary keeps its last step's share (1 of 2 pods).
    expect(await statusOf('approve')).toMatchObject({ stableRS: v1, phase: 'Paused', updatedReplicas: 1 });
    const shown = await sluice(['get', 'rollout', 'approve', '-n', ns]);
    expect(shown.stdout).toMatch(/Gate: +waiting for gate approve \(confirm-promotion\): HTTP 403: not yet/);

    gate.answers.set('/approve', 200);
    const t1 = Date.now();
    await waitFor('promoted', async () => (await statusOf('approve')).stableRS === v2 && (await statusOf('approve')).phase === 'Healthy', 30_000);
    times.promotedAfterOpen = Date.now() - t1;
    expect((await statusOf('approve')).gates).toBeUndefined();
    await waitFor('post-rollout called', () => gate.paths('/done').length === 1, 10_000);
    expect(gate.paths('/done')[0]).toMatchObject({ name: 'approve', phase: 'Succeeded', checksum: v2 });
    // Every Event went to the event hook too (Flagger's eventMessage/eventType in the metadata).
    await waitFor('event hook told of the promotion', () => gate.paths('/news').some((p) => p.metadata.eventReason === 'RolloutCompleted'), 10_000);
    expect(gate.paths('/news').find((p) => p.metadata.eventReason === 'WaitingForGate')?.metadata).toMatchObject({ eventType: 'Normal', eventMessage: 'waiting for gate approve (confirm-promotion): HTTP 403: not yet' });
    const ev = await reasons('approve');
    expect(ev).toContain('WaitingForGate: waiting for gate approve (confirm-promotion): HTTP 403: not yet');
    expect(ev).toContain('GateOpened: gate approve (confirm-promotion) opened');
  });

  it('aborts when a rollback hook answers 200', async () => {
    const webhooks = [{ name: 'stop', type: 'rollback', url: `${gate.url}/stop`, interval: '1s' }];
    gate.answers.set('/stop', 404);
    const steps = [{ setWeight: 50 }, { pause: {} }];
    const v1 = await deployV1('rb', steps, webhooks);
    await apply(manifest('rb', 'v2', steps, webhooks));
    await waitFor('paused at step 1', async () => (await statusOf('rb')).pauseConditions?.[0]?.reason === 'CanaryPauseStep', 30_000);
    expect((await statusOf('rb')).abort).toBeUndefined(); // a 404 asks for nothing
    gate.answers.set('/stop', 200);
    const t0 = Date.now();
    await waitFor('aborted', async () => (await statusOf('rb')).abort === true, 15_000);
    times.abortAfterRollback = Date.now() - t0;
    const s = await statusOf('rb');
    expect(s).toMatchObject({ phase: 'Degraded', stableRS: v1 });
    expect(await reasons('rb')).toContain('RollbackRequested: webhook stop asked for a rollback: aborting');
    await waitFor('canary scaled down', async () => (await statusOf('rb')).updatedReplicas === 0, 30_000);
  });

  it('fails a pre-rollout check whose target is down after its retries, and aborts before any traffic', async () => {
    const port = await downPort();
    const webhooks = [{ name: 'smoke', type: 'pre-rollout', url: `http://127.0.0.1:${port}/smoke`, timeout: '500ms', retries: 2 }];
    const steps = [{ setWeight: 50 }, { pause: {} }];
    const v1 = await deployV1('pre', steps, webhooks);
    await apply(manifest('pre', 'v2', steps, webhooks));
    const t0 = Date.now();
    await waitFor('aborted', async () => (await statusOf('pre')).abort === true, 30_000);
    times.preRolloutFailed = Date.now() - t0;
    const s = await statusOf('pre');
    expect(s).toMatchObject({ phase: 'Degraded', stableRS: v1, currentStepIndex: 0 });
    const ev = await reasons('pre');
    expect(ev).toMatch(/PreRolloutFailed: pre-rollout webhook smoke failed: ECONNREFUSED \(after 3 attempts\): aborting/);
    // The rollout never reached its first step: it never paused there.
    expect(ev).not.toContain('RolloutPaused');
  });

  it('fails a pre-rollout check whose target never answers within its timeout, after its retries', async () => {
    const webhooks = [{ name: 'slow', type: 'pre-rollout', url: `${gate.url}/hang`, timeout: '300ms', retries: 1 }];
    const steps = [{ setWeight: 50 }];
    await deployV1('hang', steps, webhooks);
    await apply(manifest('hang', 'v2', steps, webhooks));
    const t0 = Date.now();
    await waitFor('aborted', async () => (await statusOf('hang')).abort === true, 30_000);
    times.preRolloutTimedOut = Date.now() - t0;
    expect(await reasons('hang')).toContain('PreRolloutFailed: pre-rollout webhook slow failed: no answer within 300 ms (after 2 attempts): aborting');
  });

  it('a hook that never answers holds only its own rollout: the calls run outside the reconcile, so the two workers stay free', async () => {
    const hung = [{ name: 'stuck', type: 'confirm-promotion', url: `${gate.url}/hang`, timeout: '60s' }];
    const steps = [{ setWeight: 50 }];
    await Promise.all(['stuck-a', 'stuck-b'].map((app) => deployV1(app, steps, hung)));
    await Promise.all(['stuck-a', 'stuck-b'].map((app) => apply(manifest(app, 'v2', steps, hung))));
    await waitFor('both held at the unanswered gate', async () => {
      const held = await Promise.all(['stuck-a', 'stuck-b'].map(async (app) => (await statusOf(app)).gates?.waiting?.message));
      return held.every((m) => m === 'asking');
    }, 30_000);
    // As many hung calls as workers: a rollout without hooks still goes all the way while they hang.
    const v1 = await deployV1('free', steps, []);
    await apply(manifest('free', 'v2', steps, []));
    await waitFor('the free rollout promoted', async () => {
      const s = await statusOf('free');
      return s.phase === 'Healthy' && s.stableRS !== v1;
    }, 30_000);
    for (const app of ['stuck-a', 'stuck-b']) expect((await statusOf(app)).gates?.waiting).toMatchObject({ name: 'stuck', message: 'asking' });
  });

  it('refuses a webhook URL that is not http(s), naming the field', async () => {
    await apply(manifest('badurl', 'v1', [{ setWeight: 50 }], [{ name: 'x', type: 'confirm-rollout', url: 'ftp://127.0.0.1/x' }]));
    await waitFor('InvalidSpec', async () => (await statusOf('badurl')).conditions?.some((c) => c.type === 'InvalidSpec' && c.status === 'True') === true, 30_000);
    const c = (await statusOf('badurl')).conditions?.find((x) => x.type === 'InvalidSpec');
    expect(c?.message).toContain('spec.strategy.canary.webhooks[0].url: must be an http(s) URL, got "ftp://127.0.0.1/x"');
  });
  it('blue-green: confirm-promotion holds the switch (the preview serves v2, the active Service stays on v1) until it answers 200; a failed pre-rollout check aborts', async () => {
    for (const svc of ['bg-active', 'bg-preview']) await h.service(svc, 'bg');
    const webhooks = [
      { name: 'approve', type: 'confirm-promotion', url: `${gate.url}/bg-approve`, interval: '1s' },
      { name: 'smoke', type: 'pre-rollout', url: `${gate.url}/bg-smoke` },
    ];
    gate.answers.set('/bg-approve', 403);
    gate.answers.set('/bg-smoke', 200);
    const bg = (v: string): object => blueGreenManifest('bg', v, { webhooks }, {}, { replicas: 2 });
    await apply(bg('v1'));
    await waitFor('bg v1 Healthy', async () => (await statusOf('bg')).phase === 'Healthy', 60_000);
    const v1 = (await statusOf('bg')).stableRS ?? '';
    await apply(bg('v2'));
    const t0 = Date.now();
    await waitFor('held by the gate', async () => (await statusOf('bg')).gates?.waiting?.message === 'HTTP 403: not yet', 30_000);
    times.blueGreenHoldReported = Date.now() - t0;
    const held = await statusOf('bg');
    const v2 = held.currentPodHash ?? '';
    expect(held).toMatchObject({ phase: 'Paused', stableRS: v1, message: 'waiting for gate approve (confirm-promotion): HTTP 403: not yet' });
    expect(await h.selector('bg-active')).toBe(v1);
    expect(await h.selector('bg-preview')).toBe(v2);
    // The pre-rollout check was asked once, of the pods behind the preview, with Flagger's payload.
    expect(gate.paths('/bg-smoke')).toEqual([{ name: 'bg', namespace: ns, phase: 'Progressing', checksum: v2, metadata: {} }]);
    gate.answers.set('/bg-approve', 200);
    await waitFor('switched and promoted', async () => (await statusOf('bg')).stableRS === v2 && (await statusOf('bg')).phase === 'Healthy', 30_000);
    expect(await h.selector('bg-active')).toBe(v2);

    gate.answers.set('/bg-smoke', 500);
    await apply(bg('v3'));
    await waitFor('v3 aborted by its pre-rollout check', async () => (await statusOf('bg')).abort === true, 30_000);
    expect(await h.selector('bg-active')).toBe(v2);
    expect(await reasons('bg')).toMatch(/PreRolloutFailed: pre-rollout webhook smoke failed: HTTP 500/);
  });
});
