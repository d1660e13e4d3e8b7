// The observer's GitOps judgement (DESIGN.md invariants 6 and 7), on the ConfigMaps the kill campaign's Applications
// manage, as the apiserver stored them. Pure: the stored events and the Git history in, violations out.
//   6. no prune of an object still in Git, nor of one Sluice does not track;
//   7. no field another manager set reverted (the campaign's label on each app's permanent object).
// The campaign's repositories are shaped for it: `<app>-perm` always in Git; `<app>-gen-<v>` in Git from revision v
// until revision v+1 replaces it; `<app>-untracked` never in Git (made by the test); label `chaos/extra` set by
// another manager on `<app>-perm`.
import type { Violation } from './check.ts';

export interface CmEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  name: string;
  labels: Record<string, string>;
  resourceVersion: string;
  atMs: number;
}

export const EXTRA_LABEL = 'chaos/extra';

/**
 * `pushedAt(app, v)`: when the commit that makes revision v began to be pushed (undefined: never), so a deletion of
 * gen-<v-1> stored before it is a prune of an object still in Git.
 */
export function gitopsViolations(events: readonly CmEvent[], apps: readonly string[], pushedAt: (app: string, version: number) => number | undefined): Violation[] {
  const out: Violation[] = [];
  const ordered = [...events].sort((a, b) => Number(a.resourceVersion) - Number(b.resourceVersion) || a.atMs - b.atMs);
  const labelled = new Set<string>();
  for (const e of ordered) {
    const app = apps.find((a) => e.name.startsWith(`${a}-`));
    if (app === undefined) continue;
    const what = e.name.slice(app.length + 1);
    const event = `ConfigMap/${e.name} rv ${e.resourceVersion} ${e.type}`;
    const report = (invariant: string, message: string): void => void out.push({ invariant, rollout: app, message, event, atMs: e.atMs });
    if (e.type === 'DELETED') {
      if (what === 'perm') report('6 no prune of what Git holds', `${e.name} pruned while Git always holds it`);
      else if (what === 'untracked') report('6 no prune of what Git holds', `${e.name} pruned though Sluice does not track it`);
      else {
        const v = /^gen-(\d+)$/.exec(what);
        const next = v === null ? undefined : pushedAt(app, Number(v[1]) + 1);
        if (v !== null && (next === undefined || e.atMs < next)) report('6 no prune of what Git holds', `${e.name} pruned while Git still held it (revision ${Number(v[1]) + 1} ${next === undefined ? 'never pushed' : `pushed ${next - e.atMs} ms later`})`);
      }
      continue;
    }
    if (what !== 'perm') continue;
    if (e.labels[EXTRA_LABEL] !== undefined) labelled.add(e.name);
    else if (labelled.has(e.name)) report('7 no field of another manager reverted', `label ${EXTRA_LABEL}, set by another field manager and absent from Git, removed from ${e.name}`);
  }
  return out;
}
