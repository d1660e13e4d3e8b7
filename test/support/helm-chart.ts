// A small chart as repository files, shared by the Helm render and sync tests (test code only).
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function webChart(o: { prefix?: string; version?: string; extraTemplate?: boolean; broken?: boolean } = {}): Record<string, string> {
  const p = o.prefix ?? 'charts/web';
  const files: Record<string, string> = {
    [`${p}/Chart.yaml`]: `apiVersion: v2\nname: web\nversion: ${o.version ?? '0.1.0'}\n`,
    [`${p}/values.yaml`]: 'color: blue\nreplicas: 1\nmessage: hello\n',
    [`${p}/templates/settings.yaml`]: [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-settings',
      'data:',
      '  color: {{ .Values.color | quote }}',
      '  replicas: {{ .Values.replicas | quote }}',
      '  message: {{ .Values.message | quote }}',
      '  namespace: {{ .Release.Namespace | quote }}',
      '  kube: {{ .Capabilities.KubeVersion.Version | quote }}',
      '  rollouts: {{ .Capabilities.APIVersions.Has "sluice.dev/v1alpha1" | quote }}',
      '',
    ].join('\n'),
    [`${p}/templates/keep.yaml`]: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-kept\n  annotations:\n    helm.sh/resource-policy: keep\ndata: {a: "1"}\n',
    [`${p}/templates/migrate.yaml`]: [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata:',
      '  name: {{ .Release.Name }}-migrate',
      '  annotations:',
      '    helm.sh/hook: pre-install,pre-upgrade',
      '    helm.sh/hook-delete-policy: before-hook-creation',
      'spec:',
      '  backoffLimit: 0',
      '  template:',
      '    spec:',
      '      restartPolicy: Never',
      '      containers: [{name: migrate, image: registry.invalid/migrate:1}]',
      '',
    ].join('\n'),
    [`${p}/templates/tests/smoke.yaml`]: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: smoke\n  annotations:\n    helm.sh/hook: test\nspec:\n  containers: [{name: t, image: busybox}]\n',
    [`${p}/files/banner.txt`]: 'from a file parameter',
    'values/prod.yaml': 'color: green\n',
  };
  if (o.extraTemplate !== false) files[`${p}/templates/extra.yaml`] = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata: {a: "1"}\n';
  if (o.broken === true) files[`${p}/templates/broken.yaml`] = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  x: {{ .Values.nope.deeper }}\n';
  return files;
}

/** A chart of `templates` templates, each rendering `perTemplate` ConfigMaps (the figures' 50 × 4 = 200 objects). */
export function bigChart(prefix: string, templates: number, perTemplate: number, value: string): Record<string, string> {
  const files: Record<string, string> = {
    [`${prefix}/Chart.yaml`]: 'apiVersion: v2\nname: big\nversion: 1.0.0\n',
    [`${prefix}/values.yaml`]: `v: ${JSON.stringify(value)}\n`,
  };
  for (let i = 0; i < templates; i++) {
    files[`${prefix}/templates/t${i}.yaml`] = [
      `{{- range $j := until ${perTemplate} }}`,
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      `  name: {{ $.Release.Name }}-t${i}-{{ $j }}`,
      '  labels:',
      '    app.kubernetes.io/managed-by: {{ $.Release.Service | quote }}',
      'data:',
      '  v: {{ $.Values.v | quote }}',
      '  index: {{ $j | quote }}',
      '{{- end }}',
      '',
    ].join('\n');
  }
  return files;
}

/**
 * webChart at each of `versions` (with a template naming the chart version) packaged by `helm package` into `out`,
 * working in `dir`; returns the archives' paths. For the tests of charts from Helm repositories and OCI registries.
 */
export async function packageWebCharts(helm: string, dir: string, out: string, versions: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  await mkdir(out, { recursive: true });
  const archives: string[] = [];
  for (const version of versions) {
    const files = webChart({ prefix: `src-${version}`, version });
    files[`src-${version}/templates/version.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}-version'}\ndata: {chart: '{{ .Chart.Version }}'}\n`;
    for (const [path, text] of Object.entries(files)) {
      if (!path.startsWith(`src-${version}/`)) continue;
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    await run(helm, ['package', join(dir, `src-${version}`), '--destination', out], { env });
    archives.push(join(out, `web-${version}.tgz`));
  }
  return archives;
}
