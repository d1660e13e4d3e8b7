// The generated CRDs against a real kube-apiserver: they install and become Established, every Argo fixture is
// accepted after swapping apiVersion (and stored without losing a field), structurally wrong objects are refused
// with a message naming the field, and the scale subresource and printer columns work through kubectl.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl } from '../../../test/support/cluster.ts';
import { waitEstablished } from '../../../test/support/crds.ts';
import { fixtureNames, loadFixture, type Manifest } from '../../../test/fixtures/api/fixtures.ts';
import { KINDS, GROUP } from './definitions.ts';

const CRD_DIR = join(import.meta.dirname, '..', '..', '..', 'crds');
const MANAGER = ['--server-side', '--force-conflicts', '--field-manager=sluice-test'];

let ns = '';

function resource(kind: string): string {
  const def = KINDS.find((k) => k.kind === kind);
  if (def === undefined) throw new Error(`no CRD for kind ${kind}`);
  return `${def.plural}.${GROUP}`;
}

/** Namespaced fixtures go in the test namespace; cluster-scoped ones get a name unique to this run. */
function place(m: Manifest): Manifest {
  const def = KINDS.find((k) => k.kind === m.kind);
  const { namespace: _drop, ...meta } = m.metadata;
  if (def?.scope === 'Cluster') return { ...m, metadata: { ...meta, name: `${m.metadata.name}-${ns}` } };
  return { ...m, metadata: { ...meta, namespace: ns } };
}

async function apply(m: Manifest): Promise<{ stdout: string; stderr: string; code: number }> {
  return kubectl(['apply', ...MANAGER, '-f', '-'], stringify(m));
}

async function getJson(kind: string, name: string, namespaced = true): Promise<Manifest> {
  const res = await kubectl(['get', resource(kind), name, '-o', 'json', ...(namespaced ? ['-n', ns] : [])]);
  expect(res.stderr).toBe('');
  return JSON.parse(res.stdout) as Manifest;
}

function canary(overrides: Record<string, unknown>): Manifest {
  const m = place(loadFixture('rollout-canary-nginx.yaml'));
  const spec = m.spec as { strategy: { canary: Record<string, unknown> } };
  return { ...m, metadata: { ...m.metadata, name: 'bad' }, spec: { ...spec, strategy: { canary: { ...spec.strategy.canary, ...overrides } } } };
}

beforeAll(async () => {
  const res = await kubectl(['apply', ...MANAGER, '-f', CRD_DIR]);
  expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
  const names = KINDS.map((k) => `crd/${k.plural}.${GROUP}`);
  const wait = await waitEstablished(kubectl, names);
  expect({ code: wait.code, stderr: wait.stderr }).toEqual({ code: 0, stderr: '' });
  ns = await createNamespace('api-crds');
});

afterAll(async () => {
  if (ns === '') return;
  // Cluster-scoped fixtures outlive the namespace; remove them by the run-unique name place() gave them.
  for (const name of fixtureNames()) {
    const m = loadFixture(name);
    if (KINDS.find((k) => k.kind === m.kind)?.scope === 'Cluster') await kubectl(['delete', resource(m.kind), `${m.metadata.name}-${ns}`, '--ignore-not-found']);
  }
  await deleteNamespace(ns);
});

describe('generated CRDs on a real apiserver', () => {
  it('are Established with the short names and the sluice category', async () => {
    for (const def of KINDS) {
      const res = await kubectl(['get', 'crd', `${def.plural}.${GROUP}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status} {.spec.names.shortNames} {.spec.names.categories}']);
      expect(res.stdout).toBe(`True ${JSON.stringify(def.shortNames)} ["sluice"]`);
    }
  });

  it.each(fixtureNames())('accepts the Argo fixture %s with apiVersion swapped, and stores every field', async (name) => {
    const m = place(loadFixture(name));
    const res = await apply(m);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const def = KINDS.find((k) => k.kind === m.kind);
    const stored = await getJson(m.kind, m.metadata.name, def?.scope === 'Namespaced');
    // Pruning would silently drop a field the controller then never sees; the only addition is a CRD default.
    const expected = m.kind === 'Application' ? { ...(m.spec as object), pollInterval: '3m' } : m.spec;
    expect(stored.spec).toEqual(expected);
  });

  it('lists every kind under the sluice category and the srol short name', async () => {
    const res = await kubectl(['get', 'sluice', '-n', ns, '-o', 'name']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('rollout.sluice.dev/checkout');
    expect(res.stdout).toContain('analysistemplate.sluice.dev/success-rate');
    expect(res.stdout).toContain('application.sluice.dev/shop');
    const short = await kubectl(['get', 'srol', '-n', ns, '-o', 'name']);
    expect(short.stdout).toContain('rollout.sluice.dev/checkout');
  });

  const oneKind = 'a step must set exactly one of: setWeight, pause, setCanaryScale, analysis, experiment, setHeaderRoute, setMirrorRoute';
  it.each([
    ['replicas: "three"', { replicas: 'three' }, ['.spec.replicas: expected numeric']],
    ['steps: {} instead of a list', { steps: {} }, ['.spec.strategy.canary.steps: expected list']],
    ['setWeight: "abc"', { steps: [{ setWeight: 'abc' }] }, ['.spec.strategy.canary.steps[0].setWeight: expected numeric']],
    ['setWeight: 150', { steps: [{ setWeight: 10 }, { setWeight: 150 }] }, ['spec.strategy.canary.steps[1].setWeight', 'less than or equal to 100']],
    ['a step with two kinds', { steps: [{ setWeight: 10, pause: {} }] }, ['spec.strategy.canary.steps[0]: Invalid value', oneKind]],
    ['an empty step', { steps: [{ pause: {} }, {}] }, ['spec.strategy.canary.steps[1]: Invalid value', oneKind]],
  ])('rejects %s, naming the field', async (_label, change, expected) => {
    const base = canary({});
    const m: Manifest = 'replicas' in change ? { ...base, spec: { ...(base.spec as object), ...change } } : canary(change);
    const res = await apply(m);
    expect(res.code).not.toBe(0);
    for (const text of expected) expect(res.stderr).toContain(text);
    const gone = await kubectl(['get', resource('Rollout'), 'bad', '-n', ns]);
    expect(gone.code).not.toBe(0);
  });

  it('rejects an AnalysisTemplate whose metric has no provider, and an Application without a source', async () => {
    const at = place(loadFixture('analysistemplate-prometheus-web.yaml'));
    const metrics = (at.spec as { metrics: Record<string, unknown>[] }).metrics.map(({ provider: _p, ...rest }) => rest);
    const res = await apply({ ...at, metadata: { ...at.metadata, name: 'bad' }, spec: { ...(at.spec as object), metrics } });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('spec.metrics[0].provider');
    const app = place(loadFixture('application.yaml'));
    const { source: _s, ...spec } = app.spec as Record<string, unknown>;
    const res2 = await apply({ ...app, metadata: { ...app.metadata, name: 'bad' }, spec });
    expect(res2.code).not.toBe(0);
    expect(res2.stderr).toContain('spec.source');
  });

  it('scales a Rollout through the scale subresource', async () => {
    const res = await kubectl(['scale', resource('Rollout'), 'checkout', '-n', ns, '--replicas=7']);
    expect(res.stderr).toBe('');
    const stored = await getJson('Rollout', 'checkout');
    expect((stored.spec as { replicas: number }).replicas).toBe(7);
    const scale = await kubectl(['get', '--raw', `/apis/${GROUP}/v1alpha1/namespaces/${ns}/rollouts/checkout/scale`]);
    expect(JSON.parse(scale.stdout)).toMatchObject({ kind: 'Scale', spec: { replicas: 7 } });
  });

  it('shows the printer columns, filled from status written through the status subresource', async () => {
    const status = {
      status: {
        phase: 'Progressing',
        observedGeneration: '2', // Argo writes a string
        currentStepIndex: 1,
        replicas: 7,
        updatedReplicas: 1,
        availableReplicas: 6,
        selector: 'app=checkout',
        canary: { weights: { canary: { weight: 10, podTemplateHash: 'abc123', serviceName: 'checkout-canary' }, stable: { weight: 90 } } },
      },
    };
    const patch = await kubectl(['patch', resource('Rollout'), 'checkout', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    expect(patch.stderr).toBe('');
    const res = await kubectl(['get', resource('Rollout'), 'checkout', '-n', ns]);
    const [header, row] = res.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'DESIRED', 'CURRENT', 'UP-TO-DATE', 'AVAILABLE', 'STEP', 'WEIGHT', 'PHASE', 'AGE']);
    expect(row?.split(/\s+/).slice(0, 8)).toEqual(['checkout', '7', '7', '1', '6', '1', '10', 'Progressing']);
    const scale = await kubectl(['get', '--raw', `/apis/${GROUP}/v1alpha1/namespaces/${ns}/rollouts/checkout/scale`]);
    expect(JSON.parse(scale.stdout)).toMatchObject({ status: { replicas: 7, selector: 'app=checkout' } });
  });

  it('shows Application and AnalysisRun columns', async () => {
    const app = await kubectl(['get', resource('Application'), 'shop', '-n', ns]);
    expect(app.stdout.trim().split('\n')[0]?.split(/\s+/)).toEqual(['NAME', 'SYNC', 'HEALTH', 'REVISION', 'AGE']);
    const run = await kubectl(['get', resource('AnalysisRun'), '-n', ns]);
    expect(run.stderr).toBe('No resources found in ' + ns + ' namespace.\n');
  });
});
