// Nothing dropped silently: a converter reads its input only through Fields, which remembers what was read, and
// whatever was never read is reported as unmapped. Reading a path consumes the whole subtree under it.
import type { PathSegment } from '../lint/source.ts';

const key = (path: readonly PathSegment[]): string => JSON.stringify(path);

export class Fields {
  readonly root: unknown;
  private readonly consumed = new Set<string>();
  /** Every prefix of a consumed path: a node that is not touched was not read at all and is reported whole. */
  private readonly touched = new Set<string>();

  constructor(root: unknown) {
    this.root = root;
  }

  /** The value at `path` (undefined when absent), consumed. */
  take(...path: PathSegment[]): unknown {
    this.consume(path);
    return this.peek(...path);
  }

  /** The value at `path` without consuming it. */
  peek(...path: PathSegment[]): unknown {
    let v: unknown = this.root;
    for (const seg of path) {
      if (typeof v !== 'object' || v === null) return undefined;
      v = (v as Record<string | number, unknown>)[seg];
    }
    return v;
  }

  string(...path: PathSegment[]): string | undefined {
    const v = this.take(...path);
    return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
  }

  number(...path: PathSegment[]): number | undefined {
    const v = this.take(...path);
    return typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
  }

  boolean(...path: PathSegment[]): boolean | undefined {
    const v = this.take(...path);
    return typeof v === 'boolean' ? v : undefined;
  }

  /** The keys (of a map) or indexes (of a list) at `path`, without consuming anything. */
  keys(...path: PathSegment[]): PathSegment[] {
    const v = this.peek(...path);
    if (Array.isArray(v)) return v.map((_x, i) => i);
    if (typeof v === 'object' && v !== null) return Object.keys(v);
    return [];
  }

  consume(path: readonly PathSegment[]): void {
    this.consumed.add(key(path));
    for (let i = 0; i <= path.length; i++) this.touched.add(key(path.slice(0, i)));
  }

  /** The unread paths (see unread), consumed: for a converter that reports them with reasons of its own. */
  drainUnread(): PathSegment[][] {
    const paths = this.unread();
    for (const p of paths) this.consume(p);
    return paths;
  }

  /** The paths that were never read, each as high up as possible (an unread map is one path, not one per leaf). */
  unread(): PathSegment[][] {
    const out: PathSegment[][] = [];
    const walk = (v: unknown, path: PathSegment[]): void => {
      const k = key(path);
      if (this.consumed.has(k)) return;
      if (!this.touched.has(k)) {
        out.push(path);
        return;
      }
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (typeof v === 'object' && v !== null) for (const [name, x] of Object.entries(v)) walk(x, [...path, name]);
    };
    walk(this.root, []);
    return out;
  }
}
