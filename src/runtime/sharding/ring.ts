// The consistent-hash ring over the live shards (pure). Each member owns `vnodes` points on a 32-bit ring; a key
// belongs to the first member point at or after the key's hash. On top of the plain ring, assignment is bounded
// ("consistent hashing with bounded loads", the algorithm Argo CD's controller sharding offers): no member takes
// more than ceil(loadFactor × keys / members) keys, so a handful of replicas stays balanced even over a few hundred
// objects, where a plain ring's variance would not.

export const DEFAULT_VNODES = 128;
/**
 * 1.05: nobody exceeds the mean by more than 5 %, so with 3 members nobody falls below it by more than 10 %, and a
 * fourth member joining takes at least 85 % of the new mean from the others.
 */
export const DEFAULT_LOAD_FACTOR = 1.05;

/** FNV-1a over UTF-16 code units, then murmur3's finaliser: FNV alone clusters similar keys (rollout-1, rollout-2). */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class Ring {
  readonly members: readonly string[];
  private readonly points: Uint32Array;
  private readonly owners: string[];

  constructor(members: Iterable<string>, vnodes = DEFAULT_VNODES) {
    if (!Number.isInteger(vnodes) || vnodes < 1) throw new RangeError(`vnodes must be a positive integer, got ${vnodes}`);
    // Sorted and deduplicated: the ring depends on the set of members, never on the order they were listed in.
    this.members = [...new Set(members)].sort();
    const pts: { h: number; m: string }[] = [];
    for (const m of this.members) for (let v = 0; v < vnodes; v++) pts.push({ h: hash32(`${m}#${v}`), m });
    // Ties (two points on one hash) are broken by member name so every replica builds the same ring.
    pts.sort((a, b) => a.h - b.h || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0));
    this.points = Uint32Array.from(pts.map((p) => p.h));
    this.owners = pts.map((p) => p.m);
  }

  get size(): number {
    return this.members.length;
  }

  /** Index of the first point at or after `h`, wrapping to 0. */
  private firstPoint(h: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid] ?? 0) < h) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.points.length ? 0 : lo;
  }

  /** The plain ring owner of `key` (undefined on an empty ring). */
  ownerOf(key: string): string | undefined {
    if (this.points.length === 0) return undefined;
    return this.owners[this.firstPoint(hash32(key))];
  }

  /** The distinct members in ring order from `key`'s position: the fallbacks when the first is full. */
  *candidates(key: string): Generator<string> {
    if (this.points.length === 0) return;
    const seen = new Set<string>();
    const start = this.firstPoint(hash32(key));
    for (let i = 0; i < this.owners.length && seen.size < this.members.length; i++) {
      const m = this.owners[(start + i) % this.owners.length] ?? '';
      if (seen.has(m)) continue;
      seen.add(m);
      yield m;
    }
  }
}

/** The most keys one member may hold. */
export function capacity(keys: number, members: number, loadFactor = DEFAULT_LOAD_FACTOR): number {
  return members === 0 ? 0 : Math.ceil((loadFactor * keys) / members);
}

/**
 * Assigns every key to a member: its ring owner, or the next member in ring order with room under the bound.
 *
 * With `current` (the owners today), an owner still in the ring keeps its keys up to the bound, and only the rest
 * are placed afresh: a new object moves nothing else, a member leaving moves only its keys, and one joining takes
 * the keys its elders hold past the new bound (a bounded ring computed from scratch would cascade: one new key can
 * push a neighbour's key along the ring). A key an owner sheds or is being drained from goes elsewhere while any
 * other member has room. Keys are taken in order of their hash (then the key), an order independent of the members,
 * so the outcome is a pure function of the keys, the members and the current owners.
 */
export function assign(
  keys: Iterable<string>,
  ring: Ring,
  loadFactor = DEFAULT_LOAD_FACTOR,
  current?: { owners: ReadonlyMap<string, string>; /** keys being drained from these owners: not theirs to keep */ leaving?: ReadonlyMap<string, string> },
): Map<string, string> {
  if (!(loadFactor >= 1)) throw new RangeError(`loadFactor must be at least 1, got ${loadFactor}`);
  const out = new Map<string, string>();
  if (ring.size === 0) return out;
  const ordered = [...new Set(keys)].map((k) => ({ k, h: hash32(k) })).sort((a, b) => a.h - b.h || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const cap = capacity(ordered.length, ring.size, loadFactor);
  const members = new Set(ring.members);
  const load = new Map<string, number>();
  const shed = new Map<string, string>(current?.leaving ?? []);
  if (current !== undefined) {
    for (const { k } of ordered) {
      const owner = current.owners.get(k);
      if (shed.has(k)) continue;
      if (owner === undefined || !members.has(owner)) continue;
      const n = load.get(owner) ?? 0;
      if (n < cap) {
        load.set(owner, n + 1);
        out.set(k, owner);
      } else shed.set(k, owner);
    }
  }
  for (const { k } of ordered) {
    if (out.has(k)) continue;
    for (const m of ring.candidates(k)) {
      const n = load.get(m) ?? 0;
      if (n < cap && shed.get(k) !== m) {
        load.set(m, n + 1);
        out.set(k, m);
        break;
      }
    }
    // Every other member is full (many keys drained from one shard at once): it stays where it is rather than nowhere.
    const back = shed.get(k);
    if (!out.has(k) && back !== undefined && members.has(back)) out.set(k, back);
  }
  return out;
}
