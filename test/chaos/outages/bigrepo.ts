// The big repositories of the Git outage at scale (bigrepo.int.test.ts), generated once with `git fast-import` and
// cached (~/.cache/sluice/bigrepo-v1.git, or $SLUICE_BIGREPO_CACHE): two chains of three commits, each shaped like
// git.int.test.ts's cases (two ConfigMaps `<chain>-a` and `<chain>-b`):
//   good  a v1, b v1                                   (what the Application syncs first)
//   bad   a v2, b deleted, plus the big content        (50,000 small files under many/; or 500 × 1 MiB of random bytes)
//   fix   the big content deleted again (on top of bad, as a person's fix is)
// Dates are fixed, so the commit ids are the same on every machine; the test serves them through alternates (no copy).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const FILES = 50_000;
export const BLOBS = 500;
export const BLOB_BYTES = 1024 * 1024;

export interface Chain {
  good: string;
  bad: string;
  fix: string;
}

export interface BigRepo {
  /** The bare repository's objects directory (what a served repository names in objects/info/alternates). */
  objects: string;
  files: Chain;
  bytes: Chain;
  /** Seconds spent generating, or 0 when the cache was used. */
  generatedS: number;
}

const cm = (name: string, v: string): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v } });

function git(args: string[], opts: { cwd?: string; input?: (w: NodeJS.WritableStream) => Promise<void> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`git ${args.join(' ')}: exit ${code}: ${err}`))));
    if (opts.input === undefined) child.stdin.end();
    else opts.input(child.stdin).then(() => child.stdin.end(), reject);
  });
}

/** Writes with backpressure: half a gigabyte must not pile up in this process's memory. */
function write(w: NodeJS.WritableStream, chunk: string | Buffer): Promise<void> {
  return w.write(chunk) ? Promise.resolve() : new Promise((r) => w.once('drain', () => r()));
}

async function inline(w: NodeJS.WritableStream, path: string, content: string | Buffer): Promise<void> {
  const body = typeof content === 'string' ? Buffer.from(content) : content;
  await write(w, `M 100644 inline ${path}\ndata ${body.byteLength}\n`);
  await write(w, body);
  await write(w, '\n');
}

async function commit(w: NodeJS.WritableStream, ref: string, mark: number, day: number, message: string, from: number | undefined, body: () => Promise<void>): Promise<void> {
  const when = 1_767_225_600 + day * 86_400; // 2026-01-01 + day
  await write(w, `commit ${ref}\nmark :${mark}\ncommitter Sluice Test <test@sluice.dev> ${when} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`);
  if (from !== undefined) await write(w, `from :${from}\n`);
  await body();
  await write(w, '\n');
}

async function generate(dir: string): Promise<void> {
  await git(['init', '--quiet', '--bare', dir]);
  await git(['fast-import', '--quiet', '--big-file-threshold=512k'], {
    cwd: dir,
    input: async (w) => {
      // Chain "files": 50,000 small text files (not manifests: what a monorepo holds beside its YAML).
      await commit(w, 'refs/heads/files', 1, 0, 'good', undefined, async () => {
        await inline(w, 'a.yaml', cm('files-a', '1'));
        await inline(w, 'b.yaml', cm('files-b', '1'));
      });
      await commit(w, 'refs/heads/files', 2, 1, `${FILES} files`, 1, async () => {
        await inline(w, 'a.yaml', cm('files-a', '2'));
        await write(w, 'D b.yaml\n');
        for (let i = 0; i < FILES; i++) await inline(w, `many/${String(Math.floor(i / 1000)).padStart(2, '0')}/f${String(i).padStart(5, '0')}.txt`, `file ${i} of a repository of ${FILES}\n`);
      });
      await commit(w, 'refs/heads/files', 3, 2, 'fix: remove many/', 2, () => write(w, 'D many\n'));
      // Chain "bytes": 500 MiB that does not compress.
      await commit(w, 'refs/heads/bytes', 4, 0, 'good', undefined, async () => {
        await inline(w, 'a.yaml', cm('bytes-a', '1'));
        await inline(w, 'b.yaml', cm('bytes-b', '1'));
      });
      await commit(w, 'refs/heads/bytes', 5, 1, `${BLOBS} MiB of random bytes`, 4, async () => {
        await inline(w, 'a.yaml', cm('bytes-a', '2'));
        await write(w, 'D b.yaml\n');
        for (let i = 0; i < BLOBS; i++) await inline(w, `blobs/b${String(i).padStart(3, '0')}.bin`, randomBytes(BLOB_BYTES));
      });
      await commit(w, 'refs/heads/bytes', 6, 2, 'fix: remove blobs/', 5, () => write(w, 'D blobs\n'));
    },
  });
}

async function chain(dir: string, branch: string): Promise<Chain> {
  const [fix, bad, good] = (await git(['rev-list', '--max-count=3', branch], { cwd: dir })).split('\n') as [string, string, string];
  return { good, bad, fix };
}

/** The cached repository, generated first if missing (a minute or two; an interrupted generation is not kept). */
export async function bigRepo(): Promise<BigRepo> {
  const dir = process.env.SLUICE_BIGREPO_CACHE ?? join(homedir(), '.cache', 'sluice', 'bigrepo-v1.git');
  let generatedS = 0;
  if (!existsSync(dir)) {
    const started = Date.now();
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    try {
      await generate(tmp);
      await rename(tmp, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    generatedS = (Date.now() - started) / 1000;
  }
  return { objects: join(dir, 'objects'), files: await chain(dir, 'files'), bytes: await chain(dir, 'bytes'), generatedS };
}
