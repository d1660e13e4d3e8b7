// YAML files → documents that remember where each field was written, so a finding about
// `spec.strategy.canary.steps[3].setWeight` can name `file:line:column`. Parsed as kubectl reads YAML (the GitOps
// renderer's options: YAML 1.1, duplicate keys are errors, timestamps stay strings). Pure: text in, documents out.
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
import { PARSE_OPTIONS } from '../gitops/render/yaml.ts';

export type PathSegment = string | number;

export interface Position {
  line: number;
  column: number;
}

export interface SourceDocument {
  file: string;
  /** The object as kubectl would send it (one item of a `kind: List` is a document of its own). */
  value: unknown;
  /** Where the field is written; a field that is not there resolves to its nearest parent that is. */
  locate(path: readonly PathSegment[]): Position;
}

/** A file that is not valid YAML: nothing in it is checked. */
export interface SourceError extends Position {
  file: string;
  message: string;
}

export interface ParsedSource {
  documents: SourceDocument[];
  errors: SourceError[];
}

export function parseSource(file: string, text: string): ParsedSource {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { ...PARSE_OPTIONS, lineCounter: lines });
  const documents: SourceDocument[] = [];
  const errors: SourceError[] = [];
  if (!Array.isArray(docs)) return { documents, errors }; // an empty stream
  const at = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err !== undefined) {
      errors.push({ file, ...at(err.pos[0]), message: err.message.split('\n')[0] ?? err.message });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      errors.push({ file, ...at(doc.contents?.range[0] ?? doc.range[0]), message: e instanceof Error ? e.message : String(e) });
      continue;
    }
    if (value === null || value === undefined) continue;
    const locate = (path: readonly PathSegment[]): Position => at(offsetOf(doc, path));
    if (isList(value)) {
      value.items.forEach((item, i) => documents.push({ file, value: item, locate: (path) => locate(['items', i, ...path]) }));
    } else {
      documents.push({ file, value, locate });
    }
  }
  return { documents, errors };
}

function isList(v: unknown): v is { items: unknown[] } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { kind?: unknown; items?: unknown };
  return typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items);
}

/** The offset of the deepest node on `path` that exists: a map key's own position, or a sequence item's. */
function offsetOf(doc: Document, path: readonly PathSegment[]): number {
  let node: unknown = doc.contents;
  let offset = doc.contents?.range?.[0] ?? doc.range?.[0] ?? 0;
  for (const seg of path) {
    if (isMap(node) && typeof seg === 'string') {
      const pair = node.items.find((p) => isScalar(p.key) && (String(p.key.value) === seg || p.key.source === seg));
      if (pair === undefined) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (item === undefined) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

const SEGMENT = /(?:^|\.)([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;

/** The segments of a field path as src/api/common/errors.ts writes them: `a.b[3]["x/y"]` → ['a', 'b', 3, 'x/y']. */
export function parseFieldPath(field: string): PathSegment[] {
  const out: PathSegment[] = [];
  SEGMENT.lastIndex = 0;
  while (SEGMENT.lastIndex < field.length) {
    const m = SEGMENT.exec(field);
    if (m === null) break; // "(root)" or a free-form field: locate what was understood
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(m[3]) as string);
  }
  return out;
}
