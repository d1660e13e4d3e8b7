// Experiments under sharding, with real operator processes: the ReplicaSet and Service an Experiment's shard creates
// carry its owner label (and the Service's EndpointSlice too, copied by the EndpointSlice controller), so the shard's
// children caches (`children: true`) hold them and its status counts the ready endpoints from them; a child whose
// label was edited away is taken back; when the Experiment moves to another replica its children follow it there.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../test/support/cluster.ts';
import { startOperator, type OperatorProcess } from '../../test/support/operator-process.ts';
import { testClient } from '../../test/support/operator.ts';
import { installAllCrds } from '../../test/support/rollouts.ts';
import type { ExperimentStatus } from '../api/experiment/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';

type ExperimentObj = KubeObject & { status?: ExperimentStatus };

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
    await deleteNamespace(ns);
  });

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
    const args = ['--shards=auto', `--leader-election-namespace=${ns}`, `--namespace=${ns}`, '--leader-election-lease-duration=6', '--leader-election-renew-deadline=4', '--leader-election-retry-period=1'];
    const id = (x: string): string => `exp-${x}-${ns}`.slice(0, 42).replace(/-+$/, '');
    ops.push(await startOperator(kubeconfigPath(), id('a'), args));
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
    ops.push(await startOperator(kubeconfigPath(), id('b'), args));
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
});
