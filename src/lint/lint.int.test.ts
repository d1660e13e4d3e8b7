// `kubectl sluice lint` and `convert` as a person runs them: the real executable through kubectl's plugin discovery.
// Neither needs the cluster; they run here because the acceptance is about the executable, exit codes and output.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sluice } from '../../test/support/plugin.ts';

const LINT = 'test/fixtures/lint';

describe('kubectl sluice lint', () => {
  it('prints each finding as file:line:column: field: message and exits 1 on errors', async () => {
    const res = await sluice(['lint', `${LINT}/broken.yaml`]);
    expect(res.code).toBe(1);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines).toContain(`${LINT}/broken.yaml:33:11: spec.strategy.canary.steps[3].setWeight: must be between 0 and 100, got 150`);
    expect(lines).toContain(`${LINT}/broken.yaml:51:11: spec.metrics[0].provider.prometheus.timout: unknown field: the CRD prunes it, and kubectl apply (strict field validation) rejects it`);
    expect(lines).toHaveLength(7);
    expect(res.stderr).toBe('6 errors, 1 warning in 2 Sluice objects (0 other objects left to the apiserver)\n');
  });

  it('exits 0 on a clean directory, and -o json carries the findings and what was not checked offline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-lint-'));
    try {
      await writeFile(join(dir, 'ok.yaml'), readFileSync(`${LINT}/valid.yaml`, 'utf8'));
      await writeFile(join(dir, 'notes.txt'), 'not a manifest: skipped by extension');
      const clean = await sluice(['lint', dir]);
      expect(clean).toEqual({ code: 0, stdout: '', stderr: '0 errors, 0 warnings in 3 Sluice objects (1 other objects left to the apiserver)\n' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const json = await sluice(['lint', `${LINT}/broken.yaml`, '-o', 'json']);
    expect(json.code).toBe(1);
    const body = JSON.parse(json.stdout) as { findings: { line: number; field: string; severity: string }[]; checked: number; notCheckedOffline: string[] };
    expect(body.findings.map((f) => `${f.severity} ${f.line} ${f.field}`)[0]).toBe('warning 32 spec.strategy.canary.steps[2].analysis.templates[1].templateName');
    expect(body.checked).toBe(2);
    expect(body.notCheckedOffline.length).toBeGreaterThan(0);
  });

  it('passes what convert printed (exit 0), names an unreadable file (exit 1) and a bad flag (exit 64)', async () => {
    const converted = await sluice(['convert', 'test/fixtures/convert/flagger-nginx.yaml', 'test/fixtures/convert/argo-rollouts.yaml']);
    expect(converted.code).toBe(3);
    const dir = await mkdtemp(join(tmpdir(), 'sluice-lint-'));
    try {
      await writeFile(join(dir, 'out.yaml'), converted.stdout);
      const res = await sluice(['lint', join(dir, 'out.yaml')]);
      expect({ code: res.code, stdout: res.stdout }).toEqual({ code: 0, stdout: '' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(await sluice(['lint', 'no/such.yaml'])).toEqual({ code: 1, stdout: '', stderr: 'error: no/such.yaml: no such file or directory\n' });
    expect(await sluice(['convert', 'no/such.yaml'])).toMatchObject({ code: 1, stderr: 'error: no/such.yaml: no such file or directory\n' });
    expect(await sluice(['lint', '--strict', 'x.yaml'])).toMatchObject({ code: 64, stderr: expect.stringContaining("Unknown option '--strict'") });
    expect(await sluice(['lint'])).toMatchObject({ code: 64, stderr: expect.stringContaining('missing FILE') });
  });

  it('convert prints nothing (exit 1) when its self-check fails, pointing at the source lines; a broken symlink in a DIR is skipped with a warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-convert-'));
    try {
      const rollout = 'apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: a, image: x}]}\n  strategy:\n    canary:\n      steps:\n        - setWeight: 150\n        - pause: {duration: "5 minutes"}\n';
      await writeFile(join(dir, 'rollout.yaml'), rollout);
      await symlink(join(dir, 'deleted.yaml'), join(dir, 'stale.yaml'));
      const file = join(dir, 'rollout.yaml');
      const res = await sluice(['convert', dir]);
      expect({ code: res.code, stdout: res.stdout }).toEqual({ code: 1, stdout: '' });
      expect(res.stderr.split('\n')).toEqual([
        `warning: ${join(dir, 'stale.yaml')}: broken symlink, skipped`,
        `${file}:12:11: error: Rollout/web: spec.strategy.canary.steps[0].setWeight: the converted Rollout "web" does not validate: must be between 0 and 100, got 150`,
        `${file}:13:19: error: Rollout/web: spec.strategy.canary.steps[1].pause.duration: the converted Rollout "web" does not validate: invalid duration "5 minutes": unexpected "5 minutes" (units: ns, us, ms, s, m, h)`,
        'nothing written (1 objects withheld because of errors); 0 fields left out, 0 notes, 2 errors',
        '',
      ]);
      const json = await sluice(['convert', file, '-o', 'json']);
      expect({ code: json.code, stdout: json.stdout }).toEqual({ code: 1, stdout: '' });
      const linted = await sluice(['lint', dir]);
      expect(linted.code).toBe(1);
      expect(linted.stderr).toContain(`warning: ${join(dir, 'stale.yaml')}: broken symlink, skipped\n`);
      expect(linted.stdout).toContain(`${file}:12:11: spec.strategy.canary.steps[0].setWeight: must be between 0 and 100, got 150`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers --help for lint and convert', async () => {
    for (const verb of ['lint', 'convert']) {
      const res = await sluice([verb, '--help']);
      expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
      expect(res.stdout).toContain(`kubectl sluice ${verb} FILE|DIR...`);
    }
    expect((await sluice(['convert', '--help'])).stdout).toContain('Exit status: 0 everything mapped; 3 output produced but some fields were left out');
  });
});
