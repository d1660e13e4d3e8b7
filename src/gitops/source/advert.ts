// A workaround for isomorphic-git's fetch (1.44, issue isomorphic-git#1654): after a fetch of a named ref it
// resolves the server's HEAD unconditionally and throws "Could not find HEAD." when the server advertises none.
// `git init --bare` makes HEAD name `master`; a repository into which only `main` was pushed has a dangling HEAD,
// which git does not advertise, so no fetch of that repository could ever succeed. Sluice fetches the ref the
// Application names and never needs the server's HEAD; when the v1 ref advertisement lacks one, a `symref=HEAD:`
// capability naming the first advertised ref is added, which only feeds isomorphic-git's unused `defaultBranch`.
// Pure: bytes in, bytes out; anything that does not parse as a v1 advertisement is returned unchanged.

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Pkt {
  /** undefined for a flush packet (0000). */
  payload: Uint8Array | undefined;
}

function parsePkts(buf: Uint8Array): Pkt[] | undefined {
  const out: Pkt[] = [];
  let i = 0;
  while (i < buf.length) {
    if (i + 4 > buf.length) return undefined;
    const len = Number.parseInt(dec.decode(buf.subarray(i, i + 4)), 16);
    if (!Number.isInteger(len) || (len !== 0 && len < 4) || i + Math.max(len, 4) > buf.length) return undefined;
    out.push({ payload: len === 0 ? undefined : buf.subarray(i + 4, i + len) });
    i += len === 0 ? 4 : len;
  }
  return out;
}

function pkt(payload: Uint8Array | undefined): Uint8Array {
  if (payload === undefined) return enc.encode('0000');
  const head = enc.encode((payload.length + 4).toString(16).padStart(4, '0'));
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

/** The advertisement with a HEAD symref added when the server names no HEAD; otherwise the same bytes. */
export function ensureHeadAdvertised(body: Uint8Array): Uint8Array {
  const pkts = parsePkts(body);
  if (pkts === undefined) return body;
  // The first ref line: the first payload after the service banner that is not the banner itself.
  const first = pkts.findIndex((p) => p.payload !== undefined && !dec.decode(p.payload).startsWith('# service='));
  const payload = pkts[first]?.payload;
  if (payload === undefined) return body;
  const line = dec.decode(payload);
  const nul = line.indexOf('\0');
  if (nul < 0 || line.startsWith('version ')) return body; // not a v1 advertisement
  const ref = line.slice(0, nul).split(' ')[1] ?? '';
  const caps = line.slice(nul + 1).replace(/\n$/, '');
  const refs = pkts.map((p) => (p.payload === undefined ? '' : dec.decode(p.payload).split('\0')[0]?.trim().split(' ')[1]));
  if (refs.includes('HEAD') || /(^| )symref=HEAD:/.test(caps) || !ref.startsWith('refs/')) return body;
  const patched = `${line.slice(0, nul)}\0${caps} symref=HEAD:${ref}\n`;
  const parts = pkts.map((p, i) => pkt(i === first ? enc.encode(patched) : p.payload));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
