// Drift: does the live object differ from what applying Git would produce? The server computes the latter (a
// server-side dry-run apply, with defaults, admission and other managers' fields merged in); this compares the two.
// Pure.
import { canonicalJson } from '../../api/common/equal.ts';
import type { KubeObject } from '../../kube/client.ts';

/** Without the fields that change on every write or are not the object's desired state (what drift compares). */
export function normalize(o: KubeObject): unknown {
  const { metadata, status: _status, ...rest } = o;
  const { managedFields: _mf, resourceVersion: _rv, generation: _g, creationTimestamp: _ct, uid: _uid, ...meta } = metadata ?? {};
  return { ...rest, metadata: meta };
}

/** True when applying would change the object. */
export function drifted(live: KubeObject, dryRun: KubeObject): boolean {
  return canonicalJson(normalize(live)) !== canonicalJson(normalize(dryRun));
}

/** A stable fingerprint of a desired manifest: an unchanged manifest on an unchanged object needs no new dry-run. */
export const fingerprint = (manifest: unknown): string => canonicalJson(manifest);
