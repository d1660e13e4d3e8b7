import { describe, expect, it } from '@jest/globals';
import type { Manifest } from '../render/yaml.ts';
import { ageIdentities, ageOnly, isSopsEncrypted, pairValues, sopsDocuments, sopsMessage, substitute } from './sops.ts';

const enc = (sops: Record<string, unknown>, over: Partial<Manifest> = {}): Manifest =>
  ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'ENC[AES256_GCM,data:x,type:str]' }, sops, ...over });
const age = [{ recipient: 'age1abc', enc: '-----BEGIN AGE ENCRYPTED FILE-----\n…' }];
const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('isSopsEncrypted', () => {
  it('is a top-level sops map with a mac', () => {
    expect(isSopsEncrypted(enc({ mac: 'ENC[…]', age }))).toBe(true);
    expect(isSopsEncrypted(enc({ age }))).toBe(false);
    expect(isSopsEncrypted({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { sops: 'mac' } })).toBe(false);
    expect(isSopsEncrypted({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, sops: 'mac' })).toBe(false);
  });
});

describe('ageOnly', () => {
  it('drops every key service but age (a file in Git must not make the operator call a KMS)', () => {
    const out = ageOnly(enc({ mac: 'm', age, kms: [{ arn: 'arn:aws:kms:…' }], hc_vault: [{ vault_address: 'http://vault' }], gcp_kms: [{}], azure_kv: [{}], pgp: [{}], lastmodified: 't' }));
    expect(out).toEqual({ ...enc({}), sops: { mac: 'm', age, lastmodified: 't' } });
  });

  it('refuses a file with no age recipient, with Shamir key groups, or with an encrypted kind or name', () => {
    expect(ageOnly(enc({ mac: 'm', kms: [{}] }))).toMatch(/names no age recipient/);
    expect(ageOnly(enc({ mac: 'm', age: [] }))).toMatch(/names no age recipient/);
    expect(ageOnly(enc({ mac: 'm', key_groups: [{ age }], shamir_threshold: 1 }))).toMatch(/key_groups/);
    expect(ageOnly(enc({ mac: 'm', age }, { kind: 'ENC[AES256_GCM,data:x,type:str]' }))).toMatch(/encrypt only the values/);
    expect(ageOnly(enc({ mac: 'm', age }, { metadata: { name: 'ENC[AES256_GCM,data:x,type:str]' } }))).toMatch(/encrypt only the values/);
  });
});

describe('ageIdentities', () => {
  it('joins the .agekey data keys in name order (Flux convention), ignoring others and empty ones', () => {
    expect(ageIdentities({ 'b.agekey': b64('AGE-SECRET-KEY-1B\n'), 'a.agekey': b64('AGE-SECRET-KEY-1A'), other: b64('x'), 'c.agekey': b64(' ') })).toBe('AGE-SECRET-KEY-1A\nAGE-SECRET-KEY-1B');
    expect(ageIdentities({ other: b64('AGE-SECRET-KEY-1A') })).toBeUndefined();
    expect(ageIdentities(undefined)).toBeUndefined();
  });
});

describe('sopsMessage', () => {
  it('unwraps sops boxes onto one line and blanks age identities', () => {
    const stderr = 'Failed to get the data key required to decrypt the SOPS file.\n\nGroup 0: FAILED\n  age1xyz: FAILED\n    - | failed to create reader: identity did not match\n      | any of the recipients AGE-SECRET-KEY-1QQQQQ\n';
    const m = sopsMessage(stderr);
    expect(m).toBe('Failed to get the data key required to decrypt the SOPS file. Group 0: FAILED age1xyz: FAILED failed to create reader: identity did not match any of the recipients [age identity]');
    expect(sopsMessage('')).toBe('sops failed with no message');
    expect(sopsMessage('x'.repeat(1000))).toHaveLength(401);
  });
});

describe('sopsDocuments', () => {
  it('finds the encrypted documents of YAML files by MAC, with file and line, and skips the rest', () => {
    const enc1 = 'apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData:\n  p: ENC[x1]\nsops: {mac: M1, age: [{recipient: age1a}]}\n';
    const docs = sopsDocuments([
      { path: 'app/two.yaml', text: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n${enc1}` },
      { path: 'app/plain.yaml', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sops}\ndata: {mac: x}\n' },
      { path: 'app/broken.yaml', text: 'sops: {mac: [\n' },
      { path: 'README.md', text: enc1 },
    ]);
    expect([...docs.keys()]).toEqual(['M1']);
    expect(docs.get('M1')?.where).toBe('app/two.yaml:5');
    expect(docs.get('M1')?.object.metadata.name).toBe('a');
  });
});

describe('pairValues and substitute', () => {
  const committed = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { p: 'ENC[1]', list: ['ENC[2]', 'plain'] }, sops: { mac: 'ENC[mac]' } };
  const decrypted = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { p: 'secret', list: [42, 'plain'] } };

  it('pairs each ENC value with the plaintext at its path (typed), never the metadata', () => {
    expect([...pairValues(committed, decrypted)]).toEqual([
      ['ENC[1]', 'secret'],
      ['ENC[2]', 42],
    ]);
  });

  it('puts the plaintext into a rendered object whatever the renderer changed around it, and drops the sops metadata', () => {
    const rendered = { kind: 'Secret', apiVersion: 'v1', metadata: { name: 'prod-db', labels: { a: 'b' } }, stringData: { list: ['ENC[2]', 'plain'], p: 'ENC[1]' }, sops: { mac: 'ENC[mac]' } };
    expect(substitute(rendered, pairValues(committed, decrypted))).toEqual({ value: { kind: 'Secret', apiVersion: 'v1', metadata: { name: 'prod-db', labels: { a: 'b' } }, stringData: { list: [42, 'plain'], p: 'secret' } } });
    expect(substitute({ ...rendered, data: { x: 'ENC[other]' } }, pairValues(committed, decrypted))).toEqual({ missing: '.data.x' });
  });
});
