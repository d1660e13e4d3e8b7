// SOPS-encrypted objects in the sources, decrypted after render with age identities from the Secret spec.decryption
// names (Flux's `decryption`). A rendered object that carries sops metadata is matched, by its MAC, to the document
// committed in Git; the real `sops` binary ($SLUICE_SOPS, or `sops` on the PATH) decrypts that document and checks its
// MAC, and each encrypted value of the rendered object is replaced by its plaintext (so kustomize's reordering, name
// prefixes and labels do not break the MAC). The document goes in on stdin as JSON, the identities in sops's
// environment (SOPS_AGE_KEY), the plaintext comes back on stdout: neither the plaintext nor a key is ever written to a
// file, a log line or the status; sops's messages are passed on with any age identity blanked out.
//
// The sops metadata comes from Git, so whoever can push can name key services in it: everything but the age
// recipients is dropped before sops sees the object (the MAC covers the values, not the metadata), so the operator
// never reaches a cloud KMS, Vault or a metadata endpoint on a file's say-so.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { isNotFound } from '../../kube/errors.ts';
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { R } from '../../kube/resource.ts';
import { LineCounter, parseAllDocuments } from 'yaml';
import { Lru } from '../render/cache.ts';
import type { Manifest, RenderedManifest } from '../render/yaml.ts';

export interface DecryptionSpec {
  provider: 'sops';
  secretRef: { name: string };
}

export interface SopsLimits {
  timeoutMs: number;
  maxOutputBytes: number;
}

export const SOPS_LIMITS: SopsLimits = { timeoutMs: 30_000, maxOutputBytes: 16 * 1024 * 1024 };

/** Why an object could not be decrypted; the message names its file and never holds a secret. */
export class DecryptionError extends Error {
  override readonly name = 'DecryptionError';
}

const sopsPath = (): string => process.env.SLUICE_SOPS ?? 'sops';
const AGE_IDENTITY = /AGE-SECRET-KEY-1[0-9A-Z]+/gi;

/** Is this object SOPS-encrypted (a top-level `sops` map with the MAC sops writes)? Pure. */
export function isSopsEncrypted(m: Manifest): boolean {
  const s = (m as Record<string, unknown>).sops;
  return typeof s === 'object' && s !== null && !Array.isArray(s) && typeof (s as Record<string, unknown>).mac === 'string';
}

/** Metadata fields naming key services other than age: dropped (see the header). */
const OTHER_KEY_SOURCES = ['kms', 'gcp_kms', 'azure_kv', 'hc_vault', 'pgp', 'hckms'];

/** The object with only age recipients left in its sops metadata, or why it cannot be decrypted with age. Pure. */
export function ageOnly(m: Manifest): Record<string, unknown> | string {
  const meta = { ...((m as Record<string, unknown>).sops as Record<string, unknown>) };
  // Sluice must read what it applies before decrypting it (and the plan names it): only values may be encrypted.
  if ([m.apiVersion, m.kind, m.metadata.name].some((v) => typeof v !== 'string' || v.startsWith('ENC['))) return 'its apiVersion, kind or name is encrypted; encrypt only the values (sops --encrypted-regex \'^(data|stringData)$\')';
  if (Array.isArray(meta.key_groups) && meta.key_groups.length > 0) return 'it uses sops key_groups (Shamir secret sharing), which Sluice does not decrypt; encrypt it to age recipients directly';
  const age = meta.age;
  if (!Array.isArray(age) || age.length === 0) return 'its sops metadata names no age recipient (Sluice decrypts with age keys only)';
  for (const k of OTHER_KEY_SOURCES) delete meta[k];
  return { ...m, sops: meta };
}

/** The age identities of a decryption Secret: every data key ending in `.agekey` (Flux's convention). Pure. */
export function ageIdentities(data: Record<string, string> | undefined): string | undefined {
  const keys = Object.keys(data ?? {})
    .filter((k) => k.endsWith('.agekey'))
    .sort();
  const ids = keys.map((k) => Buffer.from(data?.[k] ?? '', 'base64').toString('utf8').trim()).filter((v) => v !== '');
  return ids.length === 0 ? undefined : ids.join('\n');
}

/** sops's message on one line (its boxes of `|` unwrapped), capped, with anything like an age identity blanked. Pure. */
export function sopsMessage(stderr: string): string {
  const words = stderr
    .replace(AGE_IDENTITY, '[age identity]')
    .split('\n')
    .map((l) => l.trim().replace(/^(- )?\| ?/, ''))
    .filter((l) => l !== '')
    .join(' ');
  if (words === '') return 'sops failed with no message';
  return words.length > 400 ? `${words.slice(0, 400)}…` : words;
}

/** Runs `sops decrypt` on one object: JSON on stdin, identities in the environment, plaintext JSON on stdout. */
export function sopsDecrypt(object: Record<string, unknown>, identities: string, limits: SopsLimits = SOPS_LIMITS): Promise<Record<string, unknown>> {
  // A bare environment: no cloud credentials, no key file under a home directory, only the identities given.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent', SOPS_AGE_KEY: identities };
  const args = ['decrypt', '--input-type', 'json', '--output-type', 'json'];
  return new Promise((resolve, reject) => {
    const child = execFile(sopsPath(), args, { env, cwd: '/', timeout: limits.timeoutMs, maxBuffer: limits.maxOutputBytes, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `the sops binary (${sopsPath()}) was not found` : err.killed ? `sops did not finish within ${limits.timeoutMs} ms` : sopsMessage(stderr);
        reject(new DecryptionError(why));
        return;
      }
      try {
        const out: unknown = JSON.parse(stdout);
        if (typeof out !== 'object' || out === null || Array.isArray(out)) throw new Error('not an object');
        resolve(out as Record<string, unknown>);
      } catch {
        reject(new DecryptionError('sops printed something that is not a JSON object'));
      }
    });
    child.stdin?.end(JSON.stringify(object));
  });
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A SOPS-encrypted document as committed: where it is, and its object (parsed as sops parses YAML: 1.2). */
export interface SopsDocument {
  where: string;
  object: Manifest;
}

/**
 * The SOPS-encrypted documents of the sources' files, by their MAC (one per encryption). Renderers may reorder keys
 * (kustomize sorts them) and change metadata (namespace, labels, prefixes), which breaks the MAC of the rendered
 * object: the committed document is what sops decrypts and verifies. Pure.
 */
export function sopsDocuments(files: { path: string; text: string }[]): Map<string, SopsDocument> {
  const out = new Map<string, SopsDocument>();
  for (const f of files) {
    if (!/\.(ya?ml|json)$/i.test(f.path) || !f.text.includes('sops') || !f.text.includes('mac')) continue;
    const lines = new LineCounter();
    for (const doc of parseAllDocuments(f.text, { lineCounter: lines, version: '1.2', uniqueKeys: false })) {
      if (doc.errors.length > 0) continue;
      const object: unknown = doc.toJS();
      if (typeof object !== 'object' || object === null || !isSopsEncrypted(object as Manifest)) continue;
      const mac = ((object as Record<string, unknown>).sops as { mac: string }).mac;
      out.set(mac, { where: `${f.path}:${lines.linePos(doc.contents?.range[0] ?? doc.range[0]).line}`, object: object as Manifest });
    }
  }
  return out;
}

/** Each encrypted value (`ENC[…]`) of `encrypted` paired with the value at the same path of `plain`. Pure. */
export function pairValues(encrypted: unknown, plain: unknown, out = new Map<string, unknown>()): Map<string, unknown> {
  if (typeof encrypted === 'string' && encrypted.startsWith('ENC[')) out.set(encrypted, plain);
  else if (Array.isArray(encrypted) && Array.isArray(plain)) encrypted.forEach((v, i) => pairValues(v, plain[i], out));
  else if (typeof encrypted === 'object' && encrypted !== null && typeof plain === 'object' && plain !== null) {
    for (const [k, v] of Object.entries(encrypted)) if (k !== 'sops') pairValues(v, (plain as Record<string, unknown>)[k], out);
  }
  return out;
}

/** `value` with every encrypted value replaced by its plaintext; the path of one with none, if any. Pure. */
export function substitute(value: unknown, plain: Map<string, unknown>, path = ''): { value: unknown } | { missing: string } {
  if (typeof value === 'string' && value.startsWith('ENC[')) return plain.has(value) ? { value: plain.get(value) } : { missing: path || '.' };
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const [i, v] of value.entries()) {
      const r = substitute(v, plain, `${path}[${i}]`);
      if ('missing' in r) return r;
      items.push(r.value);
    }
    return { value: items };
  }
  if (typeof value === 'object' && value !== null) {
    const obj: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (path === '' && k === 'sops') continue;
      const r = substitute(v, plain, `${path}.${k}`);
      if ('missing' in r) return r;
      obj[k] = r.value;
    }
    return { value: obj };
  }
  return { value };
}

/** Reads the text files of the sources being synced (only asked when an encrypted object needs its document). */
export type SourceTexts = () => Promise<{ path: string; text: string }[]>;

/**
 * Decrypts the SOPS-encrypted objects of a render. The plaintext values stay in memory only, keyed by a hash of the
 * identities and the rendered object (a changed key or document decrypts again; a poll of the same commit spawns
 * nothing and reads no file).
 */
export class SopsDecryptor {
  private readonly memo = new Lru<Map<string, unknown>>(500);
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  /** The manifests with encrypted ones decrypted, or a DecryptionError naming the file that failed. */
  async decrypt(manifests: RenderedManifest[], spec: DecryptionSpec | undefined, namespace: string, sourceTexts: SourceTexts): Promise<RenderedManifest[]> {
    const encrypted = manifests.filter((m) => isSopsEncrypted(m.manifest));
    if (encrypted.length === 0) return manifests;
    if (spec === undefined) throw new DecryptionError(`${encrypted[0]?.source ?? '?'}: SOPS-encrypted, but the Application has no spec.decryption (provider: sops, secretRef: a Secret with an age key)`);
    const identities = await this.identities(namespace, spec.secretRef.name);
    const idHash = sha(identities);
    let docs: Map<string, SopsDocument> | undefined;
    const out: RenderedManifest[] = [];
    for (const m of manifests) {
      if (!isSopsEncrypted(m.manifest)) {
        out.push(m);
        continue;
      }
      const mac = ((m.manifest as Record<string, unknown>).sops as { mac: string }).mac;
      // The whole rendered object keys it: any change to the committed document is decrypted (and its MAC checked) again.
      const key = sha(`${idHash}\n${JSON.stringify(m.manifest)}`);
      let plain = this.memo.get(key);
      if (plain === undefined) {
        docs ??= sopsDocuments(await sourceTexts());
        const doc = docs.get(mac);
        if (doc === undefined) throw new DecryptionError(`${m.source}: SOPS-encrypted, but no file of the sources holds it as committed (only files in Git are decrypted)`);
        plain = await decryptDocument(doc, identities, `${namespace}/${spec.secretRef.name}`);
        this.memo.set(key, plain);
      }
      const r = substitute(m.manifest, plain);
      if ('missing' in r) throw new DecryptionError(`${m.source}: the encrypted value at ${r.missing} is not one of its SOPS file's`);
      out.push({ ...m, manifest: r.value as Manifest });
    }
    return out;
  }

  private async identities(namespace: string, name: string): Promise<string> {
    let secret: KubeObject & { data?: Record<string, string> };
    try {
      secret = await this.client.get(R.secret, namespace, name);
    } catch (err) {
      if (isNotFound(err)) throw new DecryptionError(`spec.decryption.secretRef: Secret ${namespace}/${name} not found`);
      throw err;
    }
    const ids = ageIdentities(secret.data);
    if (ids === undefined) throw new DecryptionError(`spec.decryption.secretRef: Secret ${namespace}/${name} has no data key ending in .agekey`);
    return ids;
  }
}

/** The plaintext of each encrypted value of one committed document, decrypted (and its MAC checked) by sops. */
async function decryptDocument(doc: SopsDocument, identities: string, secret: string): Promise<Map<string, unknown>> {
  const object = ageOnly(doc.object);
  if (typeof object === 'string') throw new DecryptionError(`${doc.where}: cannot decrypt: ${object}`);
  try {
    return pairValues(doc.object, checked(await sopsDecrypt(object, identities), doc.object));
  } catch (err) {
    if (err instanceof DecryptionError) throw new DecryptionError(`${doc.where}: cannot decrypt with the age key of spec.decryption.secretRef ${secret}: ${err.message}`);
    throw err;
  }
}

/** The decrypted object must still be the same object (kind and name), without its sops metadata. */
function checked(plain: Record<string, unknown>, encrypted: Manifest): Manifest {
  const m = plain as Partial<Manifest>;
  if (m.kind !== encrypted.kind || m.apiVersion !== encrypted.apiVersion || m.metadata?.name !== encrypted.metadata.name) {
    throw new DecryptionError('the decrypted object is not the same kind and name as the encrypted one (encrypt only values: sops --encrypted-regex ^(data|stringData)$)');
  }
  const rest = { ...plain };
  delete rest.sops;
  return rest as unknown as Manifest;
}
