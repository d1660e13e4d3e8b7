// What a sync of an Application would change, computed with the operator's own pieces in the operator's order:
// Git source (ls-remote, shallow fetch) → render → plan → for each planned object a server-side dry-run apply
// with the sync's field manager and conflict rules, compared with the live object as drift detection compares
// them → prunes. Nothing is written; the dry-run needs the same permissions as `kubectl apply --dry-run=server`.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Application } from '../api/application/schema.ts';
import { maskSecrets } from './mask.ts';
import { canonicalJson } from '../api/common/equal.ts';
import { applyManifest } from '../gitops/apply/apply.ts';
import { SopsDecryptor } from '../gitops/decrypt/sops.ts';
import { drifted, normalize } from '../gitops/diff/drift.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';
import { plan as makePlan, pruneVerdict, refString, type ObjectRef } from '../gitops/plan/plan.ts';
import { HelmRepository } from '../gitops/source/helmrepo.ts';
import { GitSource } from '../gitops/source/git.ts';
import { decryptRendered } from '../gitops/sync.ts';
import type { SyncDeps } from '../gitops/sync-shared.ts';
import { CachedRenderer, checkSources } from '../gitops/sync-source.ts';
import { createLogger } from '../log/logger.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { Discovery } from '../kube/discovery.ts';
import { isNotFound } from '../kube/errors.ts';
import type { ResourceType } from '../kube/resource.ts';
import { unifiedDiff } from './textdiff.ts';

export type ChangeAction = 'create' | 'update' | 'prune' | 'keep';

export interface ObjectChange {
  ref: ObjectRef;
  action: ChangeAction;
  /** A unified diff (live → what the sync would leave) for create and update; the reason for keep. */
  detail: string;
}

export interface AppDiff {
  /** The revision rendered; with several sources, theirs in spec order, comma-separated. */
  commit: string;
  changes: ObjectChange[];
  /** Planned objects already as Git says. */
  unchanged: number;
}

/** Where the plugin keeps bare Git repositories between runs. */
export function gitCacheDir(env: Record<string, string | undefined>): string {
  return join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'kubectl-sluice', 'git');
}

/** Recursively key-sorted, so the two sides of a diff list fields in the same order whoever wrote them. */
const yamlOf = (o: unknown): string => stringify(JSON.parse(canonicalJson(o)), { lineWidth: 0 });

async function getLive(client: KubeClient, rt: ResourceType, ref: ObjectRef): Promise<KubeObject | undefined> {
  try {
    return await client.get<KubeObject>(rt, ref.namespace === '' ? undefined : ref.namespace, ref.name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * The changes a sync would make now. `prune` says whether it would prune (the Application's automated.prune, or
 * `app sync --prune`); objects it would not prune are reported as kept.
 */
export async function diffApplication(client: KubeClient, app: Application, opts: { cacheDir: string; prune?: boolean }): Promise<AppDiff> {
  const id = { namespace: app.metadata.namespace ?? '', name: app.metadata.name ?? '' };
  // The operator's own source check, render (several sources, `$ref` value files, charts from repositories) and SOPS
  // decryption, so the diff is of what the sync would render.
  const git = new GitSource({ cacheDir: opts.cacheDir });
  const deps: SyncDeps = { client, discovery: new Discovery(client), source: git, charts: new HelmRepository() };
  const revisions = await checkSources(deps, app, app, id, { inSync: new Map() }, 0, createLogger({ level: 'silent' }));
  if (!Array.isArray(revisions)) throw new Error(`${revisions.field !== undefined ? `${revisions.field}: ` : ''}${revisions.error.message}`);
  const out = await decryptRendered(git, new SopsDecryptor(client), app, id, revisions, await new CachedRenderer(deps).render(app, id, revisions));
  if (!out.ok) throw new Error(`the sync would fail before applying anything: ${out.error}`);
  const rendered = { manifests: out.manifests };
  const commit = revisions.join(',');

  const discovery = new Discovery(client);
  await discovery.resolveAll(rendered.manifests.map((m) => ({ apiVersion: m.manifest.apiVersion, kind: m.manifest.kind })));
  const automated = app.spec.syncPolicy?.automated;
  const inventory: ObjectRef[] = (app.status?.resources ?? []).map((r) => ({ group: r.group ?? '', version: r.version, kind: r.kind, namespace: r.namespace ?? '', name: r.name, syncWave: r.syncWave }));
  const ownerShard = app.metadata.labels?.[OWNER_LABEL];
  const p = makePlan({
    app: id,
    destinationNamespace: app.spec.destination.namespace,
    rendered: { ok: true, manifests: rendered.manifests },
    namespaced: (apiVersion, kind) => discovery.cached(apiVersion, kind)?.namespaced,
    inventory,
    prune: opts.prune === true || automated?.prune === true,
    allowEmpty: automated?.allowEmpty === true,
    // Sharded operators apply their owner label (the app's own) with every object: so does the diff, or it would
    // show the label's removal as a change.
    ...(ownerShard !== undefined ? { shard: ownerShard } : {}),
  });
  if (p.errors.length > 0) throw new Error(`the sync would fail before applying anything: ${p.errors.join('; ')}`);

  const changes: ObjectChange[] = [];
  let unchanged = 0;
  const short = shortRevisions(commit);
  for (const obj of p.apply) {
    const rt = await discovery.resolve(obj.manifest.apiVersion, obj.manifest.kind);
    const live = rt === undefined ? undefined : await getLive(client, rt, obj.ref);
    if (rt === undefined || live === undefined) {
      const note = rt === undefined ? ` (${obj.manifest.kind} is not served yet: a CRD in this sync may define it)` : '';
      const [shown] = maskSecrets([obj.manifest]);
      changes.push({ ref: obj.ref, action: 'create', detail: unifiedDiff('', yamlOf(shown), { from: '/dev/null', to: `${obj.source} @ ${short}${note}` }) });
      continue;
    }
    const { object: after } = await applyManifest(client, rt, obj.manifest, { dryRun: true });
    if (!drifted(live, after)) {
      unchanged++;
      continue;
    }
    const [before, next] = maskSecrets([normalize(live), normalize(after)]);
    changes.push({ ref: obj.ref, action: 'update', detail: unifiedDiff(yamlOf(before), yamlOf(next), { from: `live ${refString(obj.ref)}`, to: `after sync (${obj.source} @ ${short})` }) });
  }
  for (const r of p.prune) {
    const rt = await discovery.resolve(r.group === '' ? (r.version ?? 'v1') : `${r.group}/${r.version ?? 'v1'}`, r.kind);
    const live = rt === undefined ? undefined : await getLive(client, rt, r);
    if (live === undefined) continue;
    const verdict = pruneVerdict(id, r, live);
    changes.push(verdict.delete ? { ref: r, action: 'prune', detail: 'no longer in Git: deleted' } : { ref: r, action: 'keep', detail: verdict.reason });
  }
  for (const o of p.orphaned) changes.push({ ref: o.ref, action: 'keep', detail: `no longer in Git, kept: ${o.reason}` });
  return { commit, changes, unchanged };
}

/** Whether a sync would write anything: a create, update or prune ("keep" entries change nothing). */
export function hasChanges(d: Pick<AppDiff, 'changes'>): boolean {
  return d.changes.some((c) => c.action !== 'keep');
}

/** A revision as people read it: a commit's first 7 characters; several sources' revisions comma-separated. */
const shortRevisions = (commit: string): string => commit.split(',').map((r) => r.slice(0, 7)).join(',');

/** The diff as text: a header per object, then its unified diff (or what happens to it). */
export function renderAppDiff(d: AppDiff): string {
  if (d.changes.length === 0) return `in sync with ${shortRevisions(d.commit)}: ${d.unchanged} object(s), nothing to change\n`;
  return d.changes
    .map((c) => {
      const head = `===== ${c.action}: ${refString(c.ref)} =====\n`;
      return head + (c.action === 'create' || c.action === 'update' ? c.detail : `${c.detail}\n`);
    })
    .join('\n');
}
