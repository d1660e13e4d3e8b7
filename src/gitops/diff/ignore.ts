// spec.ignoreDifferences applied to one object. Pure.
//
// - Drift: ignored fields are removed from both the live object and the dry-run result before comparing.
// - Sync: a field named by a JSON pointer that the live object has is *adopted*: the manifest carries the live value
//   instead of Git's. Simply leaving it out would be wrong with server-side apply: when `sluice` is the field's only
//   owner (nobody edited it since our last apply), omitting it releases our ownership and the apiserver deletes it.
//   Declaring the live value changes nothing and keeps ownership (or shares it with whoever edited it).
// - A field owned by one of `managedFieldsManagers` (per the live object's managedFields) is left out of the
//   manifest: another manager owns it, so leaving it out releases only our share and the value stays.
import { pointerTokens, type IgnoreDifference } from '../../api/application/ignore.ts';
import { jsonEqual } from '../../api/common/equal.ts';
import type { ManagedFieldsEntry } from '../apply/conflicts.ts';
import { INSTANCE_LABEL, TRACKING_ANNOTATION, type ObjectRef } from '../plan/plan.ts';

/** The entries that select this object (group, kind, and name/namespace when given). */
export function rulesFor(rules: readonly IgnoreDifference[], ref: ObjectRef): IgnoreDifference[] {
  return rules.filter((r) => (r.group ?? '') === ref.group && r.kind === ref.kind && (r.name === undefined || r.name === ref.name) && (r.namespace === undefined || r.namespace === ref.namespace));
}

export const needsManagedFields = (rules: readonly IgnoreDifference[]): boolean => rules.some((r) => (r.managedFieldsManagers ?? []).length > 0);

type Node = Record<string, unknown> | unknown[];
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null;

function child(node: unknown, token: string): unknown {
  if (Array.isArray(node)) return /^\d+$/.test(token) ? node[Number(token)] : undefined;
  return isNode(node) && Object.hasOwn(node, token) ? (node as Record<string, unknown>)[token] : undefined;
}

/** The value at a pointer, or undefined when absent. */
export function getPointer(obj: unknown, tokens: string[]): unknown {
  let node = obj;
  for (const t of tokens) node = child(node, t);
  return node;
}

/** Removes the value at a pointer in place (an absent path is fine). */
export function removePointer(obj: unknown, tokens: string[]): void {
  const parent = getPointer(obj, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1];
  if (last === undefined || !isNode(parent)) return;
  if (Array.isArray(parent)) {
    if (/^\d+$/.test(last) && Number(last) < parent.length) parent.splice(Number(last), 1);
  } else delete parent[last];
}

/** Sets the value at a pointer in place when its parent exists; false when it does not. */
function setPointer(obj: unknown, tokens: string[], value: unknown): boolean {
  const parent = getPointer(obj, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1];
  if (last === undefined || !isNode(parent)) return false;
  if (Array.isArray(parent)) {
    if (!/^\d+$/.test(last) || Number(last) >= parent.length) return false;
    parent[Number(last)] = value;
  } else parent[last] = value;
  return true;
}

/**
 * Removes in place every leaf field a managedFields `fieldsV1` set names (`f:name`, `k:{merge keys}`, `v:value`,
 * `i:index`). A map or list item is removed only through its leaves, so fields of other managers inside it stay.
 */
export function removeOwned(obj: unknown, set: unknown): void {
  if (!isNode(obj) || !isNode(set) || Array.isArray(set)) return;
  for (const [key, sub] of Object.entries(set)) {
    if (key === '.') continue;
    const leaf = !isNode(sub) || Object.keys(sub).every((k) => k === '.');
    if (key.startsWith('f:') && !Array.isArray(obj)) {
      const name = key.slice(2);
      if (!Object.hasOwn(obj, name)) continue;
      if (leaf) delete obj[name];
      else removeOwned(obj[name], sub);
    } else if (Array.isArray(obj) && /^[kvi]:/.test(key)) {
      let wanted: unknown;
      try {
        wanted = key.startsWith('i:') ? Number(key.slice(2)) : JSON.parse(key.slice(2));
      } catch {
        continue;
      }
      const index = obj.findIndex((item, i) =>
        key.startsWith('i:') ? i === wanted : key.startsWith('v:') ? jsonEqual(item, wanted) : isNode(item) && isNode(wanted) && Object.entries(wanted).every(([k, v]) => jsonEqual((item as Record<string, unknown>)[k], v)),
      );
      if (index < 0) continue;
      if (leaf) obj.splice(index, 1);
      else removeOwned(obj[index], sub);
    }
  }
}

function ownedSets(rules: readonly IgnoreDifference[], managedFields: readonly ManagedFieldsEntry[] | undefined): unknown[] {
  const managers = new Set(rules.flatMap((r) => r.managedFieldsManagers ?? []));
  return (managedFields ?? []).filter((e) => e.manager !== undefined && managers.has(e.manager)).map((e) => e.fieldsV1);
}

/** A copy of `obj` without the ignored fields (drift compares such copies). `managedFields` are the live object's. */
export function withoutIgnored<T>(obj: T, rules: readonly IgnoreDifference[], managedFields: readonly ManagedFieldsEntry[] | undefined): T {
  if (rules.length === 0) return obj;
  const copy = structuredClone(obj);
  for (const set of ownedSets(rules, managedFields)) removeOwned(copy, set);
  for (const p of rules.flatMap((r) => r.jsonPointers ?? [])) removePointer(copy, pointerTokens(p));
  return copy;
}

/** The manifest to apply: ignored fields the live object has keep their live value (see the top of the file). */
export function respectIgnored<T>(manifest: T, live: unknown, rules: readonly IgnoreDifference[]): T {
  if (rules.length === 0 || live === undefined) return manifest;
  const copy = structuredClone(manifest);
  const mf = (isNode(live) ? (getPointer(live, ['metadata', 'managedFields']) as ManagedFieldsEntry[] | undefined) : undefined) ?? [];
  const sets = ownedSets(rules, mf);
  if (sets.length > 0) {
    // Identity and tracking are Sluice's whoever else touched them.
    const m = manifest as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown; labels?: Record<string, string>; annotations?: Record<string, string> } };
    for (const set of sets) removeOwned(copy, set);
    const c = copy as typeof m;
    Object.assign(c, { apiVersion: m.apiVersion, kind: m.kind });
    c.metadata = { ...c.metadata, name: m.metadata?.name, ...(m.metadata?.namespace !== undefined ? { namespace: m.metadata.namespace } : {}) };
    for (const key of [INSTANCE_LABEL] as const) if (m.metadata?.labels?.[key] !== undefined) c.metadata.labels = { ...c.metadata.labels, [key]: m.metadata.labels[key] };
    for (const key of [TRACKING_ANNOTATION] as const) if (m.metadata?.annotations?.[key] !== undefined) c.metadata.annotations = { ...c.metadata.annotations, [key]: m.metadata.annotations[key] };
  }
  for (const p of rules.flatMap((r) => r.jsonPointers ?? [])) {
    const tokens = pointerTokens(p);
    const value = getPointer(live, tokens);
    if (value !== undefined && getPointer(copy, tokens) !== undefined) setPointer(copy, tokens, structuredClone(value));
  }
  return copy;
}
