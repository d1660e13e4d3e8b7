// npm run bench:dashboard — the dashboard's figures, measured on one machine in one run:
//   page weight: the JS and CSS the browser loads, minified and gzipped;
//   first render: from navigation to 1,000 Rollout rows in the overview's DOM, in Debian's Chromium (median of 3);
//   server memory: RSS of the `kubectl sluice dashboard` process idle, then with 20 overview streams open at once
//   (each holding its own watches of the 1,000 Rollouts, as 20 open dashboards do).
// A private control plane (as npm run demo starts one); nothing but 127.0.0.1.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { ensureBinaries, startControlPlane } from '../../cluster/controlplane.ts';
import { launchBrowser } from '../../browser/browser.ts';
import { buildAssets } from '../../../src/dashboard/assets.ts';

const ROLLOUTS = 1000;
const STREAMS = 20;
const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const say = (s: string): void => void process.stdout.write(`${s}\n`);
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const assets = await buildAssets();
  const weight = { jsGzipBytes: gzipSync(assets.js).length, cssGzipBytes: gzipSync(assets.css).length };
  say(`page weight: JS ${(weight.jsGzipBytes / 1024).toFixed(1)} KiB + CSS ${(weight.cssGzipBytes / 1024).toFixed(1)} KiB gzipped`);

  const cp = await startControlPlane({ binDir: await ensureBinaries(), logDir: resolve('test-results', 'bench-dashboard', 'cluster-logs'), progress: () => undefined });
  const browser = await launchBrowser();
  let plugin: ReturnType<typeof spawn> | undefined;
  try {
    await cp.kubectl(['apply', '--server-side', '-f', join(ROOT, 'crds')]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(ROOT, 'crds')]);
    await cp.kubectl(['create', 'namespace', 'bench']);
    for (let batch = 0; batch < ROLLOUTS / 100; batch++) {
      const items = Array.from({ length: 100 }, (_, i) => {
        const name = `app-${batch * 100 + i}`;
        return { apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', metadata: { name, namespace: 'bench' }, spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:v1' }] } }, strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }] } } } };
      });
      await cp.kubectl(['apply', '--server-side', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'List', items }));
    }
    say(`${ROLLOUTS} Rollouts created`);

    plugin = spawn(join(ROOT, 'node_modules', '.bin', 'node'), [join(ROOT, 'bin', 'kubectl-sluice'), 'dashboard', '--port', '0', '--kubeconfig', cp.kubeconfig], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      plugin?.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Sluice dashboard: (\S+)\n/.exec(out);
        if (m?.[1] !== undefined) ok(m[1]);
      });
      plugin?.on('exit', (c) => fail(new Error(`dashboard exited ${c}`)));
    });
    const pid = plugin.pid ?? 0;
    await sleep(1000);
    const idle = rssMiB(pid);

    const renders: number[] = [];
    for (let i = 0; i < 3; i++) {
      const page = await browser.newPage();
      const t0 = Date.now();
      await page.goto(url);
      await page.waitForFunction(`document.querySelectorAll('tr[data-row]').length === ${ROLLOUTS}`, { timeout: 120_000, polling: 20 });
      renders.push(Date.now() - t0);
      await page.close();
    }
    renders.sort((a, b) => a - b);
    say(`first render of the overview with ${ROLLOUTS} Rollouts: median ${renders[1]} ms (${renders.join(', ')})`);

    // The cookie a browser would hold after opening the printed address.
    const login = await fetch(url, { redirect: 'manual' });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const base = url.replace(/\?token=.*$/, '');
    const controllers = Array.from({ length: STREAMS }, () => new AbortController());
    await Promise.all(
      controllers.map(async (ac) => {
        const res = await fetch(`${base}api/stream/overview`, { headers: { Cookie: cookie }, signal: ac.signal });
        const reader = res.body?.getReader();
        let text = '';
        const dec = new TextDecoder();
        for (;;) {
          const chunk = await reader?.read();
          if (chunk === undefined || chunk.done) throw new Error('stream ended before its snapshot');
          text += dec.decode(chunk.value as Uint8Array);
          if (text.includes('event: snapshot')) break;
          text = text.slice(-32); // only the marker is looked for
        }
        // Keep reading (as a browser does) so the server never blocks on a full socket.
        void (async () => {
          for (;;) if ((await reader?.read().catch(() => ({ done: true })))?.done !== false) break;
        })();
      }),
    );
    await sleep(2000);
    const open = rssMiB(pid);
    say(`server RSS: ${idle.toFixed(0)} MiB idle, ${open.toFixed(0)} MiB with ${STREAMS} overview streams open (${ROLLOUTS} Rollouts each)`);
    for (const ac of controllers) ac.abort();
    mkdirSync('test-results', { recursive: true });
    writeFileSync(join('test-results', 'dashboard-figures.json'), JSON.stringify({ weight, rollouts: ROLLOUTS, firstRenderMs: renders, rssMiB: { idle, streams: STREAMS, open } }, null, 2));
  } finally {
    plugin?.kill('SIGTERM');
    await browser.close();
    await cp.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
