// The shipped fleet example parses and generates what its README says (it is what users copy first).
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { applicationSetSchema } from '../api/applicationset/schema.ts';
import { desiredApplications } from '../gitops/appset/decide.ts';
import { validateApplicationSet } from '../api/applicationset/validate.ts';
import { generate } from '../gitops/appset/generators.ts';
import { decideWave, stepOf } from '../gitops/appset/rollingsync.ts';
import { formatFinding } from '../lint/format.ts';
import { lint } from '../lint/lint.ts';
import { gitKey } from '../gitops/appset/git.ts';
import type { KubeObject } from '../kube/client.ts';
import { parseClusterSecret, type ClusterSpec } from './secret.ts';

const root = join(import.meta.dirname, '..', '..', 'examples', 'fleet');

function directories(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (!statSync(p).isDirectory()) continue;
    out.push(relative(join(root, 'repo'), p), ...directories(p));
  }
  return out;
}

describe('examples/fleet', () => {
  const clusters: ClusterSpec[] = parseAllDocuments(readFileSync(join(root, 'clusters.yaml'), 'utf8')).map((d) => {
    const r = parseClusterSecret(d.toJS() as KubeObject);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.value;
  });
  const observed = { clusters, git: new Map([[gitKey('https://git.example.internal/config.git', 'main'), { directories: directories(join(root, 'repo')), files: new Map<string, string>() }]]) };
  const setOf = (file: string) => applicationSetSchema.parse(parse(readFileSync(join(root, file), 'utf8')));

  it('its cluster Secrets parse', () => {
    expect(clusters.map((c) => [c.name, c.labels.env, c.namespaces])).toEqual([
      ['dev', 'dev', []],
      ['staging', 'staging', []],
      ['prod', 'prod', ['guestbook']],
    ]);
  });

  it('the git directories set makes one valid Application per overlay, into the cluster of its name', () => {
    const set = setOf('appset-environments.yaml');
    const g = generate(set.spec.generators, observed);
    expect(g.errors).toEqual([]);
    const d = desiredApplications(set.spec, g.sets, 'sluice-system');
    expect(d.errors).toEqual([]);
    expect(d.apps.map((a) => [a.name, (a.spec.destination as { name: string }).name, (a.spec.source as { path: string }).path])).toEqual([
      ['guestbook-dev', 'dev', 'overlays/dev'],
      ['guestbook-prod', 'prod', 'overlays/prod'],
      ['guestbook-staging', 'staging', 'overlays/staging'],
    ]);
    expect(d.apps.every((a) => a.finalizers.length === 0)).toBe(true);
  });

  it('the clusters set selects dev and staging by label', () => {
    const set = setOf('appset-clusters.yaml');
    const d = desiredApplications(set.spec, generate(set.spec.generators, observed).sets, 'sluice-system');
    expect(d.errors).toEqual([]);
    expect(d.apps.map((a) => [a.name, (a.spec.destination as { server: string }).server])).toEqual([
      ['agent-dev', 'https://dev.example.internal:6443'],
      ['agent-staging', 'https://staging.example.internal:6443'],
    ]);
  });

  it('the environments set releases dev, then staging, then prod (RollingSync), and lint accepts every file of the example', () => {
    const set = setOf('appset-environments.yaml');
    expect(validateApplicationSet(set)).toEqual([]);
    const d = desiredApplications(set.spec, generate(set.spec.generators, observed).sets, 'sluice-system');
    const steps = set.spec.strategy?.rollingSync?.steps ?? [];
    expect(d.apps.map((a) => [a.name, stepOf(steps, a.labels)])).toEqual([['guestbook-dev', 0], ['guestbook-prod', 2], ['guestbook-staging', 1]]);
    // A first release: only dev is written; staging and prod wait for it.
    const wave = decideWave(steps, d.apps.map((a) => ({ name: a.name, labels: a.labels, changed: true, observed: false })), [], '2026-01-01T00:00:00Z');
    expect(wave.update).toEqual(['guestbook-dev']);
    const yamlFiles = (dir: string): string[] => readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? yamlFiles(join(dir, e)) : e.endsWith('.yaml') && !e.startsWith('kustomization') ? [join(dir, e)] : []));
    const files = yamlFiles(root).map((f) => ({ path: relative(root, f), text: readFileSync(f, 'utf8') }));
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(['appset-environments.yaml', 'repo/base/rollout.yaml', 'repo/base/analysis.yaml']));
    expect(lint(files).findings.map(formatFinding)).toEqual([]);
  });
});
