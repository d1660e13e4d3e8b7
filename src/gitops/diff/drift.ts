// Drift: does the live object differ from what applying Git would produce? The server computes the latter (a
// server-side dry-run apply, with defaults, admission and other managers' fields merged in); this compares the two.
// Pure.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../api/common/equal.ts';
import type { IgnoreDifference } from '../../api/application/ignore.ts';
import type { KubeObject } from '../../kube/client.ts';
import { sameJson } from '../equal.ts';
import type { ManagedFieldsEntry } from '../apply/conflicts.ts';
import { withoutIgnored } from './ignore.ts';

/** Without the fields that change on every write or are not the object's desired state (what drift compares). */
export function normalize(o: KubeObject): unknown {
  const { metadata, status: _status, ...rest } = o;
  const { managedFields: _mf, resourceVersion: _rv, generation: _g, creationTimestamp: _ct, uid: _uid, ...meta } = metadata ?? {};
  return { ...rest, metadata: meta };
}

/**
 * True when applying would change the object, not counting fields spec.ignoreDifferences names (`rules` already
 * selected for this object; managedFieldsManagers are read from `live`'s managedFields, which must then be present).
 */
export function drifted(live: KubeObject, dryRun: KubeObject, rules: readonly IgnoreDifference[] = []): boolean {
  const mf = live.metadata?.managedFields as ManagedFieldsEntry[] | undefined;
  return canonicalJson(withoutIgnored(normalize(live), rules, mf)) !== canonicalJson(withoutIgnored(normalize(dryRun), rules, mf));
}

/**
 * A stable fingerprint of a desired manifest: an unchanged manifest on an unchanged object needs no new dry-run.
 * A hash, not the JSON itself: the controller keeps one per managed object.
 */
export function fingerprint(manifest: unknown): string {
  if (typeof manifest !== 'object' || manifest === null) return hash(manifest);
  let fp = fingerprints.get(manifest);
  if (fp === undefined) fingerprints.set(manifest, (fp = hash(manifest)));
  return fp;
}
const hash = (v: unknown): string => createHash('sha1').update(canonicalJson(v)).digest('base64');
/** By object: manifests are never mutated, and the plan hands out the same object for an unchanged one. */
const fingerprints = new WeakMap<object, string>();

/**
 * The live object's state as far as drift is concerned, without its labels and annotations (see `unchangedSince`).
 * A hash: the controller keeps one per managed object.
 */
export function liveState(live: KubeObject): string {
  return hash(stateOf(live));
}

/** liveState(a) === liveState(b), without hashing (the watch handlers compare every event's old and new object). */
export const sameState = (a: KubeObject, b: KubeObject): boolean => sameJson(stateOf(a), stateOf(b));

function stateOf(live: KubeObject): unknown {
  const n = normalize(live) as { metadata: Record<string, unknown> };
  const { labels: _l, annotations: _a, ...meta } = n.metadata;
  return { ...n, metadata: meta };
}

/**
 * Is applying `manifest` still a no-op, given that it was one when the live object had state `state`? True when
 * nothing but labels and annotations changed since (status is not part of the state) and the live object still has
 * every label and annotation the manifest declares, with the same value. Other managers' keys (a controller's
 * revision annotation) are not ours to remove, so they change nothing an apply would do. The caller guarantees the
 * manifest is the one found in sync then (same fingerprint). Pure.
 */
export function unchangedSince(state: string, manifest: KubeObject, live: KubeObject): boolean {
  const has = (want: Record<string, string> | undefined, got: Record<string, string> | undefined): boolean =>
    Object.entries(want ?? {}).every(([k, v]) => got !== undefined && Object.hasOwn(got, k) && got[k] === v);
  return has(manifest.metadata?.labels, live.metadata?.labels) && has(manifest.metadata?.annotations, live.metadata?.annotations) && liveState(live) === state;
}
