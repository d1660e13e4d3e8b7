// Drift: does the live object differ from what applying Git would produce? The server computes the latter (a
// server-side dry-run apply, with defaults, admission and other managers' fields merged in); this compares the two.
// Pure.
import { canonicalJson } from '../../api/common/equal.ts';
import type { IgnoreDifference } from '../../api/application/ignore.ts';
import type { KubeObject } from '../../kube/client.ts';
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

/** A stable fingerprint of a desired manifest: an unchanged manifest on an unchanged object needs no new dry-run. */
export const fingerprint = (manifest: unknown): string => canonicalJson(manifest);
