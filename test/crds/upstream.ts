// The upstream CRDs of the routers Sluice drives: the Gateway API's standard channel (module sigs.k8s.io/gateway-api)
// and Istio's VirtualService and DestinationRule (module istio.io/api). They come from the Go module proxy, as the
// control plane's sources do, into the same cache; the tests install them so that every write Sluice makes to an
// HTTPRoute, VirtualService or DestinationRule is checked by the upstream schema (OpenAPI and CEL rules).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Pinned versions: the Gateway API release Traefik v3's Gateway provider speaks, and a current Istio. */
export const UPSTREAM = {
  gatewayApi: { module: 'sigs.k8s.io/gateway-api', version: 'v1.4.1' },
  istio: { module: 'istio.io/api', version: 'v1.28.0' },
} as const;

/** The Istio kinds Sluice's Istio router edits: only these are installed (the other 12 Istio CRDs are of no use here). */
const ISTIO_CRDS = new Set(['virtualservices.networking.istio.io', 'destinationrules.networking.istio.io']);

export class UpstreamCrdError extends Error {
  override name = 'UpstreamCrdError';
}

function cacheRoot(): string {
  return process.env.SLUICE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice');
}

/** Where a module's source lies in Go's module cache, downloading it through the module proxy when missing. */
function moduleDir(module: string, version: string): string {
  const work = mkdtempSync(join(tmpdir(), 'sluice-crds-'));
  try {
    const env = { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off', GOTOOLCHAIN: 'local' };
    const r = spawnSync('go', ['mod', 'download', '-json', `${module}@${version}`], { cwd: work, env, encoding: 'utf8', timeout: 300_000 });
    if (r.error !== undefined) throw new UpstreamCrdError(`go mod download ${module}@${version}: ${r.error.message} (Go is needed on the PATH)`);
    let info: { Dir?: string; Error?: string };
    try {
      info = JSON.parse(r.stdout) as { Dir?: string; Error?: string };
    } catch {
      throw new UpstreamCrdError(`go mod download ${module}@${version} failed (exit ${r.status}): ${r.stderr.trim()}`);
    }
    if (info.Error !== undefined || info.Dir === undefined) throw new UpstreamCrdError(`go mod download ${module}@${version}: ${info.Error ?? 'no Dir in its answer'}`);
    return info.Dir;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Keeps the CRD documents whose metadata.name `keep` accepts, each as its original text. */
export function selectCrds(yamlText: string, source: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    if (doc.errors.length > 0) throw new UpstreamCrdError(`${source}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const v = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
    if (v === null || v.kind !== 'CustomResourceDefinition' || typeof v.metadata?.name !== 'string') continue;
    if (keep(v.metadata.name)) out.push(doc.toString());
  }
  return out;
}

function gatewayApiCrds(): string {
  const dir = join(moduleDir(UPSTREAM.gatewayApi.module, UPSTREAM.gatewayApi.version), 'config', 'crd', 'standard');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  const docs = files.flatMap((f) => selectCrds(readFileSync(join(dir, f), 'utf8'), join(dir, f), () => true));
  if (!docs.some((d) => d.includes('name: httproutes.gateway.networking.k8s.io'))) {
    throw new UpstreamCrdError(`${dir}: no HTTPRoute CRD among ${files.join(', ')}`);
  }
  return docs.join('---\n');
}

function istioCrds(): string {
  const file = join(moduleDir(UPSTREAM.istio.module, UPSTREAM.istio.version), 'kubernetes', 'customresourcedefinitions.gen.yaml');
  const docs = selectCrds(readFileSync(file, 'utf8'), file, (n) => ISTIO_CRDS.has(n));
  if (docs.length !== ISTIO_CRDS.size) throw new UpstreamCrdError(`${file}: expected ${[...ISTIO_CRDS].join(', ')}; found ${docs.length} of them`);
  return docs.join('---\n');
}

/**
 * The directory holding gateway-api.yaml and istio.yaml (fetched once per pinned version pair, then cached). Safe
 * against concurrent callers: each writes a temporary directory and renames it into place.
 */
export function upstreamCrdDir(): string {
  const dir = join(cacheRoot(), `upstream-crds-gateway-api-${UPSTREAM.gatewayApi.version}-istio-${UPSTREAM.istio.version}`);
  if (existsSync(join(dir, 'istio.yaml')) && existsSync(join(dir, 'gateway-api.yaml'))) return dir;
  mkdirSync(cacheRoot(), { recursive: true });
  const tmp = mkdtempSync(join(cacheRoot(), '.upstream-crds-'));
  try {
    writeFileSync(join(tmp, 'gateway-api.yaml'), gatewayApiCrds());
    writeFileSync(join(tmp, 'istio.yaml'), istioCrds());
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another process put it in place first: theirs is the same content.
      if (!existsSync(join(dir, 'istio.yaml'))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}
