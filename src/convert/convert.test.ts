import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { convertExitCode, toYaml, type ConvertResult, type Manifest } from './convert.ts';
import { Fields } from './fields.ts';
import { FIXTURES, find, findings, fixture, inline, printed, run } from './testing.ts';

const argoWeighted = 'apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: a, image: x}]}\n  strategy:\n    canary:\n      steps:\n        - experiment:\n            templates: [{name: canary, specRef: canary, weight: 5}]\n';

describe('convert: the fixtures', () => {
  it.each(['argo-rollouts.yaml', 'flagger-istio.yaml', 'flagger-nginx.yaml', 'flagger-gatewayapi.yaml', 'argocd-application.yaml', 'flux.yaml'])('%s converts to manifests that pass lint', (name) => {
    const r = run(fixture(name));
    const out = printed(r);
    expect(out.errors).toEqual([]);
    expect(out.docs).toHaveLength(r.manifests.length);
    // flagger-nginx.yaml has nothing left out since its confirm-promotion gate maps onto the Rollout's webhooks.
    expect(convertExitCode(r)).toBe(name === 'flagger-nginx.yaml' ? 0 : 3);
  });

  it('Argo Rollouts: the same objects under sluice.dev, less each unsupported field, each reported at its line', () => {
    const r = run(fixture('argo-rollouts.yaml'));
    expect(findings(r, 'unmapped')).toEqual([
      '71 spec.strategy.canary.antiAffinity',
      '74 spec.strategy.canary.canaryMetadata',
      '106 spec.metrics[0].consecutiveSuccessLimit',
      '114 spec.metrics[1]',
      '118 spec.metrics[1].provider.datadog',
    ]);
    const rollout = find(r, 'Rollout', 'shop') as Manifest & { spec: { strategy: { canary: Record<string, unknown> } } };
    expect(rollout.apiVersion).toBe('sluice.dev/v1alpha1');
    // The experiment step converts as written: Sluice runs Argo's Experiments.
    expect(rollout.spec.strategy.canary.steps).toEqual([{ setWeight: 25 }, { experiment: { duration: '5m', templates: [{ name: 'baseline', specRef: 'stable' }] } }, { pause: { duration: '2s' } }, { setWeight: 75 }, { pause: { duration: '2s' } }]);
    expect(rollout.spec.strategy.canary.trafficRouting).toEqual({ plugins: { 'argoproj-labs/gatewayAPI': { httpRoute: 'shop' } } });
    const template = find(r, 'AnalysisTemplate', 'shop-error-rate') as Manifest & { spec: { metrics: { name: string }[] } };
    expect(template.spec.metrics.map((m) => m.name)).toEqual(['error-rate']);
    // Services and the HTTPRoute pass through unchanged.
    expect(r.manifests.map((m) => `${m.manifest.apiVersion} ${m.manifest.kind}`).slice(0, 3)).toEqual(['v1 Service', 'v1 Service', 'gateway.networking.k8s.io/v1 HTTPRoute']);
  });

  it('Argo Rollouts objects that use only what Sluice supports convert with exit 0, changing only apiVersion', () => {
    const source = readFileSync(join(FIXTURES, '..', 'api', 'rollout-canary-istio.yaml'), 'utf8');
    const r = inline(source);
    expect(r.findings).toEqual([]);
    expect(convertExitCode(r)).toBe(0);
    expect(r.manifests[0]?.manifest).toEqual({ ...(parse(source) as object), apiVersion: 'sluice.dev/v1alpha1' });
  });

  it('a Flagger Canary on Istio becomes a Rollout over its Deployment, the Services and VirtualService Flagger generated, steps and builtin checks', () => {
    const r = run(fixture('flagger-istio.yaml'));
    expect(findings(r, 'unmapped')).toEqual(['67 spec.analysis.alerts']);
    expect(r.manifests.map((m) => `${m.manifest.kind}/${m.manifest.metadata.name}`)).toEqual([
      'Deployment/podinfo', 'Service/podinfo', 'Service/podinfo-primary', 'Service/podinfo-canary', 'VirtualService/podinfo', 'AnalysisTemplate/podinfo-webhooks', 'Rollout/podinfo',
    ]);
    // The load-test webhook (type rollout) is called every interval by the background analysis, as Flagger does.
    expect(find(r, 'AnalysisTemplate', 'podinfo-webhooks').spec).toEqual({
      metrics: [{ name: 'load-test', interval: '10s', failureLimit: 2, consecutiveErrorLimit: 2, provider: { webhook: { url: 'http://flagger-loadtester.test/', type: 'rollout', metadata: { cmd: 'hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/' } } } }],
    });
    expect(find(r, 'Rollout', 'podinfo').spec).toEqual({
      replicas: 2,
      selector: { matchLabels: { app: 'podinfo' } },
      workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo', scaleDown: 'onsuccess' },
      progressDeadlineSeconds: 120,
      progressDeadlineAbort: true,
      strategy: {
        canary: {
          canaryService: 'podinfo-canary',
          stableService: 'podinfo-primary',
          trafficRouting: { istio: { virtualService: { name: 'podinfo' } } },
          steps: [{ setWeight: 30 }, { pause: { duration: '10s' } }, { setWeight: 60 }, { pause: { duration: '10s' } }],
          analysis: { templates: [{ templateName: 'podinfo-webhooks' }], successRate: { min: 99 }, latency: { maxMs: 500 }, interval: '10s', failureLimit: 2, startingStep: 1 },
        },
      },
    });
    expect(find(r, 'VirtualService', 'podinfo').spec).toEqual({
      hosts: ['podinfo', 'podinfo.example.com'],
      gateways: ['mesh'],
      http: [{ name: 'primary', retries: { attempts: 3, perTryTimeout: '1s' }, route: [{ destination: { host: 'podinfo-primary' }, weight: 100 }, { destination: { host: 'podinfo-canary' }, weight: 0 }] }],
    });
    expect(find(r, 'Service', 'podinfo-canary').spec).toEqual({ selector: { app: 'podinfo' }, ports: [{ name: 'http', port: 9898, targetPort: 9898, protocol: 'TCP' }] });
  });

  it('a Flagger Canary on NGINX keeps the Ingress as the stable route and turns a MetricTemplate metric into an AnalysisTemplate', () => {
    const r = run(fixture('flagger-nginx.yaml'));
    expect(r.findings.filter((f) => f.severity === 'unmapped').map((f) => `${f.line} ${f.field}: ${f.message}`)).toEqual([]);
    // The confirm-promotion gate is the Rollout's own webhook, asked again every analysis interval as Flagger does.
    expect((find(r, 'Rollout', 'frontend').spec as { strategy: { canary: { webhooks: unknown } } }).strategy.canary.webhooks).toEqual([
      { name: 'promote-gate', type: 'confirm-promotion', url: 'http://flagger-loadtester.test/gate/check', interval: expect.any(String) as unknown },
    ]);
    // autoscalerRef: the HPA among the files is retargeted at the Rollout (a scale subresource) and replaces the one
    // that scaled the Deployment; nothing else of it changes.
    const hpas = r.manifests.filter((m) => m.manifest.kind === 'HorizontalPodAutoscaler');
    expect(hpas).toHaveLength(1);
    expect(hpas[0]?.manifest.spec).toEqual({ scaleTargetRef: { apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', name: 'frontend' }, minReplicas: 3, maxReplicas: 10, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] });
    expect(r.findings.find((f) => f.field === 'spec.autoscalerRef')).toMatchObject({ severity: 'note', line: 64, message: expect.stringContaining('now scales Rollout "frontend"') as unknown });
    const canary = (find(r, 'Rollout', 'frontend').spec as { strategy: { canary: Record<string, unknown> } }).strategy.canary;
    expect([canary.stableService, canary.canaryService, canary.trafficRouting]).toEqual(['frontend', 'frontend-canary', { nginx: { stableIngress: 'frontend' } }]);
    expect((canary.steps as object[]).filter((s) => 'setWeight' in s)).toEqual([{ setWeight: 5 }, { setWeight: 10 }, { setWeight: 25 }, { setWeight: 50 }]);
    expect(canary.analysis).toEqual({ templates: [{ templateName: 'frontend-not-found-percentage' }], successRate: { min: 99 }, interval: '1m', failureLimit: 4, startingStep: 1 });
    const metric = (find(r, 'AnalysisTemplate', 'frontend-not-found-percentage').spec as { metrics: Record<string, unknown>[] }).metrics[0];
    expect(metric).toMatchObject({ successCondition: 'result[0] <= 5', failureLimit: 4, interval: '1m', missingData: 'fail' });
    expect((metric?.provider as { prometheus: { query: string; address: string } }).prometheus.query).toContain('namespace="{{args.namespace}}",ingress="frontend",status!~"404"}[2m]');
  });

  it('a Flagger blue-green run (iterations) through the Gateway API scales the canary up without traffic, then promotes', () => {
    const r = run(fixture('flagger-gatewayapi.yaml'));
    expect(findings(r, 'unmapped')).toEqual(['50 spec.analysis.metrics[1].templateRef']);
    const canary = (find(r, 'Rollout', 'payments').spec as { strategy: { canary: Record<string, unknown> } }).strategy.canary;
    expect(canary.steps).toEqual([{ setCanaryScale: { weight: 100 } }, { pause: { duration: '120s' } }]);
    expect(canary.trafficRouting).toEqual({ gatewayAPI: { httpRoute: 'payments' } });
    expect(find(r, 'HTTPRoute', 'payments').spec).toEqual({
      parentRefs: [{ name: 'public', namespace: 'gateway-system' }],
      hostnames: ['payments.example.com'],
      rules: [{ backendRefs: [{ name: 'payments-primary', port: 8080, weight: 100 }, { name: 'payments-canary', port: 8080, weight: 0 }] }],
    });
    expect(find(r, 'Service', 'payments').metadata.annotations).toEqual({ 'external-dns.alpha.kubernetes.io/hostname': 'payments.example.com' });
  });

  it('an Argo CD Application keeps what Sluice supports and reports the rest', () => {
    const r = run(fixture('argocd-application.yaml'));
    expect(findings(r, 'unmapped')).toEqual([
      '7 metadata.finalizers',
      '19 spec.source.directory.jsonnet',
      '32 spec.syncPolicy.syncOptions[1]',
      '36 spec.syncPolicy.retry.refresh',
      '41 spec.ignoreDifferences',
      '46 spec.revisionHistoryLimit',
    ]);
    expect(find(r, 'Application', 'guestbook')).toEqual({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'guestbook', labels: { team: 'storefront' } },
      spec: {
        source: { repoURL: 'https://git.example.com/platform/config.git', targetRevision: 'main', path: 'guestbook', directory: { recurse: true } },
        destination: { server: 'https://kubernetes.default.svc', namespace: 'convert-guestbook' },
        project: 'default',
        syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'], retry: { limit: 3, backoff: { duration: '5s', factor: 2, maxDuration: '1m' } } },
      },
    });
  });
});

describe('convert: edge cases', () => {
  it('a Canary without a provider is converted for Istio (Flagger\'s default) with a note; an unknown provider runs on replica ratios', () => {
    const canary = (provider: string): string => `apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: a}\nspec:\n${provider}  targetRef: {kind: Deployment, name: a}\n  service: {port: 80}\n  analysis: {interval: 1m, stepWeight: 50}\n`;
    const none = inline(canary(''));
    expect(findings(none, 'note')).toContain('4 spec');
    expect((find(none, 'Rollout', 'a').spec as { strategy: { canary: { trafficRouting: unknown } } }).strategy.canary.trafficRouting).toEqual({ istio: { virtualService: { name: 'a' } } });
    const appmesh = inline(canary('  provider: appmesh\n'));
    expect(findings(appmesh, 'unmapped')).toEqual(['5 spec.provider']);
    expect((find(appmesh, 'Rollout', 'a').spec as { strategy: { canary: Record<string, unknown> } }).strategy.canary.trafficRouting).toBeUndefined();
    expect(printed(appmesh).errors).toEqual([]);
  });

  it('provider linkerd: the Gateway API router on an HTTPRoute whose parent is the apex Service, the builtin checks on Linkerd\'s metrics', () => {
    const r = inline('apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: podinfo, namespace: test}\nspec:\n  provider: linkerd\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}\n  service: {port: 9898}\n  analysis:\n    interval: 30s\n    stepWeight: 10\n    maxWeight: 50\n    metrics:\n    - {name: request-success-rate, thresholdRange: {min: 99}, interval: 1m}\n    - {name: request-duration, thresholdRange: {max: 500}, interval: 1m}\n');
    expect(findings(r, 'unmapped')).toEqual([]);
    const canary = (find(r, 'Rollout', 'podinfo').spec as { strategy: { canary: { trafficRouting: unknown; stableService: string; canaryService: string; analysis: Record<string, unknown> } } }).strategy.canary;
    expect(canary.trafficRouting).toEqual({ gatewayAPI: { httpRoute: 'podinfo' } });
    expect([canary.stableService, canary.canaryService]).toEqual(['podinfo-primary', 'podinfo-canary']);
    expect(canary.analysis).toMatchObject({ gatewayAPIMetrics: 'linkerd', successRate: { min: 99 }, latency: { maxMs: 500 } });
    expect(find(r, 'HTTPRoute', 'podinfo').spec).toEqual({
      parentRefs: [{ group: '', kind: 'Service', name: 'podinfo', port: 9898 }],
      rules: [{ backendRefs: [{ name: 'podinfo-primary', port: 9898, weight: 100 }, { name: 'podinfo-canary', port: 9898, weight: 0 }] }],
    });
    expect(printed(r).errors).toEqual([]);
  });

  it('an Argo Experiment converts by its apiVersion alone; an experiment template\'s weight is kept on Istio or the Gateway API, left out and reported otherwise; a bad one names the field', () => {
    const experiment = 'apiVersion: argoproj.io/v1alpha1\nkind: Experiment\nmetadata: {name: e}\nspec:\n  duration: 5m\n  templates:\n    - name: baseline\n      replicas: 1\n      selector: {matchLabels: {app: web}}\n      template:\n        metadata: {labels: {app: web}}\n        spec: {containers: [{name: a, image: x}]}\n  analyses:\n    - {name: compare, templateName: compare, requiredForCompletion: true}\n';
    const r = inline(experiment);
    expect(r.findings).toEqual([]);
    expect(convertExitCode(r)).toBe(0);
    expect(r.manifests[0]?.manifest).toEqual({ ...(parse(experiment) as object), apiVersion: 'sluice.dev/v1alpha1' });
    const weighted = inline(argoWeighted);
    expect(findings(weighted, 'unmapped')).toEqual(['13 spec.strategy.canary.steps[0].experiment.templates[0].weight']);
    expect((find(weighted, 'Rollout', 'web') as Manifest & { spec: { strategy: { canary: { steps: unknown[] } } } }).spec.strategy.canary.steps[0]).toEqual({ experiment: { templates: [{ name: 'canary', specRef: 'canary' }] } });
    const routed = inline(argoWeighted.replace('    canary:\n', '    canary:\n      canaryService: web-canary\n      stableService: web-stable\n      trafficRouting: {istio: {virtualService: {name: web}}}\n'));
    expect(routed.findings.filter((f) => f.severity !== 'note')).toEqual([]);
    expect((find(routed, 'Rollout', 'web') as Manifest & { spec: { strategy: { canary: { steps: unknown[] } } } }).spec.strategy.canary.steps[0]).toEqual({ experiment: { templates: [{ name: 'canary', specRef: 'canary', weight: 5 }] } });
    const bad = inline(experiment.replace('templateName: compare', 'templateName: ""').replace('duration: 5m', 'duration: 5 minutes'));
    expect(bad.findings.filter((f) => f.severity === 'error').map((f) => `${f.line} ${f.field}`)).toEqual(['5 spec.duration', '14 spec.analyses[0].templateName']);
  });

  it('a DaemonSet target, an unsupported Argo kind and invalid YAML are errors or unmapped objects, never silent', () => {
    const r = inline('apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: d}\nspec:\n  targetRef: {kind: DaemonSet, name: d}\n---\napiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: e}\nspec: {}\n');
    expect(r.findings.map((f) => `${f.severity} ${f.line} ${f.object} ${f.field}`)).toEqual(['error 5 Canary/d spec.targetRef', 'unmapped 7 AppProject/e (root)']);
    expect(r.manifests).toEqual([]);
    expect(convertExitCode(r)).toBe(1);
    expect(convertExitCode(inline('a: [1,\n'))).toBe(1);
  });

  it('an Argo object without metadata (or with metadata that is not a map) is an error at metadata, never a crash', () => {
    for (const meta of ['', 'metadata: web\n', 'metadata: [a]\n', 'metadata: null\n']) {
      const r = inline(`apiVersion: argoproj.io/v1alpha1\nkind: Rollout\n${meta}spec:\n  replicas: 1\n`);
      expect(r.findings.map((f) => `${f.severity} ${f.field}`)).toEqual(['error metadata']);
      expect(r.findings[0]?.message).toMatch(/^must be a mapping with at least a name, got .*: Rollout not converted$/);
      expect(r.manifests).toEqual([]);
      expect(convertExitCode(r)).toBe(1);
    }
  });

  it('an Argo CD Application for another cluster with several sources keeps them all, ref and $ref value files included', () => {
    const r = inline('apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x, namespace: argocd}\nspec:\n  sources:\n    - {repoURL: "https://g/x.git", path: a, helm: {valueFiles: [v.yaml, $values/prod.yaml]}}\n    - {repoURL: "https://g/y.git", ref: values}\n  destination: {server: "https://prod.example:6443", namespace: x}\n');
    expect(findings(r, 'unmapped')).toEqual([]);
    expect(find(r, 'Application', 'x').spec).toEqual({
      sources: [
        { repoURL: 'https://g/x.git', path: 'a', helm: { valueFiles: ['v.yaml', '$values/prod.yaml'] } },
        { repoURL: 'https://g/y.git', ref: 'values' },
      ],
      destination: { server: 'https://prod.example:6443', namespace: 'x' },
    });
    expect(convertExitCode(r)).toBe(0);
  });

  it("an Argo CD Application's Helm sources keep Argo CD's field names (a Git path or a Helm repository chart); $ref value files go through", () => {
    const r = inline(
      'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: h}\nspec:\n  source:\n    repoURL: "https://g/c.git"\n    path: charts/web\n    helm:\n      releaseName: web\n      valueFiles: [values-prod.yaml, $values/prod.yaml]\n      parameters: [{name: image.tag, value: "1.2"}]\n      valuesObject: {replicas: 2}\n      skipCrds: true\n      passCredentials: true\n  destination: {namespace: web}\n---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: repo}\nspec:\n  source: {repoURL: "https://charts.example", chart: web, targetRevision: 1.x}\n  destination: {namespace: web}\n',
    );
    expect(find(r, 'Application', 'h').spec).toEqual({
      source: { repoURL: 'https://g/c.git', path: 'charts/web', helm: { releaseName: 'web', valueFiles: ['values-prod.yaml', '$values/prod.yaml'], parameters: [{ name: 'image.tag', value: '1.2' }], valuesObject: { replicas: 2 }, skipCrds: true } },
      destination: { namespace: 'web' },
    });
    // With a single source a $ref names nothing: the converted Application does not validate, and says where.
    expect(findings(r, 'unmapped')).toEqual(['14 spec.source.helm.passCredentials']);
    expect(findings(r, 'error')).toEqual(['10 spec.source.helm.valueFiles[1]']);
    expect(find(r, 'Application', 'repo').spec).toMatchObject({ source: { repoURL: 'https://charts.example', chart: 'web', targetRevision: '1.x' } });
  });

  it('ClusterAnalysisTemplates and AnalysisRuns convert like templates; runtime fields and status are dropped with a note', () => {
    const r = inline('apiVersion: argoproj.io/v1alpha1\nkind: ClusterAnalysisTemplate\nmetadata: {name: c, uid: "1", resourceVersion: "5"}\nspec:\n  metrics: [{name: m, provider: {web: {url: "http://x", jsonPath: "{$.ok}"}}, successCondition: "result == true"}]\nstatus: {}\n');
    expect(findings(r, 'note')).toEqual(['3 metadata']);
    expect(find(r, 'ClusterAnalysisTemplate', 'c').metadata).toEqual({ name: 'c' });
    expect(convertExitCode(r)).toBe(0);
  });
});

describe('Fields', () => {
  it('reports an unread map once, as high up as possible, and only the unread parts of a read one', () => {
    const f = new Fields({ a: { b: 1, c: { d: 2 } }, e: [1, { g: 3 }], h: { i: 1 } });
    f.take('a', 'b');
    f.take('e', 0);
    expect(f.unread()).toEqual([['a', 'c'], ['e', 1], ['h']]);
    expect(f.drainUnread()).toHaveLength(3);
    expect(f.unread()).toEqual([]);
  });
});

describe('convert: nothing dropped silently', () => {
  // A field Flagger or Argo CD may add tomorrow, put anywhere in the objects: each must come back as unmapped.
  const inject = (name: string, kind: string, paths: (string | number)[][]): ConvertResult => {
    const docs = parseAllDocuments(readFileSync(join(FIXTURES, name), 'utf8'));
    const doc = docs.find((d) => d.get('kind') === kind);
    for (const p of paths) doc?.setIn([...p, 'zzzUnknown'], 1);
    return inline(docs.map((d) => d.toString()).join(''));
  };

  // (Istio route fields such as service.retries are copied whole into the generated VirtualService: not dropped.)
  it.each([
    ['flagger-istio.yaml', 'Canary', [['spec'], ['spec', 'service'], ['spec', 'analysis'], ['spec', 'analysis', 'metrics', 0], ['spec', 'analysis', 'metrics', 1, 'thresholdRange'], ['spec', 'targetRef'], ['metadata']]],
    ['flagger-nginx.yaml', 'MetricTemplate', [['spec'], ['spec', 'provider']]],
    ['argocd-application.yaml', 'Application', [['spec'], ['spec', 'source'], ['spec', 'syncPolicy', 'automated'], ['spec', 'syncPolicy', 'retry', 'backoff'], ['spec', 'destination'], ['metadata']]],
    ['argo-rollouts.yaml', 'Rollout', [['spec'], ['spec', 'strategy', 'canary'], ['spec', 'strategy', 'canary', 'steps', 0], ['spec', 'strategy', 'canary', 'trafficRouting']]],
  ] as const)('%s: an unknown field anywhere in the %s is reported', (name, kind, paths) => {
    const r = inject(name, kind, paths.map((p) => [...p]));
    const reported = r.findings.filter((f) => f.severity === 'unmapped' && f.field.endsWith('zzzUnknown')).map((f) => f.field);
    expect(reported.sort()).toEqual(paths.map((p) => [...p, 'zzzUnknown'].map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('')).sort());
  });
});

describe('convert: input of the wrong type is an error at its field, never misread', () => {
  const istio = fixture('flagger-istio.yaml');
  it('Flagger service.hosts and gateways must be lists (a string is not split into characters)', () => {
    const r = run({ path: istio.path, text: istio.text.replace('    hosts:\n      - podinfo.example.com\n', '    hosts: podinfo.example.com\n').replace('    gateways:\n      - mesh\n', '    gateways: mesh\n') });
    expect(r.findings.filter((f) => f.severity === 'error').map((f) => `${f.line}:${f.column} ${f.field}: ${f.message}`)).toEqual([
      '40:5 spec.service.gateways: must be a list, got a string "mesh"',
      '41:5 spec.service.hosts: must be a list, got a string "podinfo.example.com"',
    ]);
    expect(convertExitCode(r)).toBe(1);
    expect(JSON.stringify(r.manifests)).not.toContain('"p","o"');
  });

  it('the other Flagger fields it reads: stepWeights, service labels, templateVariables, a MetricTemplate and the target Deployment', () => {
    const canary = (analysis: string, extra = ''): string => `apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: a}\nspec:\n  targetRef: {kind: Deployment, name: a}\n  service: {port: 80, canary: {labels: [x]}}\n  analysis:\n${analysis}${extra}`;
    const errors = (r: ConvertResult): string[] => r.findings.filter((f) => f.severity === 'error').map((f) => `${f.file}:${f.line} ${f.field}: ${f.message}`);
    expect(errors(inline(canary('    interval: 1m\n    stepWeights: [10, "x"]\n')))).toEqual([
      'in.yaml:6 spec.service.canary.labels: must be a map, got a list',
      'in.yaml:9 spec.analysis.stepWeights[1]: must be a number, got a string "x"',
    ]);
    const metric = '    stepWeight: 50\n    metrics: [{name: m, templateRef: {name: mt}, thresholdRange: {max: 1}, templateVariables: [a]}]\n';
    const mt = '---\napiVersion: flagger.app/v1beta1\nkind: MetricTemplate\nmetadata: {name: mt}\nspec: {provider: {type: prometheus}, query: [up]}\n';
    expect(errors(inline(canary(metric, mt)))).toEqual([
      'in.yaml:6 spec.service.canary.labels: must be a map, got a list',
      'in.yaml:9 spec.analysis.metrics[0].templateRef: MetricTemplate "mt" (in.yaml:14): spec.query: must be a string, got a list: metric left out',
      'in.yaml:9 spec.analysis.metrics[0].templateVariables: must be a map, got a list',
      'in.yaml:14 spec.query: must be a string, got a list',
    ]);
    const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  selector: {matchLabels: app=a}\n---\n';
    expect(errors(inline(deployment + canary('    stepWeight: 50\n')))).toEqual([
      'in.yaml:11 spec.targetRef: Deployment "a" (in.yaml:5): spec.selector.matchLabels: must be a map, got a string "app=a"',
    ]);
  });
});

describe('convert: the self-check', () => {
  const argo = 'apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: a, image: x}]}\n  strategy:\n    canary:\n      steps:\n        - experiment: {templates: []}\n        - setWeight: 150\n        - pause: {duration: "5 minutes"}\n';
  it('points a converted object that does not validate at the source field, across the steps it removed', () => {
    const r = inline(argo);
    expect(r.findings.filter((f) => f.severity === 'error').map((f) => `${f.line}:${f.column} ${f.field}: ${f.message}`)).toEqual([
      '12:24 spec.strategy.canary.steps[0].experiment.templates: the converted Rollout "web" does not validate: needs at least one template (specRef: canary or stable)',
      '13:11 spec.strategy.canary.steps[1].setWeight: the converted Rollout "web" does not validate: must be between 0 and 100, got 150',
      '14:19 spec.strategy.canary.steps[2].pause.duration: the converted Rollout "web" does not validate: invalid duration "5 minutes": unexpected "5 minutes" (units: ns, us, ms, s, m, h)',
    ]);
    expect(convertExitCode(r)).toBe(1);
  });

  it('points a finding about a converted source at the source it was read from', () => {
    const r = inline('apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec:\n  sources:\n    - repoURL: "https://g/x.git"\n      directory:\n        include: [a]\n  destination: {namespace: x}\n');
    expect(r.findings.filter((f) => f.severity === 'error').map((f) => `${f.line}:${f.column} ${f.field}`)).toEqual(['8:9 spec.sources[0].directory.include']);
  });

  it('prints strings that YAML 1.1 (kubectl) would read as booleans quoted, so they stay strings', () => {
    const r = inline('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {enabled: "yes"}}\ndata: {a: "on", b: "0777"}\n');
    expect(toYaml(r)).toContain('enabled: "yes"');
    expect(parseAllDocuments(toYaml(r), { version: '1.1' })[0]?.toJS()).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { enabled: 'yes' } }, data: { a: 'on', b: '0777' } });
  });

  it("keeps Argo's job provider as written (the Job spec after only the apiVersion change), and refuses one without a Job spec", () => {
    const job = 'apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: t}\nspec:\n  args: [{name: host}]\n  metrics:\n    - name: j\n      provider:\n        job:\n          spec:\n            backoffLimit: 1\n            template:\n              spec:\n                restartPolicy: Never\n                containers: [{name: smoke, image: curl, command: [curl, "{{args.host}}"]}]\n';
    const r = inline(job);
    expect(r.findings.map((f) => `${f.severity} ${f.field}: ${f.message}`)).toEqual([]);
    const out = find(r, 'AnalysisTemplate', 't') as unknown as { apiVersion: string; spec: { metrics: { provider: unknown }[] } };
    expect(out.apiVersion).toBe('sluice.dev/v1alpha1');
    expect(out.spec.metrics[0]?.provider).toEqual({ job: { spec: { backoffLimit: 1, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'smoke', image: 'curl', command: ['curl', '{{args.host}}'] }] } } } } });
    expect(convertExitCode(r)).toBe(0);
    const bad = inline('apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: t}\nspec:\n  metrics:\n    - name: j\n      provider:\n        job: {spec: {template: {spec: {restartPolicy: Never}}}}\n');
    expect(bad.findings.filter((f) => f.severity === 'error').map((f) => `${f.line} ${f.field}`)).toEqual(['8 spec.metrics[0].provider.job.spec.template.spec.containers']);
    expect(convertExitCode(bad)).toBe(1);
  });

  it('autoscalerRef without the HPA among the files: a note with the exact change', () => {
    const canary = 'apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: web}\nspec:\n  provider: kubernetes\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  autoscalerRef: {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, name: web}\n  service: {port: 80}\n  analysis: {interval: 1m, iterations: 2}\n';
    const r = inline(canary);
    expect(r.findings.filter((f) => f.field === 'spec.autoscalerRef').map((f) => `${f.severity} ${f.message}`)).toEqual([
      'note HorizontalPodAutoscaler "web" is not in the converted files: set its spec.scaleTargetRef to {"apiVersion":"sluice.dev/v1alpha1","kind":"Rollout","name":"web"} (a Rollout has a scale subresource)',
    ]);
    expect(r.findings.filter((f) => f.severity === 'unmapped')).toEqual([]);
  });

  it("portDiscovery exposes the Deployment's container ports on every generated Service, besides service.port", () => {
    const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n        - {name: app, image: i, ports: [{name: http, containerPort: 8080}, {name: grpc, containerPort: 9090}]}\n        - {name: metrics, image: m, ports: [{containerPort: 9797}]}\n';
    const canary = 'apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: web}\nspec:\n  provider: istio\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  service: {port: 80, targetPort: 8080, portDiscovery: true}\n  analysis: {interval: 1m, stepWeight: 50, maxWeight: 50}\n';
    const r = inline(`${deployment}---\n${canary}`);
    expect(r.findings.filter((f) => f.severity !== 'note')).toEqual([]);
    const expected = [
      { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
      { name: 'grpc', port: 9090, targetPort: 9090, protocol: 'TCP' },
      { name: 'tcp-9797', port: 9797, targetPort: 9797, protocol: 'TCP' },
    ];
    for (const svc of ['web', 'web-primary', 'web-canary']) expect((find(r, 'Service', svc).spec as { ports: unknown }).ports).toEqual(expected);
    expect(toYaml(r)).not.toContain('*a');
    // Without the Deployment its ports are unknown: left out, and said so.
    const alone = inline(canary);
    expect(alone.findings.filter((f) => f.severity === 'unmapped').map((f) => f.field)).toEqual(['spec.service.portDiscovery']);
  });

  it('Flagger gates and notifications become the Rollout\'s webhooks, with their timeout, retries and metadata', () => {
    const hooks = [
      '      - {name: go, type: confirm-rollout, url: "http://gate.shop/go", timeout: 5s, retries: 2}',
      '      - {name: more, type: confirm-traffic-increase, url: "http://gate.shop/more"}',
      '      - {name: ship, type: confirm-promotion, url: "http://gate.shop/ship", metadata: {team: web}}',
      '      - {name: stop, type: rollback, url: "http://gate.shop/stop"}',
      '      - {name: tell, type: post-rollout, url: "http://chat.shop/done", muteAlert: true}',
      '      - {name: log, type: event, url: "http://chat.shop/events"}',
    ].join('\n');
    const r = inline(`apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: web, namespace: shop}\nspec:\n  provider: istio\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  service: {port: 80}\n  analysis:\n    interval: 30s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50\n    webhooks:\n${hooks}\n`);
    expect(r.findings.filter((f) => f.severity !== 'note')).toEqual([]);
    expect(r.findings.find((f) => f.field === 'spec.analysis.webhooks')?.message).toBe('gates and notifications (confirm-rollout, confirm-traffic-increase, confirm-promotion, rollback, post-rollout, event): the Rollout\'s webhooks (spec.strategy.canary.webhooks); a held gate is asked again every 30s');
    const c = (find(r, 'Rollout', 'web').spec as { strategy: { canary: { webhooks: unknown } } }).strategy.canary;
    expect(c.webhooks).toEqual([
      { name: 'go', type: 'confirm-rollout', url: 'http://gate.shop/go', timeout: '5s', retries: 2, interval: '30s' },
      { name: 'more', type: 'confirm-traffic-increase', url: 'http://gate.shop/more', interval: '30s' },
      { name: 'ship', type: 'confirm-promotion', url: 'http://gate.shop/ship', interval: '30s', metadata: { team: 'web' } },
      { name: 'stop', type: 'rollback', url: 'http://gate.shop/stop', interval: '30s' },
      { name: 'tell', type: 'post-rollout', url: 'http://chat.shop/done' },
      { name: 'log', type: 'event', url: 'http://chat.shop/events' },
    ]);
    expect(convertExitCode(r)).toBe(0);
  });

  it('Flagger pre-rollout webhooks become a first analysis step, rollout ones the background analysis; a bad URL is an error at the field', () => {
    const canary = (hooks: string) => `apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: web, namespace: shop}\nspec:\n  provider: istio\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  service: {port: 80}\n  analysis:\n    interval: 30s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50\n    webhooks:\n${hooks}`;
    const r = inline(canary('      - {name: smoke, type: pre-rollout, url: "http://tester.shop/", timeout: 15s, metadata: {type: bash, cmd: "curl -sf http://web-canary.shop/"}}\n      - {name: load, url: "http://tester.shop/", muteAlert: true, metadata: {cmd: "hey -z 1m http://web-canary.shop/"}}\n'));
    expect(r.findings.filter((f) => f.severity !== 'note')).toEqual([]);
    expect(find(r, 'AnalysisTemplate', 'web-pre-rollout')).toMatchObject({ metadata: { name: 'web-pre-rollout', namespace: 'shop' }, spec: { metrics: [{ name: 'smoke', count: 1, consecutiveErrorLimit: 0, provider: { webhook: { url: 'http://tester.shop/', type: 'pre-rollout', timeout: '15s', metadata: { type: 'bash', cmd: 'curl -sf http://web-canary.shop/' } } } }] } });
    expect(find(r, 'AnalysisTemplate', 'web-webhooks').spec).toEqual({ metrics: [{ name: 'load', interval: '30s', failureLimit: 1, consecutiveErrorLimit: 1, provider: { webhook: { url: 'http://tester.shop/', type: 'rollout', metadata: { cmd: 'hey -z 1m http://web-canary.shop/' } } } }] });
    const c = (find(r, 'Rollout', 'web').spec as { strategy: { canary: { steps: unknown[]; analysis: unknown } } }).strategy.canary;
    expect(c.steps).toEqual([{ analysis: { templates: [{ templateName: 'web-pre-rollout' }] } }, { setWeight: 50 }, { pause: { duration: '30s' } }]);
    expect(c.analysis).toEqual({ templates: [{ templateName: 'web-webhooks' }], startingStep: 2 });
    expect(convertExitCode(r)).toBe(0);
    const bad = inline(canary('      - {name: smoke, type: pre-rollout, url: "tester.shop/check"}\n'));
    expect(bad.findings.filter((f) => f.severity === 'error').map((f) => `${f.line}:${f.column} ${f.field}: ${f.message}`)).toEqual(['14:42 spec.analysis.webhooks[0].url: must be an http(s) URL, got "tester.shop/check"']);
  });
});
