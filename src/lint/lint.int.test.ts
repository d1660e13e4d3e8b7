// `kubectl sluice lint` and `convert` as a person runs them: the real executable through kubectl's plugin discovery.
// Neither needs the cluster; they run here because the acceptance is about the executable, exit codes and output.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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

  it('answers --help for lint and convert', async () => {
    for (const verb of ['lint', 'convert']) {
      const res = await sluice([verb, '--help']);
      expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
      expect(res.stdout).toContain(`kubectl sluice ${verb} FILE|DIR...`);
    }
    expect((await sluice(['convert', '--help'])).stdout).toContain('Exit status: 0 everything mapped; 3 output produced but some fields were left out');
  });
});
