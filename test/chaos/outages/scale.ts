// The Rollout half of the control-plane outages at scale: blue-green Rollouts beside support.ts's canaries. (The
// Applications are the kill campaign's, ../kills/apps.ts, pushed and drifted by the outage test itself.)
import { rolloutObject } from './support.ts';

/** A blue-green Rollout whose switch waits `autoPromotionSeconds` after the preview is up; its Services first. */
export function blueGreen(name: string, version: number, autoPromotionSeconds: number): object[] {
  return [
    ...[`${name}-active`, `${name}-preview`].map((svc) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: svc }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } })),
    rolloutObject(name, version, { blueGreen: { activeService: `${name}-active`, previewService: `${name}-preview`, autoPromotionSeconds, scaleDownDelaySeconds: 1, abortScaleDownDelaySeconds: 1 } }),
  ];
}
