import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ensureHeadAdvertised } from './advert.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const pkt = (s: string): string => (s.length + 4).toString(16).padStart(4, '0') + s;
const advert = (lines: string[]): Uint8Array => Buffer.from(pkt('# service=git-upload-pack\n') + '0000' + lines.map(pkt).join('') + '0000');
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('ref advertisement without HEAD', () => {
  it('names the first ref as HEAD when the server advertises none (a bare repo whose HEAD dangles)', () => {
    const body = advert([`${A} refs/heads/main\0multi_ack shallow agent=git/2.47\n`, `${B} refs/tags/v1\n`]);
    const out = text(ensureHeadAdvertised(body));
    expect(out).toContain(pkt(`${A} refs/heads/main\0multi_ack shallow agent=git/2.47 symref=HEAD:refs/heads/main\n`));
    expect(out).toContain(pkt(`${B} refs/tags/v1\n`));
    expect(out.startsWith(pkt('# service=git-upload-pack\n') + '0000')).toBe(true);
    expect(out.endsWith('0000')).toBe(true);
  });

  it('leaves an advertisement with HEAD, a v2 one, an empty repository and garbage unchanged', () => {
    const withHead = advert([`${A} HEAD\0multi_ack symref=HEAD:refs/heads/main\n`, `${A} refs/heads/main\n`]);
    expect(ensureHeadAdvertised(withHead)).toBe(withHead);
    const v2 = advert(['version 2\n', 'ls-refs\n']);
    expect(ensureHeadAdvertised(v2)).toBe(v2);
    const empty = advert([`${'0'.repeat(40)} capabilities^{}\0multi_ack\n`]);
    expect(ensureHeadAdvertised(empty)).toBe(empty);
    const junk = Buffer.from('<html>not git</html>');
    expect(ensureHeadAdvertised(junk)).toBe(junk);
  });

  it('never throws and always yields well-formed pkt-lines for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const out = ensureHeadAdvertised(bytes);
        expect(out === bytes || text(out).includes('symref=HEAD:')).toBe(true);
      }),
    );
  });
});
