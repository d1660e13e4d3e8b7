// The demo's CI "bump": a real edit of the Rollout manifest that keeps the file as people wrote it.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkApplication } from '../../src/gitops/spec.ts';
import { checkRollout } from '../../src/rollout/spec.ts';
import { bumpRollout, EXAMPLES, imageTag, ROLLOUT_FILE, seedFiles } from './repo.ts';
import { shortValue } from './view.ts';

type Rollout = { spec: { template: { spec: { containers: { image: string; env: { name: string; value: string }[] }[] } } } };

describe('the demo config repo', () => {
  const text = seedFiles()[ROLLOUT_FILE] ?? '';

  it('holds the Rollout, its Services and the VirtualService', () => {
    expect(Object.keys(seedFiles()).sort()).toEqual(['apps/demo/rollout.yaml', 'apps/demo/services.yaml', 'apps/demo/virtualservice.yaml']);
    expect(imageTag(text)).toBe('1.0.0');
  });

  it('is valid: the Rollout passes the semantic checks, the Application the spec check', () => {
    const c = checkRollout(parse(text), { analysisTemplates: new Set(), clusterAnalysisTemplates: new Set() });
    expect(c.ok ? [] : c.errors).toEqual([]);
    expect(checkApplication(parse(readFileSync(join(EXAMPLES, 'application.yaml'), 'utf8'))).ok).toBe(true);
  });

  it('bumps the image tag and sets env, keeping comments and the other fields', () => {
    const bumped = bumpRollout(text, { tag: '1.2.0', env: { ERROR_RATE: '0.3', NEW_VAR: 'x' } });
    const c = (parse(bumped) as Rollout).spec.template.spec.containers[0];
    expect(c?.image).toBe('registry.example.com/sluice-demo-app:1.2.0');
    expect(c?.env).toEqual([{ name: 'ERROR_RATE', value: '0.3' }, { name: 'LATENCY_MS', value: '20' }, { name: 'NEW_VAR', value: 'x' }]);
    expect(bumped).toContain('# percent of non-5xx responses');
    expect(bumpRollout(bumped, { tag: '1.1.0' })).toContain('sluice-demo-app:1.1.0');
  });

  it('names the file when the Rollout has no image', () => {
    expect(() => bumpRollout('spec: {}\n', { tag: '2' })).toThrow(`${ROLLOUT_FILE}: spec.template.spec.containers[0].image is missing`);
  });

  it('shows measured values short', () => {
    expect(shortValue('[71.75373683822988]')).toBe('71.8');
    expect(shortValue('NaN')).toBe('NaN');
    expect(shortValue(undefined)).toBe('-');
  });
});
