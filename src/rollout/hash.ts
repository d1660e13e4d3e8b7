import { canonicalJson } from '../api/common/equal.ts';

/** The label that pins ReplicaSets, pods, Service selectors and DestinationRule subsets to one revision. */
export const POD_TEMPLATE_HASH_LABEL = 'rollouts-pod-template-hash';

// Consonants and digits only, as Kubernetes' SafeEncodeString: a hash can never spell a word or look like a number.
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function encode(n: number): string {
  let out = '';
  let v = n;
  do {
    out = (ALPHABET[v % ALPHABET.length] ?? '') + out;
    v = Math.floor(v / ALPHABET.length);
  } while (v > 0);
  return out;
}

/** A revision's identity: the pod template without our own hash label, key order ignored. Pure and stable. */
export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const t = structuredClone(template ?? {}) as { metadata?: { labels?: Record<string, string> } };
  if (t.metadata?.labels !== undefined) delete t.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  return encode(fnv1a32(`${canonicalJson(t)}#${collisionCount}`));
}

/** Identity of the step list: a change of steps restarts the steps, like a change of template. */
export function stepsHash(steps: unknown): string {
  return encode(fnv1a32(canonicalJson(steps ?? [])));
}
