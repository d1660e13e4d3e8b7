// Helpers for integration tests that run the operator's runtime in-process against the shared control plane.
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { Metrics } from '../../src/runtime/metrics.ts';
import { kubeconfigPath } from './cluster.ts';

export interface Counted {
  client: KubeClient;
  /** Requests sent to the apiserver, by verb: to count what an action costs. */
  requests: Map<string, number>;
  /** Every request as "VERB path", in order. */
  log: string[];
}

export function testClient(path = kubeconfigPath()): Counted {
  const requests = new Map<string, number>();
  const log: string[] = [];
  const onRequest = (m: string, p: string): void => {
    requests.set(m, (requests.get(m) ?? 0) + 1);
    log.push(`${m} ${p}`);
  };
  const client = KubeClient.fromDefault({ qps: 200, burst: 400, onRequest }, path);
  return { client, requests, log };
}

/** Quiet unless SLUICE_TEST_LOG=debug (or another level) asks for the operator's logs. */
export function testLogger(): Logger {
  return createLogger({ level: process.env.SLUICE_TEST_LOG ?? 'silent', destination: process.stderr });
}

export function testMetrics(): Metrics {
  return new Metrics();
}
