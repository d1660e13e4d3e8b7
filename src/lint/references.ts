// Checks between objects of the linted files: when a Rollout's Services, route or workloadRef Deployment is among
// them, lint checks what the controller would otherwise find out at run time (a ReconcileError): the route sends to
// both Services, the Services select the Rollout's pods, the selector matches the Deployment's pods. Objects that
// are not in the files are not checked (they may exist in the cluster). Pure; reuses the routers' own matching.
import type { SpecError } from '../api/common/errors.ts';
import { fieldPath } from '../api/common/errors.ts';
import { selectorMatches } from '../api/common/meta.ts';
import { normalizeTrafficRouting } from '../api/rollout/normalize.ts';
import type { Rollout } from '../api/rollout/schema.ts';
import { weighRules } from '../rollout/traffic/gatewayapi.ts';
import { weighHttp } from '../rollout/traffic/istio.ts';
import { parseRelated, RELATED_SCHEMAS, type RelatedError } from './related.ts';
import type { SourceDocument } from './source.ts';

export type { RelatedError };

interface Related {
  /** The document of `kind` named `name`, by API group, in the Rollout's namespace (or without one). */
  find(group: string, kind: string, name: string): SourceDocument | undefined;
}

const where = (d: SourceDocument): string => `${d.file}:${d.locate([]).line}`;

export interface ReferenceErrors {
  /** About the Rollout's fields. */
  errors: SpecError[];
  /** About the objects it names: a field lint must read is of the wrong type (reported in that object's file). */
  related: RelatedError[];
}

export function referenceErrors(rollout: Rollout, related: Related): ReferenceErrors {
  const errors: SpecError[] = [];
  const relatedErrors: RelatedError[] = [];
  const out = { errors, related: relatedErrors };
  const name = rollout.metadata.name ?? '';
  const ref = rollout.spec.workloadRef;
  const deploymentDoc = ref !== undefined && (ref.kind ?? 'Deployment') === 'Deployment' ? related.find('apps', 'Deployment', ref.name ?? '') : undefined;
  const deployment = deploymentDoc === undefined ? undefined : parseRelated(deploymentDoc, RELATED_SCHEMAS.deployment, `Deployment "${ref?.name ?? ''}", the workloadRef of Rollout "${name}"`, relatedErrors);
  if (deploymentDoc !== undefined && deployment === undefined) return out; // its pod labels are unknown
  const podLabels = deployment !== undefined ? deployment.spec?.template?.metadata?.labels : rollout.spec.template?.metadata?.labels;
  const selector = rollout.spec.selector;
  if (deploymentDoc !== undefined && selector !== undefined && podLabels !== undefined && !selectorMatches(selector, podLabels)) {
    errors.push({ field: 'spec.selector', message: `does not match the pod labels ${JSON.stringify(podLabels)} of Deployment "${ref?.name ?? ''}" (${where(deploymentDoc)})` });
  }

  const canary = rollout.spec.strategy?.canary;
  const base = 'spec.strategy.canary';
  const services = canary !== undefined
    ? { stableService: canary.stableService, canaryService: canary.canaryService }
    : { stableService: rollout.spec.strategy?.blueGreen?.activeService, canaryService: rollout.spec.strategy?.blueGreen?.previewService };
  const serviceBase = canary !== undefined ? base : 'spec.strategy.blueGreen';
  const keys = canary !== undefined ? (['stableService', 'canaryService'] as const) : (['activeService', 'previewService'] as const);
  [services.stableService, services.canaryService].forEach((svcName, i) => {
    if (svcName === undefined || podLabels === undefined) return;
    const key = `${serviceBase}.${keys[i] as string}`;
    const doc = related.find('', 'Service', svcName);
    const svc = doc === undefined ? undefined : parseRelated(doc, RELATED_SCHEMAS.service, `Service "${svcName}", the ${keys[i] as string} of Rollout "${name}"`, relatedErrors);
    const sel = svc?.spec?.selector;
    if (doc !== undefined && sel !== undefined && !selectorMatches({ matchLabels: sel }, podLabels)) {
      errors.push({ field: key, message: `Service "${svcName}" (${where(doc)}) selects ${JSON.stringify(sel)}, which the Rollout's pods ${JSON.stringify(podLabels)} do not carry` });
    }
  });

  const tr = canary?.trafficRouting === undefined ? undefined : normalizeTrafficRouting(canary.trafficRouting);
  const stable = canary?.stableService;
  const canarySvc = canary?.canaryService;
  if (tr === undefined || stable === undefined || canarySvc === undefined) return out;
  const target = { namespace: '', rollout: name, stableService: stable, canaryService: canarySvc };
  const routedBy = `which Rollout "${name}" routes through`;
  const at = `${base}.trafficRouting`;

  const istio = tr.istio;
  if (istio !== undefined && istio.destinationRule === undefined) {
    const list = istio.virtualServices ?? (istio.virtualService !== undefined ? [istio.virtualService] : []);
    list.forEach((vs, i) => {
      const doc = related.find('networking.istio.io', 'VirtualService', vs.name);
      const parsed = doc === undefined ? undefined : parseRelated(doc, RELATED_SCHEMAS.virtualService, `VirtualService "${vs.name}", ${routedBy}`, relatedErrors);
      if (doc === undefined || parsed === undefined) return;
      if (weighHttp(parsed.spec?.http ?? [], target, 0, vs.routes ?? []).matched === 0) {
        const field = istio.virtualServices !== undefined ? `${fieldPath(`${at}.istio`, 'virtualServices', i)}.name` : `${at}.istio.virtualService.name`;
        errors.push({ field, message: `VirtualService "${vs.name}" (${where(doc)}) has no HTTP route${vs.routes !== undefined ? ` named ${vs.routes.join(', ')}` : ''} with destinations ${stable} and ${canarySvc}` });
      }
    });
  }
  const gw = tr.gatewayAPI;
  if (gw !== undefined) {
    const names = gw.httpRoutes?.map((r) => r.name) ?? (gw.httpRoute !== undefined ? [gw.httpRoute] : []);
    names.forEach((route, i) => {
      const doc = related.find('gateway.networking.k8s.io', 'HTTPRoute', route);
      const parsed = doc === undefined ? undefined : parseRelated(doc, RELATED_SCHEMAS.httpRoute, `HTTPRoute "${route}", ${routedBy}`, relatedErrors);
      if (doc === undefined || parsed === undefined) return;
      if (weighRules(parsed.spec?.rules ?? [], target, 0).matched === 0) {
        const field = gw.httpRoutes !== undefined ? `${fieldPath(`${at}.gatewayAPI`, 'httpRoutes', i)}.name` : `${at}.gatewayAPI.httpRoute`;
        errors.push({ field, message: `HTTPRoute "${route}" (${where(doc)}) has no rule with backendRefs to both ${stable} and ${canarySvc}` });
      }
    });
  }
  const nginx = tr.nginx;
  if (nginx !== undefined) {
    const names = nginx.stableIngresses ?? (nginx.stableIngress !== undefined ? [nginx.stableIngress] : []);
    names.forEach((ing, i) => {
      const doc = related.find('networking.k8s.io', 'Ingress', ing);
      const parsed = doc === undefined ? undefined : parseRelated(doc, RELATED_SCHEMAS.ingress, `Ingress "${ing}", ${routedBy}`, relatedErrors);
      if (doc === undefined || parsed === undefined) return;
      const rules = parsed.spec?.rules ?? [];
      if (!rules.some((r) => (r.http?.paths ?? []).some((p) => p.backend?.service?.name === stable))) {
        const field = nginx.stableIngresses !== undefined ? fieldPath(`${at}.nginx`, 'stableIngresses', i) : `${at}.nginx.stableIngress`;
        errors.push({ field, message: `Ingress "${ing}" (${where(doc)}) has no path to the stable Service ${stable}` });
      }
    });
  }
  return out;
}
