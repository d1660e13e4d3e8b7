#!/usr/bin/env node
// `npm test`: every check, in order, each reported, all run even when one fails.
//   1. the control-plane binaries and Traefik (built from Go modules if the cache lacks them), Prometheus and Chromium (Debian's)
//   2. typecheck   3. lint   3b. the lock is what npm install writes   4. jest: unit + integration (one real control plane)   5. no process outlived the run
// Writes test-results/summary.json ({ passed, failed, checks }) for .ci/run; exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(`Node ${process.versions.node} is too old (>= 22.19 needed): run through npm (npm test), which uses the Node that npm ci installed.`);
  process.exit(1);
}

// Every process this run starts inherits this marker, so the leftover check below finds this run's processes only,
// never those of another run on the same machine (a second checkout, a benchmark) that it must not kill.
const RUN_MARKER = `SLUICE_TEST_RUN=${randomUUID()}`;
process.env.SLUICE_TEST_RUN = RUN_MARKER.slice('SLUICE_TEST_RUN='.length);

const results = 'test-results';
mkdirSync(results, { recursive: true });
const checks = [];
const jestJson = join(results, 'jest.json');
rmSync(jestJson, { force: true });

function step(name, cmd, args, opts = {}) {
  const started = Date.now();
  console.error(`\n== ${name}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', opts.captureStdout ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
  const seconds = (Date.now() - started) / 1000;
  const ok = r.status === 0;
  console.error(`== ${name}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${seconds.toFixed(1)} s`);
  return { ok, seconds, stdout: r.stdout ?? '' };
}

const build = step('control plane binaries', 'bash', ['test/cluster/build.sh'], { captureStdout: true });
checks.push({ name: 'control plane binaries', ok: build.ok, seconds: build.seconds });
const binDir = build.stdout.trim().split('\n').pop() ?? '';
// Traefik, the data-plane tests' real Gateway API implementation (built from its Go module; about 9 CPU-minutes cold).
const traefik = step('traefik', 'bash', ['test/dataplane/traefik/build.sh'], { captureStdout: true });
checks.push({ name: 'traefik', ok: traefik.ok, seconds: traefik.seconds });
const traefikDir = traefik.stdout.trim().split('\n').pop() ?? '';
if (traefik.ok) process.env.SLUICE_TRAEFIK_BIN = traefikDir;
// A real Prometheus for the analysis tests (Debian's package; fast when already installed).
const prom = step('prometheus', 'bash', ['test/prometheus/install.sh']);
checks.push({ name: 'prometheus', ok: prom.ok, seconds: prom.seconds });
// Chromium for the dashboard's browser tests (Debian's package; fast when already installed).
const chromium = step('chromium', 'bash', ['test/browser/install.sh']);
checks.push({ name: 'chromium', ok: chromium.ok, seconds: chromium.seconds });
// sops and age-keygen for the decryption tests (built from test/sops's Go module; cold: about 2-3 minutes).
const sops = step('sops', 'bash', ['test/sops/build.sh'], { captureStdout: true });
checks.push({ name: 'sops', ok: sops.ok, seconds: sops.seconds });
if (sops.ok) process.env.SLUICE_TEST_SOPS_DIR = sops.stdout.trim().split('\n').pop() ?? '';
// An OCI registry for the Helm-from-OCI tests (Debian's docker-registry; fast when already installed).
const registry = step('oci registry', 'bash', ['test/oci/install.sh']);
checks.push({ name: 'oci registry', ok: registry.ok, seconds: registry.seconds });

for (const [name, args] of [
  ['typecheck', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['lint', ['node_modules/eslint/bin/eslint.js', '.']],
  // An install must not rewrite the committed lock (a clean clone stays clean; npm ci accepts it).
  ['package-lock.json unchanged by npm install', ['scripts/check-lock.mjs']],
]) {
  const r = step(name, process.execPath, args);
  checks.push({ name, ok: r.ok, seconds: r.seconds });
}

let jest = { numPassedTests: 0, numFailedTests: 0 };
if (build.ok) {
  const projects = process.env.SLUICE_TEST_PROJECTS?.split(',') ?? ['unit', 'integration'];
  const r = step('jest', process.execPath, [
    '--experimental-vm-modules', '--no-warnings=ExperimentalWarning',
    'node_modules/jest/bin/jest.js', '--ci', '--selectProjects', ...projects, '--json', `--outputFile=${jestJson}`,
  ]);
  try {
    jest = JSON.parse(readFileSync(jestJson, 'utf8'));
    // A suite that fails to load has no test results of its own; count it so it cannot pass unseen.
    jest.numFailedTests += jest.numRuntimeErrorTestSuites ?? 0;
  } catch {
    jest.numFailedTests = 1;
  }
  if (!r.ok && jest.numFailedTests === 0) jest.numFailedTests = 1;
  checks.push({ name: 'jest', ok: r.ok, seconds: r.seconds });
} else {
  checks.push({ name: 'jest (not run: no control plane binaries)', ok: false, seconds: 0 });
  jest.numFailedTests = 1;
}

const orphans = binDir === '' ? [] : await leftovers(binDir, traefikDir);
checks.push({ name: 'no process outlived the run', ok: orphans.length === 0, seconds: 0 });
if (orphans.length > 0) {
  console.error(`\nThese processes outlived the test run (now killed): ${orphans.map((o) => `${o.pid} ${o.argv0}`).join(', ')}`);
  for (const o of orphans) {
    try {
      process.kill(o.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

const otherChecks = checks.filter((c) => c.name !== 'jest');
const passed = jest.numPassedTests + otherChecks.filter((c) => c.ok).length;
const failed = jest.numFailedTests + otherChecks.filter((c) => !c.ok).length;
writeFileSync(join(results, 'summary.json'), JSON.stringify({ passed, failed, checks }, null, 2));
console.error('\n== summary');
for (const c of checks) console.error(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name} (${c.seconds.toFixed(1)} s)`);
console.error(`  jest: ${jest.numPassedTests} passed, ${jest.numFailedTests} failed`);
process.exit(checks.every((c) => c.ok) && failed === 0 ? 0 : 1);

/**
 * Processes of a test control plane (a control-plane binary whose arguments name a temporary sluice-cp- state
 * directory), a test Prometheus (a sluice-prometheus- directory), or this checkout's operator or demo app, still
 * running after a grace period for the teardown, and started by this run (its marker in the environment): a person's
 * `npm run cluster:up` plane and another run's processes are spared.
 */
async function leftovers(dir, traefikBin) {
  // Processes the tests start from this checkout: the operator (as a process) and the demo app the emulator runs.
  const OUR_PROCESSES = ['src/main.ts', 'examples/demo/app/server.mjs'].map((f) => resolve(import.meta.dirname, '..', f));
  const scan = () =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .flatMap((p) => {
        try {
          const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
          const argv0 = argv[0] ?? '';
          const ours =
            (argv0.startsWith(`${dir}/`) && argv.some((a) => a.includes('/sluice-cp-'))) ||
            (traefikBin !== '' && argv0 === `${traefikBin}/traefik`) ||
            argv.some((a) => a.includes('/sluice-prometheus-')) ||
            argv.slice(1).some((a) => OUR_PROCESSES.includes(a));
          const thisRun = ours && readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(RUN_MARKER);
          return thisRun ? [{ pid: Number(p), argv0 }] : [];
        } catch {
          return [];
        }
      });
  for (let i = 0; i < 50; i++) {
    if (scan().length === 0) return [];
    await new Promise((r) => setTimeout(r, 200));
  }
  return scan();
}
