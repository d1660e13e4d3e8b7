// A real Git smart-HTTP server for integration tests: `git http-backend` run as CGI behind a small node:http bridge
// on 127.0.0.1, serving bare repositories from a temp dir, with an optional basic-auth check. Tests commit with the
// real `git` command through a working clone (always async: a sync child process would block this server).
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GitServerOptions {
  /** When set, every request must carry these basic-auth credentials (else 401). */
  auth?: { username: string; password: string };
}

export interface GitServer {
  /** http://127.0.0.1:<port> */
  baseURL: string;
  /** Requests served, by path and service: lets tests check that a poll did not fetch; `bytes` sent so far in the answer. */
  requests: { method: string; path: string; query: string; bytes: number }[];
  /**
   * Creates an empty bare repository whose HEAD names `head` (default `main`; `git init --bare`'s own default is
   * `master`, which leaves HEAD dangling when only `main` is pushed); returns its clone URL.
   */
  createRepo(name: string, head?: string): Promise<string>;
  /**
   * Writes (string) or deletes (null) files in a working clone of `repo`, commits and pushes to `branch`;
   * returns the new commit SHA.
   */
  commit(repo: string, files: Record<string, string | null>, message?: string, branch?: string): Promise<string>;
  /** Runs a git command in the working clone of `repo` (e.g. tag, revert) and pushes with `--follow-tags`. */
  git(repo: string, args: string[]): Promise<string>;
  /** Runs a git command in the working clone of `repo` and pushes nothing (force-pushes, branch deletes). */
  run(repo: string, args: string[]): Promise<string>;
  /** The bare repository on disk (for tests that write refs or alternates straight into it). */
  bare(repo: string): string;
  close(): Promise<void>;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Sluice Test',
  GIT_AUTHOR_EMAIL: 'test@sluice.dev',
  GIT_COMMITTER_NAME: 'Sluice Test',
  GIT_COMMITTER_EMAIL: 'test@sluice.dev',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: tmpdir(),
};

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, env: { ...process.env, ...GIT_ENV } });
  return stdout.trim();
}

function authorized(req: IncomingMessage, auth: GitServerOptions['auth']): boolean {
  if (auth === undefined) return true;
  const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  return req.headers.authorization === expected;
}

/** Bridges one HTTP request to one `git http-backend` CGI process (RFC 3875: env in, headers + body out). */
function serveCgi(root: string, req: IncomingMessage, res: ServerResponse, remoteUser: string, sent: { bytes: number }): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: header('content-type') ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    // receive-pack (push over HTTP) is enabled only for an authenticated user, as git's own default.
    REMOTE_USER: remoteUser,
  };
  const encoding = header('content-encoding');
  if (encoding !== undefined) env.HTTP_CONTENT_ENCODING = encoding;
  const protocol = header('git-protocol');
  if (protocol !== undefined) env.GIT_PROTOCOL = protocol;
  const cgi = spawn('git', ['http-backend'], { env });
  req.pipe(cgi.stdin);
  cgi.stdin.on('error', () => undefined);
  let head = Buffer.alloc(0);
  let headersSent = false;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headersSent) {
      sent.bytes += chunk.byteLength;
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    let end = head.indexOf('\r\n\r\n');
    let sep = 4;
    if (end < 0) {
      end = head.indexOf('\n\n');
      sep = 2;
    }
    if (end < 0) return;
    headersSent = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10);
      else headers[k] = v;
    }
    res.writeHead(status, headers);
    sent.bytes += head.byteLength - end - sep;
    res.write(head.subarray(end + sep));
  });
  cgi.stdout.on('end', () => {
    if (!headersSent) res.writeHead(502).end('git http-backend sent no headers');
    else res.end();
  });
  cgi.on('error', (err) => {
    if (!res.headersSent) res.writeHead(500).end(String(err));
  });
}

export async function startGitServer(opts: GitServerOptions = {}): Promise<GitServer> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-git-'));
  const root = join(dir, 'repos');
  const work = join(dir, 'work');
  await mkdir(root);
  await mkdir(work);
  const requests: GitServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const entry = { method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1), bytes: 0 };
    requests.push(entry);
    if (!authorized(req, opts.auth)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
      return;
    }
    serveCgi(root, req, res, opts.auth?.username ?? '', entry);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clones = new Map<string, string>();

  // Tests push straight to the bare repository on disk: the server under test is for reading, as a Git host is.
  const clone = async (repo: string): Promise<string> => {
    let path = clones.get(repo);
    if (path === undefined) {
      path = join(work, repo);
      await git(work, ['clone', '--quiet', join(root, `${repo}.git`), path]);
      await git(path, ['checkout', '--quiet', '-B', 'main']);
      clones.set(repo, path);
    }
    return path;
  };

  return {
    baseURL,
    requests,
    async createRepo(name, head = 'main') {
      const bare = join(root, `${name}.git`);
      await git(root, ['init', '--quiet', '--bare', `--initial-branch=${head}`, bare]);
      return `${baseURL}/${name}.git`;
    },
    async commit(repo, files, message = 'update', branch = 'main') {
      const path = await clone(repo);
      await git(path, ['checkout', '--quiet', '-B', branch]);
      for (const [file, content] of Object.entries(files)) {
        const target = join(path, file);
        if (content === null) await rm(target, { force: true });
        else {
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, content);
        }
      }
      await git(path, ['add', '--all']);
      await git(path, ['commit', '--quiet', '--allow-empty', '-m', message]);
      await git(path, ['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`]);
      return git(path, ['rev-parse', 'HEAD']);
    },
    async git(repo, args) {
      const path = await clone(repo);
      const out = await git(path, args);
      await git(path, ['push', '--quiet', '--follow-tags', 'origin', 'HEAD']);
      await git(path, ['push', '--quiet', '--tags', 'origin']);
      return out;
    },
    async run(repo, args) {
      return git(await clone(repo), args);
    },
    bare: (repo) => join(root, `${repo}.git`),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
