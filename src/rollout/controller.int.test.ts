// The operator's spec checks against the real apiserver: an Argo-shaped Rollout is judged valid, a semantically
// invalid one gets InvalidSpec naming the field (and a Warning Event), and it clears when the problem goes away.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { loadFixture } from '../../test/fixtures/api/fixtures.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { testClient, testLogger, testMetrics } from '../../test/support/operator.ts';
import { registerControllers } from '../controllers.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { EventRecorder } from '../runtime/events.ts';
import { Manager } from '../runtime/manager.ts';

type Status = { observedGeneration?: string | number; phase?: string; message?: string; conditions?: { type: string; status: string; message?: string }[] };
type Obj = KubeObject & { status?: Status };

describe('spec checks in the running operator', () => {
  let ns: string;
  const { client, log: requestLog } = testClient();
  let manager: Manager;
  let running: Promise<unknown>;

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('spec');
    const log = testLogger();
    manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [ns] });
    registerControllers(manager, { client, log, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2 });
    running = manager.run();
    await waitFor('caches', () => manager.ready());
  });

  const clusterTemplates: string[] = [];

  afterAll(async () => {
    for (const name of clusterTemplates) await kubectl(['delete', 'clusteranalysistemplates.sluice.dev', name, '--ignore-not-found']);
    await manager.stop();
    await running;
    await deleteNamespace(ns);
  });

  const apply = async (m: object): Promise<void> => {
    const res = await kubectl(['apply', '--server-side', '--field-manager=sluice-test', '-n', ns, '-f', '-'], stringify(m));
    expect(res.stderr).toBe('');
  };
  const status = async (r: typeof R.rollout, name: string): Promise<Status | undefined> => (await client.get<Obj>(r, ns, name)).status;

  it('judges an Argo Rollouts manifest (apiVersion changed) valid', async () => {
    const m = loadFixture('rollout-canary-istio.yaml');
    await apply(m);
    await waitFor('observedGeneration', async () => (await status(R.rollout, m.metadata.name))?.observedGeneration === '1');
    const s = await status(R.rollout, m.metadata.name);
    expect(s?.conditions?.find((c) => c.type === 'InvalidSpec')).toBeUndefined();
    expect(s?.phase).not.toBe('Degraded');
  });

  it('reports a missing AnalysisTemplate as InvalidSpec naming the field, and clears it once the template exists', async () => {
    const m = loadFixture('rollout-canary-scale-analysis.yaml');
    const steps = (m.spec as { strategy: { canary: { steps: Record<string, unknown>[] } } }).strategy.canary.steps;
    type Ref = { templateName: string; clusterScope?: boolean };
    const refs = steps.flatMap((s) => (s.analysis as { templates?: Ref[] } | undefined)?.templates ?? []);
    const ref = refs[0]?.templateName ?? '';
    expect(refs.length).toBeGreaterThan(0);
    await apply({ ...m, metadata: { name: 'needs-template' } });
    await waitFor('InvalidSpec', async () => (await status(R.rollout, 'needs-template'))?.conditions?.some((c) => c.type === 'InvalidSpec') === true);
    const s = await status(R.rollout, 'needs-template');
    const cond = s?.conditions?.find((c) => c.type === 'InvalidSpec');
    expect(cond?.status).toBe('True');
    expect(cond?.message).toMatch(/spec\.strategy\.canary\.steps\[\d+\]\.analysis\.templates\[0\]/);
    expect(cond?.message).toContain(ref);
    expect(s?.phase).toBe('Degraded');
    await waitFor('a Warning Event', async () => {
      const ev = await kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=needs-template,reason=InvalidSpec', '-o', 'name']);
      return ev.stdout.trim() !== '';
    });
    // Re-judging an unchanged invalid spec writes nothing (the stored condition equals the computed one).
    const writes = (): number => requestLog.filter((l) => l.startsWith('PATCH') && l.includes('/rollouts/needs-template')).length;
    const patchesBefore = writes();
    expect((await kubectl(['annotate', '-n', ns, 'rollouts.sluice.dev', 'needs-template', 'touched=1'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    expect(writes()).toBe(patchesBefore);

    const template = loadFixture('analysistemplate-prometheus-web.yaml');
    for (const r of refs) {
      if (r.clusterScope === true) {
        clusterTemplates.push(r.templateName);
        await apply({ ...template, kind: 'ClusterAnalysisTemplate', metadata: { name: r.templateName } });
      } else await apply({ ...template, metadata: { name: r.templateName } });
    }
    await waitFor('InvalidSpec cleared', async () => (await status(R.rollout, 'needs-template'))?.conditions?.some((c) => c.type === 'InvalidSpec') === false);
    expect((await status(R.rollout, 'needs-template'))?.phase).not.toBe('Degraded');
  });

  it('reports an Application that Sluice cannot sync (SSH URL) as InvalidSpecError', async () => {
    const m = loadFixture('application.yaml');
    const spec = m.spec as { source: Record<string, unknown> };
    await apply({ ...m, metadata: { name: 'ssh' }, spec: { ...spec, source: { ...spec.source, repoURL: 'git@example.com:org/repo.git' } } });
    await waitFor('InvalidSpecError', async () => (await status(R.application, 'ssh'))?.conditions?.some((c) => c.type === 'InvalidSpecError') === true);
    const cond = (await status(R.application, 'ssh'))?.conditions?.find((c) => c.type === 'InvalidSpecError');
    expect(cond?.message).toContain('spec.source.repoURL');
  });
});
