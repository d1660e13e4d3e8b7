// Experiments under sharding, with real operator processes: the ReplicaSet and Service an Experiment's shard creates
// carry its owner label (and the Service's EndpointSlice too, copied by the EndpointSlice controller), so the shard's
// children caches (`children: true`) hold them and its status counts the ready endpoints from them; a child whose
// label was edited away is taken back; when the Experiment moves to another replica its children follow it there.
// With three replicas, an Experiment's AnalysisRuns are placed with their Experiment (and a Rollout's Experiment's
// runs with the Rollout), so the Experiment's shard sees them in its own cache and the Experiments complete.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../test/support/cluster.ts';
import { startOperator, type OperatorProcess } from '../../test/support/operator-process.ts';
import { testClient } from '../../test/support/operator.ts';
import { installAllCrds, rolloutManifest } from '../../test/support/rollouts.ts';
import type { ExperimentStatus } from '../api/experiment/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import type { LeaseObject } from '../runtime/leader.ts';
import { OWNER_LABEL, RING_LABEL } from '../runtime/sharding/decide.ts';
import { EXPERIMENT_LABEL } from './resources.ts';

type ExperimentObj = KubeObject & { status?: ExperimentStatus };
type RolloutObj = KubeObject & { status?: { phase?: string; stableRS?: string; currentPodHash?: string } };

const NAME = 'split';
const experiment = {
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Experiment',
  metadata: { name: NAME },
  spec: {
    duration: '10m',
    progressDeadlineSeconds: 120,
    templates: [{ name: 'canary', replicas: 1, service: {}, selector: { matchLabels: { app: NAME } }, template: { metadata: { labels: { app: NAME } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/split:v2', ports: [{ containerPort: 8080 }] }] } } }],
  },
};

describe('sharded experiments', () => {
  let ns: string;
  const ops: OperatorProcess[] = [];
  const { client } = testClient();

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('expshard');
  });
  afterAll(async () => {
    for (const o of ops) o.kill('SIGKILL');
    await Promise.all(ops.map((o) => o.exited));
    server?.close();
    await deleteNamespace(ns);
  });
  let server: Server | undefined;
  const args = (): string[] => ['--shards=auto', `--leader-election-namespace=${ns}`, `--namespace=${ns}`, '--leader-election-lease-duration=6', '--leader-election-renew-deadline=4', '--leader-election-retry-period=1'];
  const id = (x: string): string => `exp-${x}-${ns}`.slice(0, 42).replace(/-+$/, '');

  const owner = (o: KubeObject | undefined): string | undefined => o?.metadata?.labels?.[OWNER_LABEL];
  /** The owner labels of the Experiment, its ReplicaSet, its Service and the Service's EndpointSlices. */
  const owners = async (): Promise<string[]> => {
    const get = (r: typeof R.service): Promise<KubeObject | undefined> => client.get(r, ns, r === R.experiment ? NAME : `${NAME}-canary`).catch(() => undefined); // not created yet
    const [exp, rs, svc, slices] = await Promise.all([get(R.experiment), get(R.replicaSet), get(R.service), client.list(R.endpointSlice, ns, { labelSelector: `kubernetes.io/service-name=${NAME}-canary` })]);
    return [owner(exp), owner(rs), owner(svc), ...slices.items.map(owner)].map((x) => x ?? '-');
  };
  const on = async (id: string): Promise<boolean> => {
    const o = await owners();
    return o.length === 4 && o.every((x) => x === id);
  };
  const readyEndpoints = async (): Promise<number | undefined> => (await client.get<ExperimentObj>(R.experiment, ns, NAME)).status?.templateStatuses?.[0]?.readyEndpoints;

  it('labels, caches, takes back and moves an Experiment\'s ReplicaSet, Service and EndpointSlice with it', async () => {
    ops.push(await startOperator(kubeconfigPath(), id('a'), args()));
    const [a] = ops as [OperatorProcess];
    const res = await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], stringify(experiment));
    expect(res.stderr).toBe('');

    // Created with the shard's label; the EndpointSlice inherits it; the status reads the endpoint from the
    // shard's (label-selected) slices cache.
    await waitFor('the Experiment and its children on the first replica', () => on(a.identity), 45_000, 250);
    await waitFor('its ready endpoint counted', async () => (await readyEndpoints()) === 1, 30_000, 250);
    expect((await client.get<ExperimentObj>(R.experiment, ns, NAME)).status?.phase).toBe('Running');

    // Children whose label is gone (edited away, or made before sharding) are taken back by their Experiment's shard.
    for (const kind of ['replicaset', 'service']) expect((await kubectl(['label', '-n', ns, `${kind}/${NAME}-canary`, `${OWNER_LABEL}-`])).stderr).toBe('');
    await waitFor('the labels put back, the slice\'s too', () => on(a.identity), 20_000, 200);

    // The first replica stops: the Experiment moves to the second, which takes its children before deciding on it.
    ops.push(await startOperator(kubeconfigPath(), id('b'), args()));
    const b = ops[1] as OperatorProcess;
    a.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    await waitFor('the Experiment and its children on the second replica', () => on(b.identity), 30_000, 250);
    await waitFor('its ready endpoint still counted there', async () => (await readyEndpoints()) === 1, 15_000, 250);
    const after = await client.get<ExperimentObj>(R.experiment, ns, NAME);
    expect(after.status?.phase).toBe('Running');
    // The same ReplicaSet and Service, not new ones: the new owner saw them in its cache before deciding.
    expect((await client.list(R.replicaSet, ns)).items.map((x) => x.metadata?.name)).toEqual([`${NAME}-canary`]);
    expect((await client.list(R.service, ns)).items.map((x) => x.metadata?.name)).toEqual([`${NAME}-canary`]);
    // Its label-selected caches hold them (the gauge refreshes every 5 s): the slice, the Service.
    await waitFor('the second replica caches them', async () => (await b.metric('sluice_cache_objects', 'resource="endpointslices"')) === 1 && (await b.metric('sluice_cache_objects', 'resource="services"')) >= 1, 12_000, 500);
    expect(await readyEndpoints()).toBe(1);
  }, 150_000);

  it('places an Experiment\'s AnalysisRuns with their Experiment, a Rollout\'s with the Rollout, and the Experiments complete', async () => {
    // The analyses ask a loopback endpoint of this test (the web provider), which always passes.
    server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":1}'));
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const apply = async (objs: object[]): Promise<void> => expect((await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], objs.map((o) => stringify(o)).join('---\n'))).stderr).toBe('');
    await apply([{ apiVersion: 'sluice.dev/v1alpha1', kind: 'AnalysisTemplate', metadata: { name: 'passes' }, spec: { metrics: [{ name: 'ok', count: 2, interval: '1s', successCondition: 'result == 1', failureLimit: 0, provider: { web: { url: `http://127.0.0.1:${port}/`, jsonPath: '{$.ok}' } } }] } }]);

    // Three live replicas (whatever the test above left running), so a run placed on its own key would, more often
    // than not, land on another shard than its Experiment: 5 runs all on theirs by chance is (1/3)^5.
    for (const x of ['c', 'd', 'e']) if (ops.filter((o) => o.child.exitCode === null && o.child.signalCode === null).length < 3) ops.push(await startOperator(kubeconfigPath(), id(x), args()));
    const held = async (): Promise<number> => (await client.list<LeaseObject>(R.lease, ns, { labelSelector: RING_LABEL })).items.filter((l) => l.spec?.holderIdentity !== undefined && l.metadata?.name === `sluice-shard-${l.spec.holderIdentity}`).length;
    await waitFor('three shards in the ring', async () => (await held()) === 3, 30_000, 250);

    const standalone = ['e0', 'e1', 'e2', 'e3'];
    const exp = (name: string): object => ({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Experiment',
      metadata: { name },
      spec: {
        duration: '3s',
        progressDeadlineSeconds: 120,
        templates: [{ name: 'canary', replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `registry.invalid/${name}:v2` }] } } }],
        analyses: [{ name: 'check', templateName: 'passes' }],
      },
    });
    // A Rollout whose one step is an Experiment with the same analysis: the run is the Experiment's, which is the
    // Rollout's, so the run goes with the Rollout.
    const rollout = (version: string): object => rolloutManifest('web', version, { scaleDownDelaySeconds: 0, steps: [{ experiment: { duration: '2s', templates: [{ name: 'canary', specRef: 'canary' }], analyses: [{ name: 'check', templateName: 'passes' }] } }] });
    await apply([...standalone.map(exp), rollout('v1')]);
    const get = <T extends KubeObject>(r: typeof R.rollout, name: string): Promise<T> => client.get<T>(r, ns, name);
    await waitFor('web v1 Healthy', async () => (await get<RolloutObj>(R.rollout, 'web')).status?.phase === 'Healthy', 60_000, 250);
    await apply([rollout('v2')]);

    // Each Experiment ends Successful (its shard saw its run's verdict in its own cache); its run then carries the
    // Experiment's owner. Recorded at that moment: the Rollout may clean its Experiment up once it is promoted.
    const runOwners = async (experiment: string): Promise<(string | undefined)[]> => (await client.list(R.analysisRun, ns, { labelSelector: `${EXPERIMENT_LABEL}=${experiment}` })).items.map(owner);
    const seen = new Map<string, { experiment: string | undefined; runs: (string | undefined)[] }>();
    let stepExperiment = '';
    await waitFor('every Experiment Successful', async () => {
      const web = await get<RolloutObj>(R.rollout, 'web');
      stepExperiment = web.status?.currentPodHash !== undefined ? `web-${web.status.currentPodHash}-0` : '';
      for (const name of [...standalone, stepExperiment]) {
        if (seen.has(name) || name === '') continue;
        const e = await get<ExperimentObj>(R.experiment, name).catch(() => undefined); // not created yet
        if (e?.status?.phase === 'Successful') seen.set(name, { experiment: owner(e), runs: await runOwners(name) });
      }
      return seen.size === standalone.length + 1;
    }, 90_000, 250);
    await waitFor('web v2 promoted after its experiment', async () => {
      const web = await get<RolloutObj>(R.rollout, 'web');
      return web.status?.phase === 'Healthy' && web.status.stableRS === web.status.currentPodHash;
    }, 60_000, 250);
    const webOwner = owner(await get(R.rollout, 'web'));
    process.stderr.write(`owners (Experiment: its runs): ${JSON.stringify(Object.fromEntries(seen))}; web on ${webOwner}\n`);
    for (const [name, o] of seen) {
      expect(o.experiment).toBeDefined();
      expect({ name, runs: o.runs }).toEqual({ name, runs: [o.experiment] });
    }
    expect(seen.get(stepExperiment)?.experiment).toBe(webOwner);
  }, 240_000);
});
