// Server-side apply conflicts name fields as paths (`.spec.replicas`, `.spec.template.spec.containers[name="app"].image`,
// `.metadata.labels.app.kubernetes.io/name`). Pure helpers to find such a path in a manifest (to stop declaring a
// field another manager owns) and in a managedFields entry (to learn how that manager came to own it).
//
// The string form does not escape dots inside keys, so a path is resolved against the object it names: at each
// step the longest existing key that fits wins.

import { jsonEqual } from '../../api/common/equal.ts';

type Selector = { kind: 'keys'; keys: Record<string, unknown> } | { kind: 'value'; value: unknown } | { kind: 'index'; index: number };

function closing(path: string, open: number): number {
  let inString = false;
  for (let i = open + 1; i < path.length; i++) {
    const c = path[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === ']') return i;
  }
  return -1;
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let inString = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === ',') {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function parseSelector(body: string): Selector | undefined {
  try {
    if (body.startsWith('=')) return { kind: 'value', value: JSON.parse(body.slice(1)) };
    if (/^\d+$/.test(body)) return { kind: 'index', index: Number(body) };
    const keys: Record<string, unknown> = {};
    for (const part of splitTopLevel(body)) {
      const eq = part.indexOf('=');
      if (eq <= 0) return undefined;
      keys[part.slice(0, eq)] = JSON.parse(part.slice(eq + 1));
    }
    return { kind: 'keys', keys };
  } catch {
    return undefined;
  }
}

const nextIsBoundary = (path: string, i: number): boolean => i === path.length || path[i] === '.' || path[i] === '[';

function longestKey(path: string, pos: number, keys: string[]): string | undefined {
  let best: string | undefined;
  for (const k of keys) {
    if (path.startsWith(k, pos) && nextIsBoundary(path, pos + k.length) && (best === undefined || k.length > best.length)) best = k;
  }
  return best;
}

const matches = (sel: Selector, item: unknown, index: number): boolean => {
  if (sel.kind === 'index') return sel.index === index;
  if (sel.kind === 'value') return jsonEqual(item, sel.value);
  if (typeof item !== 'object' || item === null) return false;
  return Object.entries(sel.keys).every(([k, v]) => jsonEqual((item as Record<string, unknown>)[k], v));
};

type Step = { parent: Record<string, unknown>; key: string } | { parent: unknown[]; index: number };

/** The steps from the root of a plain object to the node `path` names, or undefined when it is not there. */
function locate(root: unknown, path: string): Step[] | undefined {
  const steps: Step[] = [];
  let node: unknown = root;
  let pos = 0;
  while (pos < path.length) {
    if (path[pos] === '.') {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
      const obj = node as Record<string, unknown>;
      const key = longestKey(path, pos + 1, Object.keys(obj));
      if (key === undefined) return undefined;
      steps.push({ parent: obj, key });
      node = obj[key];
      pos += 1 + key.length;
    } else if (path[pos] === '[') {
      const end = closing(path, pos);
      const sel = end < 0 ? undefined : parseSelector(path.slice(pos + 1, end));
      if (sel === undefined || !Array.isArray(node)) return undefined;
      const index = node.findIndex((item, i) => matches(sel, item, i));
      if (index < 0) return undefined;
      steps.push({ parent: node, index });
      node = node[index];
      pos = end + 1;
    } else return undefined;
  }
  return steps;
}

/**
 * A copy of `manifest` without the fields `paths` name (and without maps or list items that become empty because of
 * it, except the root's top-level keys). Returns the paths it could not find.
 */
export function withoutFields<T>(manifest: T, paths: string[]): { manifest: T; missing: string[] } {
  const copy = structuredClone(manifest);
  const missing: string[] = [];
  for (const path of paths) {
    const steps = locate(copy, path);
    if (steps === undefined || steps.length === 0) {
      missing.push(path);
      continue;
    }
    // Remove the leaf, then prune parents emptied by the removal (an empty `resources: {}` would be declared).
    for (let i = steps.length - 1; i >= 0; i--) {
      const s = steps[i]!;
      if ('key' in s) delete s.parent[s.key];
      else s.parent.splice(s.index, 1);
      const parent = s.parent;
      const empty = Array.isArray(parent) ? parent.length === 0 : Object.keys(parent).length === 0;
      // A list item that still holds its merge keys only is empty as far as ownership goes, but keep it simple:
      // stop at the first parent that still has content.
      if (!empty || i <= 1) break;
    }
  }
  return { manifest: copy, missing };
}

/** Does a managedFields `fieldsV1` set contain `path`? (`f:name`, `k:{json}`, `v:json`, `i:n` keys.) */
export function fieldSetContains(fieldsV1: unknown, path: string): boolean {
  let node: unknown = fieldsV1;
  let pos = 0;
  while (pos < path.length) {
    if (typeof node !== 'object' || node === null) return false;
    const obj = node as Record<string, unknown>;
    if (path[pos] === '.') {
      const names = Object.keys(obj)
        .filter((k) => k.startsWith('f:'))
        .map((k) => k.slice(2));
      const key = longestKey(path, pos + 1, names);
      if (key === undefined) return false;
      node = obj[`f:${key}`];
      pos += 1 + key.length;
    } else if (path[pos] === '[') {
      const end = closing(path, pos);
      const sel = end < 0 ? undefined : parseSelector(path.slice(pos + 1, end));
      if (sel === undefined) return false;
      const hit = Object.keys(obj).find((k) => {
        try {
          if (sel.kind === 'keys' && k.startsWith('k:')) return jsonEqual(JSON.parse(k.slice(2)), sel.keys);
          if (sel.kind === 'value' && k.startsWith('v:')) return jsonEqual(JSON.parse(k.slice(2)), sel.value);
          if (sel.kind === 'index' && k.startsWith('i:')) return Number(k.slice(2)) === sel.index;
        } catch {
          return false;
        }
        return false;
      });
      if (hit === undefined) return false;
      node = obj[hit];
      pos = end + 1;
    } else return false;
  }
  return true;
}
