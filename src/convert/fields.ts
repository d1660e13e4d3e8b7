// Nothing dropped silently: a converter reads its input only through Fields, which remembers what was read, and
// whatever was never read is reported as unmapped. Reading a path consumes the whole subtree under it.
// A value of the wrong type is never read as absent: string, number, boolean and typed (zod) record it in
// `mistyped`, and the converter reports each one as an error at its field.
import type { z } from 'zod';
import { describeValue, typeErrors } from '../lint/related.ts';
import type { PathSegment } from '../lint/source.ts';

const key = (path: readonly PathSegment[]): string => JSON.stringify(path);

export class Fields {
  readonly root: unknown;
  private readonly consumed = new Set<string>();
  /** Every prefix of a consumed path: a node that is not touched was not read at all and is reported whole. */
  private readonly touched = new Set<string>();
  /** Fields that were read but are of the wrong type: `must be a list, got a string "app.example.com"`. */
  readonly mistyped: { path: PathSegment[]; message: string }[] = [];

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
    const out = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
    return this.expect(path, v, out, 'a string');
  }

  number(...path: PathSegment[]): number | undefined {
    const v = this.take(...path);
    const out = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
    return this.expect(path, v, out, 'a number');
  }

  boolean(...path: PathSegment[]): boolean | undefined {
    const v = this.take(...path);
    return this.expect(path, v, typeof v === 'boolean' ? v : undefined, 'true or false');
  }

  /** The value at `path` parsed with `schema` (consumed); undefined when absent or of the wrong type (recorded). */
  typed<T>(schema: z.ZodType<T>, ...path: PathSegment[]): T | undefined {
    const v = this.take(...path);
    if (v === undefined) return undefined;
    const parsed = schema.safeParse(v);
    if (parsed.success) return parsed.data;
    for (const e of typeErrors(parsed.error, v)) this.mistype([...path, ...e.path], e.message);
    return undefined;
  }

  private expect<T>(path: PathSegment[], raw: unknown, value: T | undefined, expected: string): T | undefined {
    if (raw !== undefined && raw !== null && value === undefined) this.mistype(path, `must be ${expected}, got ${describeValue(raw)}`);
    return value;
  }

  /** Recorded once per field, however often a converter reads it. */
  private mistype(path: PathSegment[], message: string): void {
    if (!this.mistyped.some((m) => key(m.path) === key(path))) this.mistyped.push({ path, message });
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
