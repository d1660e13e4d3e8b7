import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileError, isIgnored, parseDockerfile, parseDockerignore } from './dockerfile.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('parseDockerfile', () => {
  it('reads stages, WORKDIR, COPY (with --from, several sources, JSON form), RUN across continuations and ENV', () => {
    const stages = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        'ARG X=1',
        'FROM node:24 AS build',
        'WORKDIR /src',
        'COPY a.json b.json ./',
        'RUN npm install \\',
        '    # a comment inside',
        '    --omit=dev',
        'COPY ["src", "./src"]',
        'FROM scratch',
        'WORKDIR /app',
        'WORKDIR sub',
        'ENV A=1 B="two words"',
        'LABEL org.opencontainers.image.title="x y"',
        'COPY --from=build --chown=1:1 /src/dist ./dist',
      ].join('\n'),
    );
    expect(stages.map((s) => [s.name, s.base, s.line, s.workdir])).toEqual([
      ['build', 'node:24', 3, '/src'],
      [undefined, 'scratch', 10, '/app/sub'],
    ]);
    expect(stages[0]?.copies).toEqual([
      { line: 5, from: undefined, sources: ['a.json', 'b.json'], dest: '/src', destIsDir: true },
      { line: 9, from: undefined, sources: ['src'], dest: '/src/src', destIsDir: false },
    ]);
    expect(stages[0]?.runs).toEqual([{ line: 6, command: 'npm install --omit=dev' }]);
    expect(stages[1]?.copies).toEqual([{ line: 15, from: 'build', sources: ['/src/dist'], dest: '/app/sub/dist', destIsDir: false }]);
    expect(stages[1]?.env).toEqual({ A: '1', B: 'two words' });
    expect(stages[1]?.labels).toEqual({ 'org.opencontainers.image.title': 'x y' });
  });

  it('refuses what the check could not copy faithfully, naming Dockerfile:line', () => {
    expect(() => parseDockerfile('FROM a\nADD x /x')).toThrow(new DockerfileError('Dockerfile:2: ADD is not supported by the image check; use COPY'));
    expect(() => parseDockerfile('FROM a\n\nCOPY --parents x /x')).toThrow('Dockerfile:3: COPY --parents is not supported');
    expect(() => parseDockerfile('FROM a\nCOPY $SRC /x')).toThrow('Dockerfile:2: COPY with variables');
    expect(() => parseDockerfile('FROM a\nCOPY x')).toThrow('Dockerfile:2: COPY needs a source and a destination');
    expect(() => parseDockerfile('COPY x /x')).toThrow('Dockerfile:1: COPY before the first FROM');
    expect(() => parseDockerfile('# nothing')).toThrow('Dockerfile: no FROM');
  });

  it('reads the repository Dockerfile: a build, a kubectl, a helm, a sops and a runtime stage on pinned bases', () => {
    const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(stages.map((s) => s.name)).toEqual(['build', 'kubectl', 'helm', 'sops', undefined]);
    for (const s of stages) expect(s.base).toMatch(/^[a-z]+:\d+\.\d+\.\d+-[a-z]+(-slim)?$/); // a version tag, never latest
    const runtime = stages[4]!;
    expect(runtime.copies.map((c) => c.from)).toEqual([undefined, 'build', 'kubectl', 'helm', 'sops']);
    expect(runtime.runs.map((r) => r.command).join()).toContain('npm install --omit=dev');
    expect(runtime.user).toMatch(/^[1-9]\d*:[1-9]\d*$/); // numeric and not root, so runAsNonRoot can verify it
    expect(runtime.env).toMatchObject({ NODE_ENV: 'production', HOME: '/tmp', TMPDIR: '/tmp', SLUICE_HELM: '/usr/local/bin/helm', SLUICE_SOPS: '/usr/local/bin/sops' }); // writes go to /tmp
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string };
    expect(runtime.labels).toMatchObject({ 'org.opencontainers.image.version': pkg.version, 'org.opencontainers.image.licenses': pkg.license });
  });
});

describe('.dockerignore rules', () => {
  it('lets the last matching rule decide, for a path or any parent', () => {
    const rules = parseDockerignore('# only what is copied\n*\n!package.json\n!src/\nsrc/**/*.test.ts\n!test/cluster/controlplane/go.mod\n');
    expect(isIgnored(rules, 'package.json')).toBe(false);
    expect(isIgnored(rules, 'README.md')).toBe(true);
    expect(isIgnored(rules, 'src/main.ts')).toBe(false);
    expect(isIgnored(rules, 'src/kube/client.ts')).toBe(false);
    expect(isIgnored(rules, 'src/kube/client.test.ts')).toBe(true);
    expect(isIgnored(rules, 'src/a.test.ts')).toBe(true);
    expect(isIgnored(rules, 'test/cluster/controlplane/go.mod')).toBe(false);
    expect(isIgnored(rules, 'test/cluster/controlplane/go.sum')).toBe(true);
    expect(isIgnored(rules, 'node_modules/x/index.js')).toBe(true);
    expect(isIgnored(rules, '.git/config')).toBe(true);
  });
});
