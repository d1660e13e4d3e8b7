import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatFinding, lintExitCode, summary } from './format.ts';
import { lint } from './lint.ts';
import { parseFieldPath, parseSource } from './source.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures');
const fixture = (rel: string): { path: string; text: string } => ({ path: `test/fixtures/${rel}`, text: readFileSync(join(FIXTURES, rel), 'utf8') });


describe('lint', () => {
  it('checks experiment steps and Experiments, naming the field of each mistake', () => {
    expect(lint([fixture('lint/experiments.yaml')]).findings.map(formatFinding)).toEqual([
      'test/fixtures/lint/experiments.yaml:16:94: spec.strategy.canary.steps[2].experiment.templates[2].name: duplicate name "canary"',
      'test/fixtures/lint/experiments.yaml:18:33: warning: spec.strategy.canary.steps[2].experiment.analyses[0].templateName: AnalysisTemplate "nowhere" not found in the linted files: it must exist in the cluster (not checked offline)',
      'test/fixtures/lint/experiments.yaml:25:8: spec.templates[0].name: must be a lowercase DNS label (it names the ReplicaSet), got "Base"',
      'test/fixtures/lint/experiments.yaml:25:20: spec.templates[0].selector: does not match spec.templates[0].template.metadata.labels {"app":"web"}',
      'test/fixtures/lint/experiments.yaml:27:17: warning: spec.analyses[0].templateName: AnalysisTemplate "nowhere" not found in the linted files: it must exist in the cluster (not checked offline)',
    ]);
  });

  it('reports each mistake at its line and column, naming the field', () => {
    const result = lint([fixture('lint/broken.yaml')]);
    expect(result.findings.map(formatFinding)).toEqual([
      'test/fixtures/lint/broken.yaml:32:17: warning: spec.strategy.canary.steps[2].analysis.templates[1].templateName: AnalysisTemplate "not-in-these-files" not found in the linted files: it must exist in the cluster (not checked offline)',
      'test/fixtures/lint/broken.yaml:33:11: spec.strategy.canary.steps[3].setWeight: must be between 0 and 100, got 150',
      'test/fixtures/lint/broken.yaml:34:19: spec.strategy.canary.steps[4].pause.duration: invalid duration "5 minutes": unexpected "5 minutes" (units: ns, us, ms, s, m, h)',
      'test/fixtures/lint/broken.yaml:35:11: spec.strategy.canary.steps[5].setWieght: unknown field: the CRD prunes it, and kubectl apply (strict field validation) rejects it',
      'test/fixtures/lint/broken.yaml:35:11: spec.strategy.canary.steps[5]: a step must set exactly one of setWeight, pause, setCanaryScale, analysis, experiment, setHeaderRoute, setMirrorRoute; found none',
      'test/fixtures/lint/broken.yaml:46:7: spec.metrics[0].successCondition: references undeclared arg "max"; declare it in spec.args',
      'test/fixtures/lint/broken.yaml:51:11: spec.metrics[0].provider.prometheus.timout: unknown field: the CRD prunes it, and kubectl apply (strict field validation) rejects it',
    ]);
    expect(lintExitCode(result)).toBe(1);
    expect(summary(result)).toBe('6 errors, 1 warning in 2 Sluice objects (0 other objects left to the apiserver)');
  });

  it('passes a clean set, counting templates defined beside the Rollout as present', () => {
    const result = lint([fixture('lint/valid.yaml')]);
    expect(result.findings).toEqual([]);
    expect({ checked: result.checked, skipped: result.skipped, exit: lintExitCode(result) }).toEqual({ checked: 3, skipped: 1, exit: 0 });
  });

  it('finds a template in another linted file, and warns (exit 0) about one that is in none', () => {
    const rollout = fixture('lint/valid.yaml');
    const onlyRollout = { path: 'r.yaml', text: rollout.text.split('---\n').slice(1, 2).join('') };
    expect(lint([onlyRollout]).findings.map((f) => `${f.severity} ${f.line}`)).toEqual(['warning 21']);
    expect(lintExitCode(lint([onlyRollout]))).toBe(0);
    expect(lint([onlyRollout, rollout]).findings.filter((f) => f.file === 'r.yaml')).toEqual([]);
  });

  it('falls back to the nearest parent for a required field that is missing, and reports schema types', () => {
    const text = ['apiVersion: sluice.dev/v1alpha1', 'kind: Application', 'metadata:', '  name: a', 'spec:', '  destination:', '    namespace: 7', ''].join('\n');
    expect(lint([{ path: 'a.yaml', text }]).findings.map(formatFinding)).toEqual([
      'a.yaml:5:1: spec.source: required: set spec.source (or spec.sources for several sources)',
      'a.yaml:7:5: spec.destination.namespace: Invalid input: expected string, received number',
    ]);
  });

  it('names Argo and Flagger objects, checks Argo ones as Sluice would, and reports YAML errors and duplicates', () => {
    const text = [
      'apiVersion: argoproj.io/v1alpha1', 'kind: AnalysisTemplate', 'metadata: {name: t}', 'spec:', '  metrics:', '    - name: m', '      provider: {datadog: {query: x}}',
      '---', 'apiVersion: flagger.app/v1beta1', 'kind: Canary', 'metadata: {name: c}', 'spec: {}',
      '---', 'apiVersion: sluice.dev/v1alpha1', 'kind: AnalysisTemplate', 'metadata: {name: t}', 'spec: {metrics: [{name: m, provider: {web: {url: "http://x"}}}]}',
      '',
    ].join('\n');
    const lines = lint([{ path: 'x.yaml', text }, { path: 'bad.yaml', text: 'a: [1, 2\n' }]).findings.map(formatFinding);
    expect(lines).toEqual([
      expect.stringMatching(/^bad\.yaml:2:1: \(root\): invalid YAML: /),
      expect.stringMatching(/^x\.yaml:1:1: apiVersion: Argo's argoproj\.io\/v1alpha1: Sluice serves AnalysisTemplate as sluice\.dev\/v1alpha1/),
      'x.yaml:7:7: spec.metrics[0].provider: set exactly one provider of prometheus, web, job, webhook; found none',
      'x.yaml:7:18: spec.metrics[0].provider.datadog: unknown field: the CRD prunes it, and kubectl apply (strict field validation) rejects it',
      expect.stringMatching(/^x\.yaml:9:1: apiVersion: flagger\.app\/v1beta1 Canary is Flagger's API, not Sluice's: `kubectl sluice convert`/),
      'x.yaml:16:12: metadata.name: AnalysisTemplate "t" is defined twice: also at x.yaml:3',
    ]);
  });
});

describe('lint: the job metric provider', () => {
  it('passes a job metric with a Job spec and names the field a template without one lacks', () => {
    const head = 'apiVersion: sluice.dev/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: t}\nspec:\n  metrics:\n    - name: j\n      provider:\n';
    const good = lint([{ path: 'j.yaml', text: `${head}        job: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: i}]}}}}\n` }]);
    expect(good.findings.map(formatFinding)).toEqual([]);
    const result = lint([{ path: 'j.yaml', text: `${head}        job: {metadata: {labels: {a: b}}}\n` }]);
    expect(result.findings.map(formatFinding)).toEqual(['j.yaml:8:9: spec.metrics[0].provider.job.spec: required: a job metric needs a Job spec with a pod template and containers (provider.job.spec.template.spec.containers)']);
    expect(lintExitCode(result)).toBe(1);
  });

  it('names spec.strategy.canary.maxSurge when maxSurge and maxUnavailable are both 0', () => {
    const text = 'apiVersion: sluice.dev/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  selector: {matchLabels: {app: r}}\n  template: {metadata: {labels: {app: r}}, spec: {containers: [{name: c, image: i}]}}\n  strategy:\n    canary:\n      maxSurge: 0\n      maxUnavailable: 0\n';
    expect(lint([{ path: 'r.yaml', text }]).findings.map(formatFinding)).toEqual(['r.yaml:9:7: spec.strategy.canary.maxSurge: maxSurge and maxUnavailable must not both be 0: no pod could ever be replaced']);
  });

  it('names a webhook whose URL is not http(s), a repeated webhook name, a bad duration and an unknown type', () => {
    const rollout = (hooks: string[]): string => `apiVersion: sluice.dev/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  selector: {matchLabels: {app: r}}\n  template: {metadata: {labels: {app: r}}, spec: {containers: [{name: c, image: i}]}}\n  strategy:\n    canary:\n      webhooks:\n${hooks.join('\n')}\n`;
    const text = rollout(['        - {name: ok, type: confirm-promotion, url: "https://gate.example/ok"}', '        - {name: ok, type: rollback, url: "ftp://gate.example/x", timeout: soon}']);
    expect(lint([{ path: 'r.yaml', text }]).findings.map(formatFinding)).toEqual([
      'r.yaml:11:12: spec.strategy.canary.webhooks[1].name: "ok" is the name of an earlier webhook: names must be unique',
      'r.yaml:11:38: spec.strategy.canary.webhooks[1].url: must be an http(s) URL, got "ftp://gate.example/x"',
      expect.stringMatching(/^r\.yaml:11:\d+: spec\.strategy\.canary\.webhooks\[1\]\.timeout: /) as unknown as string,
    ]);
    const unknown = rollout(['        - {name: z, type: approve, url: "http://gate.example/z"}']);
    expect(lint([{ path: 'u.yaml', text: unknown }]).findings.map(formatFinding)[0]).toMatch(/^u\.yaml:10:21: spec\.strategy\.canary\.webhooks\[0\]\.type: Invalid option: expected one of "confirm-rollout"/);
  });
});

describe('source positions', () => {
  it('locates fields in a List item and parses quoted path segments', () => {
    const { documents } = parseSource('l.yaml', 'kind: List\nitems:\n  - kind: A\n    spec:\n      plugins:\n        "a/b": {x: 1}\n');
    expect(documents[0]?.locate(['spec', 'plugins', 'a/b', 'x'])).toEqual({ line: 6, column: 17 });
    expect(parseFieldPath('spec.plugins["a/b"].x[2]')).toEqual(['spec', 'plugins', 'a/b', 'x', 2]);
  });
});

describe('lint: workloadRef', () => {
  it('checks the selector against the pods of a workloadRef Deployment defined in the linted files', () => {
    const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: a, image: x}]}\n';
    const rollout = (app: string): string => `---\napiVersion: sluice.dev/v1alpha1\nkind: Rollout\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: ${app}}}\n  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  strategy: {canary: {steps: [{setWeight: 50}]}}\n`;
    expect(lint([{ path: 'w.yaml', text: deployment + rollout('web') }]).findings).toEqual([]);
    expect(lint([{ path: 'w.yaml', text: deployment + rollout('api') }]).findings.map(formatFinding)).toEqual([
      'w.yaml:14:3: spec.selector: does not match the pod labels {"app":"web"} of Deployment "web" (w.yaml:1)',
    ]);
  });
});

describe('lint: the objects a Rollout names, when they are in the linted files', () => {
  const rollout = (canary: string): string => `apiVersion: sluice.dev/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: a, image: x}]}
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
${canary}      steps: [{setWeight: 50}]
`;
  const service = (name: string, app: string): string => `---\napiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec: {selector: {app: ${app}}, ports: [{port: 80}]}\n`;
  const routed = (router: string, object: string): string => rollout(`      trafficRouting: ${router}\n`) + service('web-stable', 'web') + service('web-canary', 'web') + object;

  it('reports a route that does not send to both Services, and a Service that does not select the pods', () => {
    const route = '---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: web}\nspec: {rules: [{backendRefs: [{name: web-stable, port: 80}]}]}\n';
    expect(lint([{ path: 'r.yaml', text: routed('{gatewayAPI: {httpRoute: web}}', route) }]).findings.map(formatFinding)).toEqual([
      'r.yaml:13:37: spec.strategy.canary.trafficRouting.gatewayAPI.httpRoute: HTTPRoute "web" (r.yaml:26) has no rule with backendRefs to both web-stable and web-canary',
    ]);
    const vs = '---\napiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: web}\nspec: {http: [{route: [{destination: {host: web-stable}}, {destination: {host: web-canary}}]}]}\n';
    expect(lint([{ path: 'v.yaml', text: routed('{istio: {virtualService: {name: web}}}', vs) }]).findings).toEqual([]);
    const ingress = '---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec: {rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}\n';
    expect(lint([{ path: 'i.yaml', text: routed('{nginx: {stableIngress: web}}', ingress) }]).findings.map((f) => `${f.field}: ${f.message}`)).toEqual([
      'spec.strategy.canary.trafficRouting.nginx.stableIngress: Ingress "web" (i.yaml:26) has no path to the stable Service web-stable',
    ]);
    const wrongService = rollout('') + service('web-stable', 'web') + service('web-canary', 'webb');
    expect(lint([{ path: 's.yaml', text: wrongService }]).findings.map((f) => `${f.line} ${f.field}: ${f.message}`)).toEqual([
      '11 spec.strategy.canary.canaryService: Service "web-canary" (s.yaml:20) selects {"app":"webb"}, which the Rollout\'s pods {"app":"web"} do not carry',
    ]);
  });

  it('reports a route or Service of the wrong shape at its own field and line, and keeps the other findings', () => {
    const withBadWeight = (text: string): string => text.replace('steps: [{setWeight: 50}]', 'steps: [{setWeight: 150}]');
    const route = '---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: web}\nspec: {rules: {a: 1}}\n';
    expect(lint([{ path: 'r.yaml', text: withBadWeight(routed('{gatewayAPI: {httpRoute: web}}', route)) }]).findings.map(formatFinding)).toEqual([
      'r.yaml:14:16: spec.strategy.canary.steps[0].setWeight: must be between 0 and 100, got 150',
      'r.yaml:29:8: spec.rules: must be a list, got a map (HTTPRoute "web", which Rollout "web" routes through: not checked against the Rollout)',
    ]);
    const vs = '---\napiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: web}\nspec:\n  http: nope\n';
    expect(lint([{ path: 'v.yaml', text: routed('{istio: {virtualService: {name: web}}}', vs) }]).findings.map(formatFinding)).toEqual([
      'v.yaml:30:3: spec.http: must be a list, got a string "nope" (VirtualService "web", which Rollout "web" routes through: not checked against the Rollout)',
    ]);
    const deepVs = '---\napiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: web}\nspec: {http: [{route: {destination: {host: web-stable}}}]}\n';
    expect(lint([{ path: 'v.yaml', text: routed('{istio: {virtualService: {name: web}}}', deepVs) }]).findings.map((f) => `${f.field}: ${f.message.split(' (')[0] ?? ''}`)).toEqual([
      'spec.http[0].route: must be a list, got a map',
    ]);
    const ingress = '---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec: {rules: [{http: {paths: "/"}}]}\n';
    expect(lint([{ path: 'i.yaml', text: routed('{nginx: {stableIngress: web}}', ingress) }]).findings.map((f) => `${f.line} ${f.field}: ${f.message.split(' (')[0] ?? ''}`)).toEqual([
      '29 spec.rules[0].http.paths: must be a list, got a string "/"',
    ]);
    const service = '---\napiVersion: v1\nkind: Service\nmetadata: {name: web-stable}\nspec:\n  selector: "app=web"\n';
    expect(lint([{ path: 's.yaml', text: rollout('') + service }, { path: 't.yaml', text: rollout('').replace('name: web}', 'name: web2}') }]).findings.map(formatFinding)).toEqual([
      's.yaml:19:3: spec.selector: must be a map, got a string "app=web" (Service "web-stable", the stableService of Rollout "web": not checked against the Rollout)',
    ]);
  });

  it('reports a workloadRef Deployment whose pod labels are not a map, instead of comparing against them', () => {
    const text = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    metadata: {labels: [app, web]}\n---\napiVersion: sluice.dev/v1alpha1\nkind: Rollout\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  strategy: {canary: {steps: [{setWeight: 50}]}}\n';
    expect(lint([{ path: 'd.yaml', text }]).findings.map(formatFinding)).toEqual([
      'd.yaml:6:16: spec.template.metadata.labels: must be a map, got a list (Deployment "web", the workloadRef of Rollout "web": not checked against the Rollout)',
    ]);
  });
});

describe('lint: ApplicationSets', () => {
  it('checks an ApplicationSet by its own rules (goTemplate refused, one generator per entry), naming the line', () => {
    const text = 'apiVersion: sluice.dev/v1alpha1\nkind: ApplicationSet\nmetadata: {name: x}\nspec:\n  goTemplate: true\n  generators: [{}]\n  template: {metadata: {name: a}, spec: {}}\n';
    const result = lint([{ path: 'set.yaml', text }]);
    expect(result.findings.map(formatFinding)).toEqual([
      'set.yaml:5:3: spec.goTemplate: Go templates are not supported: use {{param}} placeholders (goTemplate: false)',
      'set.yaml:6:16: spec.generators[0]: names no generator: set one of list, clusters, git, matrix',
    ]);
    expect(lint([{ path: 'ok.yaml', text: readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'fleet', 'appset-environments.yaml'), 'utf8') }]).findings).toEqual([]);
  });
});
