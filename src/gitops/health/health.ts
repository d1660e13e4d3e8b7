// Health of live objects: kstatus-style generic rules plus builtins for the kinds whose status says more. Pure.
import type { HealthStatusCode } from '../../api/application/schema.ts';
import type { KubeObject } from '../../kube/client.ts';

export interface Health {
  status: HealthStatusCode;
  message?: string;
}

type Cond = { type?: string; status?: string; reason?: string; message?: string };
type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const str = (v: unknown, fallback: string): string => (typeof v === 'string' && v !== '' ? v : fallback);
const conditions = (o: Obj): Cond[] => (Array.isArray(o.status?.conditions) ? (o.status.conditions as Cond[]) : []);
const cond = (o: Obj, type: string): Cond | undefined => conditions(o).find((c) => c.type === type);
const healthy: Health = { status: 'Healthy' };

/** The controller has not yet seen the latest spec: whatever the status says is about an older generation. */
function stale(o: Obj): Health | undefined {
  const gen = o.metadata?.generation;
  const observed = o.status?.observedGeneration;
  if (gen !== undefined && typeof observed === 'number' && observed < gen) return { status: 'Progressing', message: 'waiting for the controller to observe the latest generation' };
  if (gen !== undefined && gen > 1 && o.status === undefined && isWorkload(o.kind)) return { status: 'Progressing', message: 'no status yet' };
  return undefined;
}
const isWorkload = (kind: string | undefined): boolean => ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(kind ?? '');

function replicas(o: Obj, want: number, ready: number, updated: number, available: number, what: string): Health {
  if (updated < want) return { status: 'Progressing', message: `${updated} of ${want} ${what} updated` };
  if (ready < want || available < want) return { status: 'Progressing', message: `${Math.min(ready, available)} of ${want} ${what} available` };
  return healthy;
}

function deployment(o: Obj): Health {
  if (o.spec?.paused === true) return { status: 'Suspended', message: 'paused' };
  const p = cond(o, 'Progressing');
  if (p?.reason === 'ProgressDeadlineExceeded') return { status: 'Degraded', message: p.message ?? 'progress deadline exceeded' };
  const want = o.spec?.replicas === undefined ? 1 : num(o.spec.replicas);
  if (num(o.status?.replicas) > num(o.status?.updatedReplicas)) return { status: 'Progressing', message: 'old replicas are pending termination' };
  return replicas(o, want, num(o.status?.readyReplicas), num(o.status?.updatedReplicas), num(o.status?.availableReplicas), 'replicas');
}

function pod(o: Obj): Health {
  const phase = o.status?.phase;
  if (phase === 'Succeeded') return healthy;
  if (phase === 'Failed') return { status: 'Degraded', message: str(o.status?.message, 'pod failed') };
  if (phase === 'Running' && cond(o, 'Ready')?.status === 'True') return healthy;
  return { status: 'Progressing', message: `pod is ${str(phase, 'Pending')}` };
}

function job(o: Obj): Health {
  if (cond(o, 'Failed')?.status === 'True') return { status: 'Degraded', message: cond(o, 'Failed')?.message ?? 'job failed' };
  if (cond(o, 'Complete')?.status === 'True') return healthy;
  if (o.spec?.suspend === true) return { status: 'Suspended', message: 'suspended' };
  return { status: 'Progressing', message: 'running' };
}

function rollout(o: Obj): Health {
  // Sluice's Rollout (Argo Rollouts' status): phase is set by the Rollout controller. Argo writes observedGeneration
  // as a string: until it names the current generation, the phase speaks of the previous spec (a "Healthy" there
  // would let a release wave move on before the new canary even started).
  const gen = o.metadata?.generation;
  const seen = o.status?.observedGeneration;
  const observed = typeof seen === 'string' && /^\d+$/.test(seen) ? Number(seen) : seen;
  if (gen !== undefined && typeof observed === 'number' && observed < gen) return { status: 'Progressing', message: 'waiting for the rollout controller to observe the latest generation' };
  const phase = o.status?.phase;
  if (cond(o, 'InvalidSpec')?.status === 'True') return { status: 'Degraded', message: cond(o, 'InvalidSpec')?.message ?? 'invalid spec' };
  if (o.status?.abort === true || phase === 'Degraded') return { status: 'Degraded', message: str(o.status?.message, 'aborted') };
  if (phase === 'Paused' || o.spec?.paused === true) return { status: 'Suspended', message: str(o.status?.message, 'paused') };
  if (phase === 'Progressing') return { status: 'Progressing', message: str(o.status?.message, 'progressing') };
  if (phase === 'Healthy') return healthy;
  return stale(o) ?? { status: 'Progressing', message: 'waiting for the rollout controller' };
}

/** kstatus' generic rules: Ready/Stalled/Reconciling conditions when present, else Healthy once it exists. */
function generic(o: Obj): Health {
  const stalled = cond(o, 'Stalled');
  if (stalled?.status === 'True') return { status: 'Degraded', message: stalled.message ?? 'stalled' };
  const reconciling = cond(o, 'Reconciling');
  if (reconciling?.status === 'True') return { status: 'Progressing', message: reconciling.message ?? 'reconciling' };
  const ready = cond(o, 'Ready');
  if (ready?.status === 'False') return { status: 'Progressing', message: ready.message ?? 'not ready' };
  return healthy;
}

export function assessHealth(o: KubeObject | undefined): Health {
  if (o === undefined) return { status: 'Missing' };
  const obj = o as Obj;
  if (obj.metadata?.deletionTimestamp !== undefined) return { status: 'Progressing', message: 'being deleted' };
  const group = (o.apiVersion ?? '').includes('/') ? (o.apiVersion ?? '').split('/')[0] : '';
  if (o.kind === 'Rollout' && group === 'sluice.dev') return rollout(obj);
  const s = stale(obj);
  if (s !== undefined) return s;
  switch (`${group}/${o.kind}`) {
    case 'apps/Deployment':
      return deployment(obj);
    case 'apps/StatefulSet':
    case 'apps/ReplicaSet': {
      const want = obj.spec?.replicas === undefined ? 1 : num(obj.spec.replicas);
      const updated = o.kind === 'StatefulSet' ? num(obj.status?.updatedReplicas) : want;
      return replicas(obj, want, num(obj.status?.readyReplicas), updated, num(obj.status?.availableReplicas ?? obj.status?.readyReplicas), 'replicas');
    }
    case 'apps/DaemonSet':
      return replicas(obj, num(obj.status?.desiredNumberScheduled), num(obj.status?.numberReady), num(obj.status?.updatedNumberScheduled), num(obj.status?.numberAvailable), 'pods');
    case '/Pod':
      return pod(obj);
    case 'batch/Job':
      return job(obj);
    case '/PersistentVolumeClaim':
      return obj.status?.phase === 'Bound' ? healthy : obj.status?.phase === 'Lost' ? { status: 'Degraded', message: 'claim lost' } : { status: 'Progressing', message: 'waiting to be bound' };
    case '/Service': {
      if (obj.spec?.type !== 'LoadBalancer') return healthy;
      const ingress = (obj.status?.loadBalancer as { ingress?: unknown[] } | undefined)?.ingress;
      return Array.isArray(ingress) && ingress.length > 0 ? healthy : { status: 'Progressing', message: 'waiting for a load balancer' };
    }
    case 'networking.k8s.io/Ingress': {
      // Like Service: an ingress controller that publishes addresses reports them; without one, Argo CD also waits.
      const ingress = (obj.status?.loadBalancer as { ingress?: unknown[] } | undefined)?.ingress;
      return Array.isArray(ingress) && ingress.length > 0 ? healthy : { status: 'Progressing', message: 'waiting for an address' };
    }
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      return cond(obj, 'Established')?.status === 'True' ? healthy : { status: 'Progressing', message: 'not established yet' };
    default:
      return generic(obj);
  }
}

/** Argo CD's order: the application shows its worst resource. */
const RANK: HealthStatusCode[] = ['Healthy', 'Suspended', 'Progressing', 'Missing', 'Degraded', 'Unknown'];
export function worst(hs: Health[]): Health {
  let out: Health = healthy;
  for (const h of hs) if (RANK.indexOf(h.status) > RANK.indexOf(out.status)) out = h;
  return out;
}
