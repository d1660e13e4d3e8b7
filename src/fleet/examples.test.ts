// The shipped fleet example parses and generates what its README says (it is what users copy first).
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { applicationSetSchema } from '../api/applicationset/schema.ts';
import { desiredApplications } from '../gitops/appset/decide.ts';
import { generate } from '../gitops/appset/generators.ts';
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
});
