import { describe, expect, it } from '@jest/globals';
import type { Manifest } from '../render/yaml.ts';
import { ageIdentities, ageOnly, isSopsEncrypted, sopsMessage } from './sops.ts';

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
