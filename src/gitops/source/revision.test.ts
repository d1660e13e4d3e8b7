import { describe, expect, it } from '@jest/globals';
import { credentialsFromSecretData } from './credentials.ts';
import { normalizePath } from './git.ts';
import { resolveRevision, RevisionNotFoundError } from './revision.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const T = 'd'.repeat(40);
const refs = [
  { ref: 'HEAD', oid: A, target: 'refs/heads/main' },
  { ref: 'refs/heads/main', oid: A },
  { ref: 'refs/heads/v1', oid: B },
  { ref: 'refs/tags/v1', oid: T, peeled: C },
  { ref: 'refs/tags/v2', oid: B },
];

describe('targetRevision resolution', () => {
  it('follows HEAD for an empty revision and prefers a branch over a same-named tag', () => {
    expect(resolveRevision(undefined, refs)).toEqual({ kind: 'ref', commit: A, fetchRef: 'refs/heads/main' });
    expect(resolveRevision('HEAD', refs).commit).toBe(A);
    expect(resolveRevision('v1', refs)).toEqual({ kind: 'ref', commit: B, fetchRef: 'refs/heads/v1' });
    expect(resolveRevision('refs/tags/v1', refs)).toEqual({ kind: 'ref', commit: C, fetchRef: 'refs/tags/v1' });
    expect(resolveRevision('v2', refs).fetchRef).toBe('refs/tags/v2');
  });
  it('takes a full SHA: a tip is fetched shallowly, another commit needs history', () => {
    expect(resolveRevision(C, refs)).toEqual({ kind: 'ref', commit: C, fetchRef: 'refs/tags/v1' });
    expect(resolveRevision('e'.repeat(40), refs)).toEqual({ kind: 'sha', commit: 'e'.repeat(40), fetchRef: 'refs/heads/main' });
  });
  it('refuses what the remote does not have', () => {
    expect(() => resolveRevision('nope', refs)).toThrow(RevisionNotFoundError);
    expect(() => resolveRevision('', [])).toThrow(/no branches/);
    // A bare repository whose HEAD names `master` while only `main` was pushed: HEAD is not advertised.
    expect(() => resolveRevision('HEAD', refs.slice(1))).toThrow(/HEAD names no existing branch; set targetRevision to one of: main, v1/);
    expect(resolveRevision('main', refs.slice(1))).toEqual({ kind: 'ref', commit: A, fetchRef: 'refs/heads/main' });
  });
});

describe('source helpers', () => {
  it('normalises paths', () => {
    expect(['', '.', './', '/apps/web/', './apps//web'].map(normalizePath)).toEqual(['', '', '', 'apps/web', 'apps/web']);
  });
  it('reads credentials from secret data', () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    expect(credentialsFromSecretData({ username: b64('bot'), password: b64('pw') })).toEqual({ username: 'bot', password: 'pw' });
    expect(credentialsFromSecretData({ token: b64('tok') })).toEqual({ username: 'x-access-token', password: 'tok' });
    expect(credentialsFromSecretData({ username: b64('bot') })).toMatch(/neither/);
  });
});
