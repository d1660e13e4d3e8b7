// The operator's dashboard (in-cluster mode): started by src/main.ts when --dashboard-addr is set, on its own port so
// that exposing it (a Service behind the user's ingress) never exposes /metrics or the webhook route.
import type { Config } from '../config/config.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../log/logger.ts';
import { loadAssets } from './assets.ts';
import { bearerClients, endpointOf } from './kube.ts';
import { startDashboard, type RunningDashboard } from './server.ts';

export async function startOperatorDashboard(config: Config, client: KubeClient, log: Logger): Promise<RunningDashboard> {
  const [host = '0.0.0.0', port = '3100'] = (config.dashboardAddr ?? '').split(/:(?=\d+$)/);
  const running = await startDashboard({
    host,
    port: Number(port),
    assets: await loadAssets(),
    log: log.child({ component: 'dashboard' }),
    readOnly: config.dashboardReadOnly,
    // The operator's client only creates TokenReviews; every read and write carries the viewer's own token.
    auth: { mode: 'cluster', reviewer: client, clientFor: bearerClients(endpointOf(config.kubeconfig)), secureCookie: config.dashboardSecureCookie },
  });
  log.info({ dashboard: `${host}:${running.port}`, readOnly: config.dashboardReadOnly }, 'dashboard serving');
  return running;
}
