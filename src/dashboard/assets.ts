// The browser's code and styles. Built by `npm run build` into dist/dashboard/assets/ (what the package and the image
// ship); in a checkout, where the server runs from src/, they are bundled in memory at start with esbuild (a dev
// dependency), so a developer never sees a stale bundle. Nothing is loaded from elsewhere: the page is self-contained.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Assets {
  js: string;
  css: string;
}

const WEB = fileURLToPath(new URL('./web/', import.meta.url));

/** Bundles src/dashboard/web with esbuild: one minified ES module and one stylesheet. */
export async function buildAssets(): Promise<Assets> {
  const esbuild = await import('esbuild');
  const [js, css] = await Promise.all([
    esbuild.build({ entryPoints: [`${WEB}app.js`], bundle: true, minify: true, format: 'esm', target: 'es2022', write: false, legalComments: 'none' }),
    esbuild.build({ entryPoints: [`${WEB}app.css`], bundle: true, minify: true, write: false }),
  ]);
  return { js: js.outputFiles[0]?.text ?? '', css: css.outputFiles[0]?.text ?? '' };
}

/** The built assets beside the compiled server, else a fresh bundle of the sources. */
export async function loadAssets(): Promise<Assets> {
  const built = fileURLToPath(new URL('./assets/', import.meta.url));
  if (existsSync(`${built}app.js`) && existsSync(`${built}app.css`)) return { js: readFileSync(`${built}app.js`, 'utf8'), css: readFileSync(`${built}app.css`, 'utf8') };
  if (!existsSync(`${WEB}app.js`)) throw new Error(`dashboard assets are missing: neither ${built}app.js nor the sources in ${WEB}; run "npm run build"`);
  return buildAssets();
}

/** `node src/dashboard/assets.ts OUTDIR`: writes app.js and app.css (npm run build). */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const out = process.argv[2] ?? 'dist/dashboard/assets';
  mkdirSync(out, { recursive: true });
  const a = await buildAssets();
  writeFileSync(`${out}/app.js`, a.js);
  writeFileSync(`${out}/app.css`, a.css);
  process.stdout.write(`dashboard assets: ${out}/app.js (${a.js.length} bytes), ${out}/app.css (${a.css.length} bytes)\n`);
}
