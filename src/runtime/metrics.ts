import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The operator's Prometheus metrics. Labels stay low-cardinality: controller, resource, verb, status class. */
export class Metrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'controller' | 'result'>;
  readonly reconcileSeconds: Histogram<'controller'>;
  readonly queueDepth: Gauge<'controller'>;
  readonly inFlight: Gauge<'controller'>;
  readonly requests: Counter<'verb' | 'code'>;
  readonly relists: Counter<'resource'>;
  readonly leader: Gauge;
  /** Sharding (src/runtime/sharding): this replica's own objects, and the sharder's view of the ring. */
  readonly shardOwned: Gauge<'resource'>;
  readonly shardDrainsAcknowledged: Counter<'resource'>;
  readonly shardAssigned: Gauge<'shard' | 'resource'>;
  readonly shardMoves: Counter<'resource' | 'step'>;
  readonly shardMembers: Gauge;
  /** Objects held in this replica's informer caches, by kind: what sharding's label-selected watches shrink. */
  readonly cacheObjects: Gauge<'resource'>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.reconciles = new Counter({ name: 'sluice_reconcile_total', help: 'Reconciles by controller and result (success, requeue, error).', labelNames: ['controller', 'result'], registers });
    this.reconcileSeconds = new Histogram({
      name: 'sluice_reconcile_duration_seconds',
      help: 'Time spent in one reconcile.',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.queueDepth = new Gauge({ name: 'sluice_workqueue_depth', help: 'Keys waiting in a controller queue.', labelNames: ['controller'], registers });
    this.inFlight = new Gauge({ name: 'sluice_workqueue_in_flight', help: 'Keys being reconciled.', labelNames: ['controller'], registers });
    this.requests = new Counter({ name: 'sluice_apiserver_requests_total', help: 'Requests to the apiserver by verb and status code class.', labelNames: ['verb', 'code'], registers });
    this.relists = new Counter({ name: 'sluice_informer_relists_total', help: 'Full relists after an expired watch.', labelNames: ['resource'], registers });
    this.leader = new Gauge({ name: 'sluice_leader', help: '1 while this process holds the leader lease (or runs without election).', registers });
    this.shardOwned = new Gauge({ name: 'sluice_shard_owned_objects', help: 'Objects this replica owns (its shard label, not being drained).', labelNames: ['resource'], registers });
    this.shardDrainsAcknowledged = new Counter({ name: 'sluice_shard_drains_acknowledged_total', help: 'Objects this replica let go of when the sharder drained them.', labelNames: ['resource'], registers });
    this.shardAssigned = new Gauge({ name: 'sluice_sharder_assigned_objects', help: 'Objects the ring assigns to each shard (the leader\'s view).', labelNames: ['shard', 'resource'], registers });
    this.shardMoves = new Counter({ name: 'sluice_sharder_moves_total', help: 'Sharder writes: assign (new object), drain (move from a live shard), reassign (from a dead shard).', labelNames: ['resource', 'step'], registers });
    this.shardMembers = new Gauge({ name: 'sluice_sharder_ring_members', help: 'Ready shards in the ring (the leader\'s view).', registers });
    this.cacheObjects = new Gauge({ name: 'sluice_cache_objects', help: 'Objects in this replica\'s informer caches, by resource (all selectors and cuts summed).', labelNames: ['resource'], registers });
    if (opts.processMetrics === true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
      // The ceiling V8 sized from the container's memory limit (or the node's memory without one): heap used near it
      // means collections are about to dominate, then an out-of-memory exit; prom-client does not export it.
      new Gauge({
        name: 'sluice_nodejs_heap_size_limit_bytes',
        help: 'V8 heap size limit (heap_size_limit), set from --max-old-space-size or the memory limit Node detected.',
        registers,
        collect() {
          this.set(getHeapStatistics().heap_size_limit);
        },
      });
    }
  }

  /** For KubeClient's onRequest hook. */
  countRequest = (method: string, _path: string, status: number): void => {
    this.requests.inc({ verb: method, code: status === 0 ? 'error' : `${Math.floor(status / 100)}xx` });
  };
}
