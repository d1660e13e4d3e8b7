// The Application controller in-process for GitOps integration tests, with a Git cache of its own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerApplicationController } from '../../src/gitops/controller.ts';
import { GitSource } from '../../src/gitops/source/git.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { Logger } from '../../src/log/logger.ts';
import { EventRecorder } from '../../src/runtime/events.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { waitFor } from './cluster.ts';
import { testLogger, testMetrics } from './operator.ts';

export interface AppOperator {
  manager: Manager;
  /** The controller's Git source: tests read its fetch counts. */
  source: GitSource;
  /** The controller's Git cache directory (the decryption test searches it for plaintext). */
  cacheDir: string;
  stop(): Promise<void>;
}

/** `log`: the operator's logger (tests that read what was logged pass their own). */
export async function startAppOperator(client: KubeClient, namespaces: string[], log: Logger = testLogger()): Promise<AppOperator> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'sluice-gitcache-'));
  const manager = new Manager({ client, log, metrics: testMetrics(), namespaces });
  const source = new GitSource({ cacheDir });
  registerApplicationController(manager, { client, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2, source });
  const running = manager.run();
  await waitFor('caches', () => manager.ready());
  return {
    manager,
    source,
    cacheDir,
    stop: async () => {
      await manager.stop();
      await running;
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}
