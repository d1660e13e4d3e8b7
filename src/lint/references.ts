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
import type { SourceDocument } from './source.ts';

type Labels = Record<string, string>;

interface Related {
  /** The document of `kind` named `name`, by API group, in the Rollout's namespace (or without one). */
  find(group: string, kind: string, name: string): SourceDocument | undefined;
}

const where = (d: SourceDocument): string => `${d.file}:${d.locate([]).line}`;
const spec = (d: SourceDocument): Record<string, unknown> => ((d.value as { spec?: Record<string, unknown> }).spec ?? {});

export function referenceErrors(rollout: Rollout, related: Related): SpecError[] {
  const errors: SpecError[] = [];
  const ref = rollout.spec.workloadRef;
  const deployment = ref !== undefined && (ref.kind ?? 'Deployment') === 'Deployment' ? related.find('apps', 'Deployment', ref.name ?? '') : undefined;
  const podLabels = deployment !== undefined ? podLabelsOf(spec(deployment).template) : rollout.spec.template?.metadata?.labels;
  const selector = rollout.spec.selector;
  if (deployment !== undefined && selector !== undefined && podLabels !== undefined && !selectorMatches(selector, podLabels)) {
    errors.push({ field: 'spec.selector', message: `does not match the pod labels ${JSON.stringify(podLabels)} of Deployment "${ref?.name ?? ''}" (${where(deployment)})` });
  }

  const canary = rollout.spec.strategy?.canary;
  const base = 'spec.strategy.canary';
  const services = canary !== undefined
    ? { stableService: canary.stableService, canaryService: canary.canaryService }
    : { stableService: rollout.spec.strategy?.blueGreen?.activeService, canaryService: rollout.spec.strategy?.blueGreen?.previewService };
  const serviceBase = canary !== undefined ? base : 'spec.strategy.blueGreen';
  const keys = canary !== undefined ? (['stableService', 'canaryService'] as const) : (['activeService', 'previewService'] as const);
  [services.stableService, services.canaryService].forEach((name, i) => {
    if (name === undefined || podLabels === undefined) return;
    const svc = related.find('', 'Service', name);
    const sel = svc === undefined ? undefined : (spec(svc).selector as Labels | undefined);
    if (svc !== undefined && sel !== undefined && !selectorMatches({ matchLabels: sel }, podLabels)) {
      errors.push({ field: `${serviceBase}.${keys[i] as string}`, message: `Service "${name}" (${where(svc)}) selects ${JSON.stringify(sel)}, which the Rollout's pods ${JSON.stringify(podLabels)} do not carry` });
    }
  });

  const tr = canary?.trafficRouting === undefined ? undefined : normalizeTrafficRouting(canary.trafficRouting);
  const stable = canary?.stableService;
  const canarySvc = canary?.canaryService;
  if (tr === undefined || stable === undefined || canarySvc === undefined) return errors;
  const target = { namespace: '', rollout: rollout.metadata.name ?? '', stableService: stable, canaryService: canarySvc };
  const at = `${base}.trafficRouting`;

  const istio = tr.istio;
  if (istio !== undefined && istio.destinationRule === undefined) {
    const list = istio.virtualServices ?? (istio.virtualService !== undefined ? [istio.virtualService] : []);
    list.forEach((vs, i) => {
      const doc = related.find('networking.istio.io', 'VirtualService', vs.name);
      if (doc === undefined) return;
      const http = (spec(doc).http ?? []) as Parameters<typeof weighHttp>[0];
      if (weighHttp(http, target, 0, vs.routes ?? []).matched === 0) {
        const field = istio.virtualServices !== undefined ? `${fieldPath(`${at}.istio`, 'virtualServices', i)}.name` : `${at}.istio.virtualService.name`;
        errors.push({ field, message: `VirtualService "${vs.name}" (${where(doc)}) has no HTTP route${vs.routes !== undefined ? ` named ${vs.routes.join(', ')}` : ''} with destinations ${stable} and ${canarySvc}` });
      }
    });
  }
  const gw = tr.gatewayAPI;
  if (gw !== undefined) {
    const names = gw.httpRoutes?.map((r) => r.name) ?? (gw.httpRoute !== undefined ? [gw.httpRoute] : []);
    names.forEach((name, i) => {
      const doc = related.find('gateway.networking.k8s.io', 'HTTPRoute', name);
      if (doc === undefined) return;
      const rules = (spec(doc).rules ?? []) as Parameters<typeof weighRules>[0];
      if (weighRules(rules, target, 0).matched === 0) {
        const field = gw.httpRoutes !== undefined ? `${fieldPath(`${at}.gatewayAPI`, 'httpRoutes', i)}.name` : `${at}.gatewayAPI.httpRoute`;
        errors.push({ field, message: `HTTPRoute "${name}" (${where(doc)}) has no rule with backendRefs to both ${stable} and ${canarySvc}` });
      }
    });
  }
  const nginx = tr.nginx;
  if (nginx !== undefined) {
    const names = nginx.stableIngresses ?? (nginx.stableIngress !== undefined ? [nginx.stableIngress] : []);
    names.forEach((name, i) => {
      const doc = related.find('networking.k8s.io', 'Ingress', name);
      if (doc === undefined) return;
      const rules = (spec(doc).rules ?? []) as { http?: { paths?: { backend?: { service?: { name?: string } } }[] } }[];
      if (!rules.some((r) => (r.http?.paths ?? []).some((p) => p.backend?.service?.name === stable))) {
        const field = nginx.stableIngresses !== undefined ? fieldPath(`${at}.nginx`, 'stableIngresses', i) : `${at}.nginx.stableIngress`;
        errors.push({ field, message: `Ingress "${name}" (${where(doc)}) has no path to the stable Service ${stable}` });
      }
    });
  }
  return errors;
}

function podLabelsOf(template: unknown): Labels | undefined {
  return (template as { metadata?: { labels?: Labels } } | undefined)?.metadata?.labels;
}
