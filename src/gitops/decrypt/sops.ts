// SOPS-encrypted objects in the sources, decrypted after render (as Flux's kustomize-controller does), with age
// identities from the Secret spec.decryption names. The real `sops` binary ($SLUICE_SOPS, or `sops` on the PATH)
// decrypts: the object goes in on stdin as JSON, the identities in its environment (SOPS_AGE_KEY), the plaintext comes
// back on stdout. Neither the plaintext nor a key is ever written to a file, a log line or the status; sops's
// messages are passed on with any age identity blanked out.
//
// The sops metadata comes from Git, so whoever can push can name key services in it: everything but the age
// recipients is dropped before sops sees the object (the MAC covers the values, not the metadata), so the operator
// never reaches a cloud KMS, Vault or a metadata endpoint on a file's say-so.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { isNotFound } from '../../kube/errors.ts';
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { R } from '../../kube/resource.ts';
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

/**
 * Decrypts the SOPS-encrypted objects of a render. Results stay in memory only, keyed by a hash of the encrypted
 * object and of the identities (a changed key or file decrypts again; a poll of the same commit spawns nothing).
 */
export class SopsDecryptor {
  private readonly memo = new Lru<Manifest>(500);
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  /** The manifests with encrypted ones decrypted, or a DecryptionError naming the first file that failed. */
  async decrypt(manifests: RenderedManifest[], spec: DecryptionSpec | undefined, namespace: string): Promise<RenderedManifest[]> {
    const encrypted = manifests.filter((m) => isSopsEncrypted(m.manifest));
    if (encrypted.length === 0) return manifests;
    if (spec === undefined) throw new DecryptionError(`${encrypted[0]?.source ?? '?'}: SOPS-encrypted, but the Application has no spec.decryption (provider: sops, secretRef: a Secret with an age key)`);
    const identities = await this.identities(namespace, spec.secretRef.name);
    const idHash = sha(identities);
    const out: RenderedManifest[] = [];
    for (const m of manifests) {
      if (!isSopsEncrypted(m.manifest)) {
        out.push(m);
        continue;
      }
      const object = ageOnly(m.manifest);
      if (typeof object === 'string') throw new DecryptionError(`${m.source}: cannot decrypt: ${object}`);
      const text = JSON.stringify(object);
      const key = sha(`${idHash}\n${text}`);
      let plain = this.memo.get(key);
      if (plain === undefined) {
        try {
          plain = checked(await sopsDecrypt(object, identities), m.manifest);
        } catch (err) {
          if (err instanceof DecryptionError) throw new DecryptionError(`${m.source}: cannot decrypt with the age key of spec.decryption.secretRef ${namespace}/${spec.secretRef.name}: ${err.message}`);
          throw err;
        }
        this.memo.set(key, plain);
      }
      out.push({ ...m, manifest: plain });
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
