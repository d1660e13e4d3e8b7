import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { ReplayGuard } from '../../server/replay.ts';
import { deliveryKeys, jsonErrorPosition, matchApplications, normalizeRepoURL, parsePush, readDelivery, verify } from './webhook.ts';
import { applicationSetRefs } from '../controller.ts';

const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: 'https://git.example.com/org/config.git' } }));
const sign = (secret: string, b: Buffer): string => `sha256=${createHmac('sha256', secret).update(b).digest('hex')}`;

describe('webhook verification', () => {
  it('accepts a GitHub push signed with the secret and rejects a wrong or missing signature', () => {
    expect(verify({ 'x-github-event': 'push', 'x-hub-signature-256': sign('s3', body) }, body, { github: 's3' })).toEqual({ ok: true, provider: 'github' });
    expect(verify({ 'x-github-event': 'push', 'x-hub-signature-256': sign('other', body) }, body, { github: 's3' })).toMatchObject({ ok: false, status: 401 });
    expect(verify({ 'x-github-event': 'push' }, body, { github: 's3' })).toMatchObject({ ok: false, status: 401 });
    expect(verify({ 'x-github-event': 'push', 'x-hub-signature-256': sign('s3', body) }, Buffer.concat([body, Buffer.from(' ')]), { github: 's3' })).toMatchObject({ ok: false });
    expect(verify({ 'x-github-event': 'push', 'x-hub-signature-256': sign('s3', body) }, body, {})).toMatchObject({ ok: false, reason: /not configured/ });
  });
  it('checks GitLab tokens and generic HMACs', () => {
    expect(verify({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 't' }, body, { gitlab: 't' })).toEqual({ ok: true, provider: 'gitlab' });
    expect(verify({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'x' }, body, { gitlab: 't' })).toMatchObject({ ok: false });
    expect(verify({ 'x-sluice-signature-256': sign('g', body) }, body, { generic: 'g' })).toEqual({ ok: true, provider: 'generic' });
    expect(verify({}, body, { generic: 'g' })).toMatchObject({ ok: false });
  });
});

describe('reading a verified delivery', () => {
  const b = (x: unknown): Buffer => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x));
  it('reads a push, and ignores another event (a GitHub ping) without refusing it', () => {
    expect(readDelivery('generic', {}, b({ repoURL: 'https://g/x', ref: 'refs/heads/main' }))).toEqual({ ok: true, push: { urls: ['https://g/x'], ref: 'refs/heads/main' } });
    expect(readDelivery('github', { 'x-github-event': 'ping' }, b({ zen: 'ping' }))).toEqual({ ok: true, push: undefined });
    expect(readDelivery('gitlab', { 'x-gitlab-event': 'Note Hook' }, b({ object_kind: 'note' }))).toEqual({ ok: true, push: undefined });
  });
  // Found by the fuzzer's contract (every rejection names the field or the position): a signed body that was not JSON
  // got "body is not JSON" with no position, and a push payload missing its repository got 202 with nothing refreshed.
  it('refuses a body that is not JSON naming the position, and an empty one', () => {
    expect(readDelivery('generic', {}, b('{"repoURL": 1,}'))).toEqual({ ok: false, reason: expect.stringMatching(/^body is not JSON: .* at position 14/) });
    expect(readDelivery('generic', {}, b('{"repoURL": '))).toEqual({ ok: false, reason: 'body is not JSON: Unexpected end of JSON input (at position 12)' });
    // V8 quotes a few characters around a bad token instead of its position: the position is found for it.
    expect(readDelivery('generic', {}, b(`{"repoURL": "https://g/${'x'.repeat(100)}", "ref": x}`))).toEqual({ ok: false, reason: expect.stringMatching(/^body is not JSON: Unexpected token 'x', .* \(at position 133\)$/) });
    expect(['', '{"a": [1, 2', '["ab", x]', '1e', '-', '{"a": tru', '  x', '{"a": 1.}'].map(jsonErrorPosition)).toEqual([0, 11, 7, 2, 1, 9, 2, 8]);
    expect(readDelivery('github', { 'x-github-event': 'push' }, b('  '))).toEqual({ ok: false, reason: 'body is empty: a JSON push payload was expected' });
  });
  it('refuses a push payload that is not one, naming the field', () => {
    expect(readDelivery('generic', {}, b({ repo: 'https://g/x' }))).toEqual({ ok: false, reason: expect.stringMatching(/^not a generic push payload: repoURL: /) });
    expect(readDelivery('github', { 'x-github-event': 'push' }, b({ ref: 'refs/heads/main', repository: { clone_url: 7 } }))).toEqual({ ok: false, reason: expect.stringMatching(/^not a github push payload: repository\.clone_url: /) });
    expect(readDelivery('gitlab', { 'x-gitlab-event': 'Push Hook' }, b({ ref: 'refs/heads/main' }))).toEqual({ ok: false, reason: expect.stringMatching(/^not a gitlab push payload: project: /) });
    expect(readDelivery('generic', {}, b([1, 2]))).toEqual({ ok: false, reason: expect.stringMatching(/^not a generic push payload: the body: /) });
  });
});

describe('push matching', () => {
  it('parses providers and matches apps by repository and branch', () => {
    const push = parsePush('github', JSON.parse(body.toString()))!;
    expect(push).toEqual({ urls: ['https://git.example.com/org/config.git'], ref: 'refs/heads/main' });
    expect(parsePush('gitlab', { ref: 'refs/heads/dev', project: { git_http_url: 'https://gl/x/y.git' } })).toEqual({ urls: ['https://gl/x/y.git'], ref: 'refs/heads/dev' });
    expect(parsePush('github', { zen: 'ping' })).toBeUndefined();
    const apps = [
      { key: 'a/main', repoURL: 'https://GIT.example.com/org/config', targetRevision: 'main' },
      { key: 'a/dev', repoURL: 'https://git.example.com/org/config.git', targetRevision: 'dev' },
      { key: 'a/head', repoURL: 'https://git.example.com/org/config.git/' },
      { key: 'a/other', repoURL: 'https://git.example.com/org/other.git', targetRevision: 'main' },
    ];
    expect(matchApplications(apps, push)).toEqual(['a/main', 'a/head']);
    expect(normalizeRepoURL('https://bot@Host:8443/x/y.git/')).toBe('https://host:8443/x/y');
  });
  it('names an app with several sources of the pushed repository once', () => {
    const push = { urls: ['https://git.example.com/org/config.git'], ref: 'refs/heads/main' };
    const apps = [
      { key: 'a/multi', repoURL: 'https://git.example.com/org/config.git', targetRevision: 'main' },
      { key: 'a/multi', repoURL: 'https://git.example.com/org/config', targetRevision: 'main' },
      { key: 'a/other', repoURL: 'https://git.example.com/org/charts.git', targetRevision: 'main' },
    ];
    expect(matchApplications(apps, push)).toEqual(['a/multi']);
  });
  it('names an ApplicationSet whose git generators (a matrix\'s too) read the pushed repository and branch', () => {
    const push = { urls: ['https://git.example.com/org/config.git'], ref: 'refs/heads/main' };
    const set = (name: string, generators: unknown): object => ({ metadata: { namespace: 'argocd', name }, spec: { generators } });
    const refs = [
      set('dirs', [{ git: { repoURL: 'https://git.example.com/org/config', revision: 'main', directories: [{ path: 'envs/*' }] } }]),
      set('matrix', [{ matrix: { generators: [{ list: { elements: [] } }, { git: { repoURL: 'https://git.example.com/org/config.git', files: [{ path: 'a.json' }] } }] } }]),
      set('release', [{ git: { repoURL: 'https://git.example.com/org/config', revision: 'release', directories: [] } }]),
      set('list-only', [{ list: { elements: [{ a: '1' }] } }]),
      set('broken', 'not a list'),
      set('broken-git', [{ git: { repoURL: 'https://git.example.com/org/config', files: 'nope' } }]),
    ].flatMap((s) => applicationSetRefs(s as never));
    expect(matchApplications(refs, push)).toEqual(['ApplicationSet/argocd/dirs', 'ApplicationSet/argocd/matrix']);
  });
  it('names a RollingSync set whose template reads the pushed repository, whatever its generators (it pins that source)', () => {
    const push = { urls: ['https://git.example.com/org/config.git'], ref: 'refs/heads/main' };
    const set = (name: string, strategy: unknown, source: object): object => ({ metadata: { namespace: 'argocd', name }, spec: { generators: [{ list: { elements: [{ env: 'dev' }] } }], strategy, template: { spec: { source } } } });
    const rolling = { type: 'RollingSync', rollingSync: { steps: [] } };
    const refs = [
      set('waves', rolling, { repoURL: 'https://git.example.com/org/config', targetRevision: 'main', path: 'envs/{{env}}' }),
      set('all-at-once', { type: 'AllAtOnce' }, { repoURL: 'https://git.example.com/org/config', targetRevision: 'main' }),
      set('templated-url', rolling, { repoURL: 'https://git.example.com/org/{{env}}', targetRevision: 'main' }),
      set('other-branch', rolling, { repoURL: 'https://git.example.com/org/config', targetRevision: 'release' }),
      set('chart', rolling, { repoURL: 'https://git.example.com/org/config', chart: 'web', targetRevision: '1.0.0' }),
    ].flatMap((s) => applicationSetRefs(s as never));
    expect(matchApplications(refs, push)).toEqual(['ApplicationSet/argocd/waves']);
  });
});

describe('replay guard', () => {
  it('admits a delivery once within the window, then again after it; keeps at most `max` entries', () => {
    let now = 0;
    const g = new ReplayGuard({ max: 3, ttlMs: 1000, now: () => now });
    const k = deliveryKeys('github', { 'x-github-delivery': 'abc' }, body);
    expect(k).toEqual(['github id abc', expect.stringMatching(/^github body [0-9a-f]{64}$/)]);
    expect(g.admit(k)).toBe(true);
    expect(g.admit(k)).toBe(false);
    expect(g.admit(deliveryKeys('github', { 'x-github-delivery': 'new' }, body))).toBe(false); // same body
    expect(g.admit(deliveryKeys('gitlab', { 'x-gitlab-event-uuid': 'abc' }, Buffer.from('{}')))).toBe(true); // ids are per provider
    now = 1000;
    expect(g.admit(k)).toBe(true); // expired: a delivery an hour later is a new one
    for (let i = 0; i < 10; i++) g.admit([`generic id ${i}`]);
    expect(g.size).toBe(3);
  });

  it('tells generic deliveries apart by their id only: their body repeats for every push', () => {
    const g = new ReplayGuard();
    const generic = Buffer.from('{"repoURL":"https://g/x.git","ref":"refs/heads/main"}');
    expect(deliveryKeys('generic', {}, generic)).toEqual([]);
    expect(g.admit(deliveryKeys('generic', {}, generic))).toBe(true);
    expect(g.admit(deliveryKeys('generic', {}, generic))).toBe(true); // the next push, same body
    expect(deliveryKeys('generic', { 'x-sluice-delivery': 'd1' }, generic)).toEqual(['generic id d1']);
    expect(g.admit(['generic id d1'])).toBe(true);
    expect(g.admit(['generic id d1'])).toBe(false);
  });
});
