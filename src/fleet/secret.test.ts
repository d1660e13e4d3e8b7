import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatClusterSecretErrors, isClusterSecret, parseClusterSecret } from './secret.ts';

const fixtures = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'fleet');
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const CERT = b64(readFileSync(join(fixtures, 'test-cert.pem')));
const KEY = b64(readFileSync(join(fixtures, 'test-key.pem')));
const TOKEN = 'sekret-token-value-1234';

function secret(data: Record<string, string>, labels: Record<string, string> = { 'argocd.argoproj.io/secret-type': 'cluster', env: 'prod' }) {
  return { metadata: { name: 'prod-secret', labels }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) };
}

describe('cluster Secret', () => {
  it('is recognised by Argo CD\'s label or Sluice\'s alias', () => {
    expect(isClusterSecret(secret({}))).toBe(true);
    expect(isClusterSecret(secret({}, { 'sluice.dev/secret-type': 'cluster' }))).toBe(true);
    expect(isClusterSecret(secret({}, { 'argocd.argoproj.io/secret-type': 'repository' }))).toBe(false);
  });

  it('parses a bearer token with CA data, and client certificates', () => {
    const r = parseClusterSecret(secret({ name: 'prod', server: 'https://10.0.0.1:6443/', config: JSON.stringify({ bearerToken: TOKEN, tlsClientConfig: { caData: CERT } }), namespaces: 'a, b' }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ name: 'prod', server: 'https://10.0.0.1:6443', namespaces: ['a', 'b'], labels: { env: 'prod' } });
    expect(r.value.credentials.bearerToken).toBe(TOKEN);
    expect(r.value.credentials.ca?.toString()).toContain('BEGIN CERTIFICATE');
    const c = parseClusterSecret(secret({ name: 'p', server: 'https://h:6443', config: JSON.stringify({ tlsClientConfig: { certData: CERT, keyData: KEY, insecure: true } }) }));
    expect(c.ok && c.value.credentials.insecure).toBe(true);
  });

  it('names the field of a bad CA, bad JSON, a key without its certificate, or no credential, and never quotes the token', () => {
    const bad = (config: unknown, extra: Record<string, string> = {}): string[] => {
      const r = parseClusterSecret(secret({ name: 'p', server: 'https://h:6443', config: typeof config === 'string' ? config : JSON.stringify(config), ...extra }));
      if (r.ok) throw new Error('expected errors');
      const text = formatClusterSecretErrors(r.secret, r.errors);
      expect(text).not.toContain(TOKEN);
      return r.errors.map((e) => e.field);
    };
    expect(bad({ bearerToken: TOKEN, tlsClientConfig: { caData: b64('not a certificate') } })).toEqual(['data.config.tlsClientConfig.caData']);
    expect(bad({ bearerToken: TOKEN, tlsClientConfig: { caData: '%%%' } })).toEqual(['data.config.tlsClientConfig.caData']);
    expect(bad('{"bearerToken": ')).toContain('data.config');
    expect(bad({ tlsClientConfig: { keyData: KEY } })).toEqual(['data.config.tlsClientConfig.certData', 'data.config']);
    expect(bad({})).toEqual(['data.config']);
    expect(bad({ bearerToken: 42 })).toEqual(['data.config.bearerToken']);
    expect(bad({ bearerToken: TOKEN }, { server: 'not a url' })).toEqual(['data.server']);
    expect(bad({ bearerToken: TOKEN }, { server: 'https://kubernetes.default.svc' })).toEqual(['data.server']);
  });

  it('keeps the fingerprint when only labels change, and moves it with the credentials', () => {
    const cfg = JSON.stringify({ bearerToken: TOKEN });
    const a = parseClusterSecret(secret({ name: 'p', server: 'https://h:6443', config: cfg }));
    const b = parseClusterSecret(secret({ name: 'p', server: 'https://h:6443', config: cfg }, { 'argocd.argoproj.io/secret-type': 'cluster', env: 'dev' }));
    const c = parseClusterSecret(secret({ name: 'p', server: 'https://h:6443', config: JSON.stringify({ bearerToken: 'other' }) }));
    if (!a.ok || !b.ok || !c.ok) throw new Error('expected valid');
    expect(a.value.fingerprint).toBe(b.value.fingerprint);
    expect(a.value.fingerprint).not.toBe(c.value.fingerprint);
    expect(a.value.fingerprint).not.toContain(TOKEN);
  });
});
