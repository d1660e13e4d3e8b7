// The container image, checked without a Docker engine: each stage of the Dockerfile gets a directory standing for
// its filesystem, filled with exactly what its COPY lines name (the build context filtered by .dockerignore, or an
// earlier stage's directory). Then the stages' work runs on those copies: the TypeScript build, the kubectl build
// (the Dockerfile's own RUN line), the production install (the Dockerfile's own npm command), and the result must
// answer `node dist/main.js --help`, render a Kustomization with the copied kubectl, and run against the apiserver
// until ready. What this cannot check: the base images themselves, USER and a read-only root (we run as this user).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { renderHelm } from '../../src/gitops/render/helm.ts';
import { renderKustomize } from '../../src/gitops/render/kustomize.ts';
import { freePort } from '../cluster/ports.ts';
import { createNamespace, deleteNamespace, kubeconfigPath, waitFor } from '../support/cluster.ts';
import { installCrds } from '../support/crds.ts';
import { isIgnored, parseDockerfile, parseDockerignore, type Stage } from './dockerfile.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const ignore = parseDockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
const NODE_DIR = dirname(process.execPath);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(command: string, cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd, env: { ...env, PATH: `${NODE_DIR}:${env.PATH ?? ''}` }, maxBuffer: 64 << 20, timeout: 300_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

/** Files under `path` (relative to the context), as Docker would send them: .dockerignore applied. */
function contextFiles(path: string): string[] {
  const abs = join(ROOT, path);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return isIgnored(ignore, path) ? [] : [path];
  return readdirSync(abs, { recursive: true, encoding: 'utf8' })
    .map((f) => join(path, f))
    .filter((f) => !statSync(join(ROOT, f)).isDirectory() && !isIgnored(ignore, f));
}

/**
 * Fills a stage's directory (standing for its filesystem root) with what its COPY lines copy, in order: context
 * files, or files of an earlier stage's directory (`roots`, by stage index).
 */
function materializeOne(stage: Stage, root: string, roots: string[] = []): string {
  mkdirSync(join(root, stage.workdir), { recursive: true });
  for (const c of stage.copies) {
    const target = join(root, c.dest);
    for (const source of c.sources) {
      if (c.from !== undefined) {
        const idx = stages.findIndex((s, j) => s.name === c.from || String(j) === c.from);
        const from = join(roots[idx] ?? '/nonexistent', source);
        if (idx < 0 || roots[idx] === undefined || !existsSync(from)) throw new Error(`Dockerfile:${c.line}: COPY --from=${c.from} ${source}: not produced by that stage`);
        cpSync(from, statSync(from).isDirectory() || !c.destIsDir ? target : join(target, basename(from)), { recursive: true });
        continue;
      }
      const files = contextFiles(source);
      if (files.length === 0) throw new Error(`Dockerfile:${c.line}: COPY ${source}: not in the build context (missing, or excluded by .dockerignore)`);
      const isDir = statSync(join(ROOT, source)).isDirectory();
      for (const f of files) {
        const dest = isDir ? join(target, relative(source, f)) : c.destIsDir ? join(target, basename(f)) : target;
        mkdirSync(dirname(dest), { recursive: true });
        cpSync(join(ROOT, f), dest);
      }
    }
  }
  return root;
}

const stageNamed = (name: string | undefined): { stage: Stage; index: number } => {
  const index = stages.findIndex((s) => s.name === name);
  if (index < 0) throw new Error(`Dockerfile: no stage ${name ?? '(final)'}`);
  return { stage: stages[index]!, index };
};

describe('the Dockerfile, stage by stage, from a clean copy of what it copies', () => {
  let tmp: string;
  let roots: string[];
  const build = stageNamed('build');
  const kubectlStage = stageNamed('kubectl');
  const helmStage = stageNamed('helm');
  const sopsStage = stageNamed('sops');
  const final = { stage: stages.at(-1)!, index: stages.length - 1 };
  const finalDir = (): string => join(roots[final.index]!, final.stage.workdir);
  const kubectlBin = (): string => join(roots[final.index]!, final.stage.env.SLUICE_KUBECTL ?? '/usr/local/bin/kubectl');

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'sluice-image-'));
    roots = [];
  });

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the build stage compiles src/ with only the files it copies', async () => {
    expect(build.stage.copies.every((c) => c.from === undefined)).toBe(true); // from the context only
    roots[build.index] = materializeOne(build.stage, join(tmp, 'build'));
    // Its `npm install` is the repository's own (same lock, same command): the repository's node_modules stand in.
    symlinkSync(join(ROOT, 'node_modules'), join(roots[build.index]!, build.stage.workdir, 'node_modules'));
    const tsc = build.stage.runs.find((r) => r.command.includes('tsc'));
    expect(tsc).toBeDefined();
    const res = await sh(tsc!.command, join(roots[build.index]!, build.stage.workdir));
    expect({ code: res.code, out: res.stdout + res.stderr }).toEqual({ code: 0, out: '' });
    expect(existsSync(join(roots[build.index]!, build.stage.workdir, 'dist', 'main.js'))).toBe(true);
  }, 120_000);

  it('the kubectl stage builds kubectl with its own RUN line, on a Go at least as new as the module needs', async () => {
    const goMod = readFileSync(join(ROOT, 'test/cluster/controlplane/go.mod'), 'utf8');
    const need = /^go (\d+\.\d+(?:\.\d+)?)$/m.exec(goMod)?.[1] ?? '';
    const image = /^golang:(\d+\.\d+\.\d+)/.exec(kubectlStage.stage.base)?.[1] ?? '';
    expect(compareVersions(image, need)).toBeGreaterThanOrEqual(0);
    roots[kubectlStage.index] = materializeOne(kubectlStage.stage, join(tmp, 'kubectl'));
    const root = roots[kubectlStage.index]!;
    expect(kubectlStage.stage.runs).toHaveLength(1);
    const run = kubectlStage.stage.runs[0]!.command;
    expect(run).toContain('/out/kubectl');
    const res = await sh(run.replaceAll('/out/', `${root}/out/`), join(root, kubectlStage.stage.workdir));
    expect(res.code).toBe(0);
    const k8s = /^\s*k8s\.io\/kubernetes (v\S+)$/m.exec(goMod)?.[1];
    expect(res.stdout).toContain(`Client Version: ${k8s}`);
  }, 300_000);

  it('the helm stage builds helm with its own RUN line, the version the chart tests pin', async () => {
    const goMod = readFileSync(join(ROOT, 'test/cluster/helm/go.mod'), 'utf8');
    roots[helmStage.index] = materializeOne(helmStage.stage, join(tmp, 'helm'));
    const root = roots[helmStage.index]!;
    expect(helmStage.stage.runs).toHaveLength(1);
    const run = helmStage.stage.runs[0]!.command;
    const res = await sh(run.replaceAll('/out/', `${root}/out/`), join(root, helmStage.stage.workdir));
    expect(res.code).toBe(0);
    const version = /^\s*helm\.sh\/helm\/v3 (v\S+)/m.exec(goMod)?.[1];
    expect(version).toBeDefined();
    expect(res.stdout.trim()).toBe(version);
  }, 300_000);

  it('the sops stage builds sops with its own RUN line, the version test/sops pins', async () => {
    const goMod = readFileSync(join(ROOT, 'test/sops/go.mod'), 'utf8');
    roots[sopsStage.index] = materializeOne(sopsStage.stage, join(tmp, 'sops'));
    const root = roots[sopsStage.index]!;
    expect(sopsStage.stage.runs).toHaveLength(1);
    const run = sopsStage.stage.runs[0]!.command;
    const res = await sh(run.replaceAll('/out/', `${root}/out/`), join(root, sopsStage.stage.workdir));
    expect(res.code).toBe(0);
    const version = /^\s*github\.com\/getsops\/sops\/v3 v(\S+)/m.exec(goMod)?.[1];
    expect(version).toBeDefined();
    expect(res.stdout).toContain(`sops ${version}`);
  }, 300_000);

  it('the runtime stage installs production dependencies only and answers --help', async () => {
    roots[final.index] = materializeOne(final.stage, join(tmp, 'runtime'), roots);
    const install = final.stage.runs.map((r) => /npm install [^&;|]*/.exec(r.command)?.[0]).find((c) => c !== undefined);
    expect(install).toContain('--omit=dev');
    const res = await sh(install!, finalDir());
    expect(res.code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(finalDir(), 'node_modules', dep))).toBe(true);
    for (const dev of ['typescript', 'jest', 'eslint', '@swc/core']) expect(existsSync(join(finalDir(), 'node_modules', dev))).toBe(false);
    // Only what the stages copied: no sources, no tests.
    expect(readdirSync(finalDir()).sort()).toEqual(['dist', 'node_modules', 'package-lock.json', 'package.json']);
    const help = await sh('node dist/main.js --help', finalDir(), { ...process.env, ...final.stage.env });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: sluice/);
  }, 180_000);

  it('renders a Kustomization with the kubectl the image carries', async () => {
    const saved = process.env.SLUICE_KUBECTL;
    process.env.SLUICE_KUBECTL = kubectlBin();
    try {
      const out = await renderKustomize(
        [
          { path: 'app/kustomization.yaml', text: 'resources: [cm.yaml]\nnamePrefix: prod-\n' },
          { path: 'app/cm.yaml', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: "1"}\n' },
        ],
        'app',
      );
      expect(out.map((m) => m.manifest.metadata.name)).toEqual(['prod-settings']);
    } finally {
      if (saved === undefined) delete process.env.SLUICE_KUBECTL;
      else process.env.SLUICE_KUBECTL = saved;
    }
  });

  it('renders a Helm chart with the helm the image carries', async () => {
    const saved = process.env.SLUICE_HELM;
    process.env.SLUICE_HELM = join(roots[final.index]!, final.stage.env.SLUICE_HELM ?? '/usr/local/bin/helm');
    try {
      const chart = { 'c/Chart.yaml': 'apiVersion: v2\nname: c\nversion: 1.0.0\n', 'c/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}}\n' };
      const out = await renderHelm(Object.entries(chart).map(([path, text]) => ({ path, content: Buffer.from(text) })), 'c', {}, { releaseName: 'prod', namespace: 'x' });
      expect(out.map((m) => m.manifest.metadata.name)).toEqual(['prod']);
    } finally {
      if (saved === undefined) delete process.env.SLUICE_HELM;
      else process.env.SLUICE_HELM = saved;
    }
  });

  it('runs from the production install against the apiserver until ready, and stops cleanly', async () => {
    await installCrds();
    const ns = await createNamespace('image');
    const home = mkdtempSync(join(tmpdir(), 'sluice-image-home-'));
    const port = await freePort();
    const env = { ...process.env, ...final.stage.env, HOME: home, TMPDIR: home, SLUICE_KUBECTL: kubectlBin() };
    const child = spawn(process.execPath, ['dist/main.js', `--kubeconfig=${kubeconfigPath()}`, `--namespace=${ns}`, `--metrics-addr=127.0.0.1:${port}`, '--log-level=warn'], { cwd: finalDir(), env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor('/readyz', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 30_000);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      rmSync(home, { recursive: true, force: true });
      await deleteNamespace(ns);
    }
    expect(stderr).toBe('');
  }, 60_000);
});

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
