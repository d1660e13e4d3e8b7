// The benchmark's smoke run, so `npm run bench` never rots: Sluice only (no peer build), N=3, one update, an app of
// 10 objects against kubectl, on the shared control plane (Sluice scoped to the bench's own namespaces). It checks
// that the rows come out and are sane, never how fast anything is.
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_ENV } from '../cluster/env.ts';
import { kubeconfigPath } from '../support/cluster.ts';
import { DEFAULTS } from './args.ts';
import { runBench } from './bench.ts';
import type { Row } from './report.ts';

describe('npm run bench (smoke: Sluice only, N=3)', () => {
  it('writes bench.json with sane rollout and GitOps rows, and ratios against kubectl', async () => {
    const out = join('test-results', 'bench-smoke');
    const binDir = process.env[CLUSTER_ENV.binDir] ?? '';
    const plane = {
      kubeconfig: kubeconfigPath(),
      // The apiserver's /metrics is larger than execFile's default buffer.
      kubectl: (args: string[], input?: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const child = execFile(join(binDir, 'kubectl'), [`--kubeconfig=${kubeconfigPath()}`, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
            err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
          );
          if (input !== undefined) child.stdin?.end(input);
        }),
    };
    const args = { ...DEFAULTS, scenarios: ['rollouts' as const, 'gitops' as const], n: 3, cycles: 1, appSizes: [10], controllers: ['sluice' as const], out };
    const result = await runBench(args, { plane, binDir, say: () => undefined, suffix: `-${randomBytes(3).toString('hex')}`, idleSeconds: 1, settleMs: 500 });

    const file = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as { rows: Row[] };
    expect(file.rows).toEqual(result.rows);
    expect(file.rows.map((r) => `${r.scenario}/${r.n}/${r.controller}`)).toEqual(['rollouts/3/sluice', 'gitops/10/kubectl-apply', 'gitops/10/sluice']);

    const ro = file.rows[0]?.figures ?? {};
    expect(ro.createToHealthyS).toBeGreaterThan(0);
    // Two 5-second pauses stand between the new image and Healthy.
    expect(ro.updateToHealthyS).toBeGreaterThanOrEqual(9);
    expect(ro.stepLatencyP50Ms).toEqual(expect.any(Number));
    expect(ro.promoteLatencyP50Ms).toEqual(expect.any(Number));
    expect(file.rows[0]?.detail).toMatchObject({ stepLatencySamples: 3, promoteLatencySamples: 3 });
    // At least a ReplicaSet create and a Rollout status write per rollout, seen by the apiserver and by Sluice itself.
    expect(ro.controllerWritesPerRollout).toBeGreaterThanOrEqual(2);
    expect(ro.ownWritesPerRollout).toBeGreaterThanOrEqual(2);
    expect(ro.idleRssMiB).toBeGreaterThan(10);
    expect(ro.peakRssMiB).toBeGreaterThanOrEqual(ro.idleRssMiB ?? Infinity);

    const [kubectlRow, sluiceRow] = [file.rows[1], file.rows[2]];
    expect(kubectlRow?.figures.firstSyncS).toBeGreaterThan(0);
    expect(kubectlRow?.figures.noopRequests).toBeGreaterThanOrEqual(10);
    expect(sluiceRow?.figures).toMatchObject({ firstSyncS: expect.any(Number), changeAppliedS: expect.any(Number), driftHealS: expect.any(Number) });
    expect(sluiceRow?.ratios?.firstSyncS).toBeCloseTo((sluiceRow?.figures.firstSyncS ?? 0) / (kubectlRow?.figures.firstSyncS ?? 1), 1);
    expect(result.markdown).toContain('### gitops N=10');
  }, 180_000);
});
