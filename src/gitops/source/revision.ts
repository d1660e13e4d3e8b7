// Which commit does `targetRevision` name, given the refs the server advertises? Pure, so every spelling is tested
// without a server.

export interface ServerRef {
  ref: string;
  oid: string;
  /** For an annotated tag: the commit it points at. */
  peeled?: string;
  /** For HEAD: the branch it points at. */
  target?: string;
}

export type Resolved =
  /** A branch or tag tip: fetch `fetchRef` shallowly. */
  | { kind: 'ref'; commit: string; fetchRef: string }
  /** A full SHA the server does not advertise as a tip: needs history (fetch the default branch deeper). */
  | { kind: 'sha'; commit: string; fetchRef: string | undefined };

export class RevisionNotFoundError extends Error {
  override readonly name = 'RevisionNotFoundError';
}

const FULL_SHA = /^[0-9a-f]{40}$/;

/** targetRevision names one commit (a full SHA), not a ref that moves. */
export const isCommitSha = (rev: string | undefined): boolean => rev !== undefined && FULL_SHA.test(rev);

/**
 * '' and 'HEAD' follow the remote's default branch; otherwise a branch wins over a tag of the same name (as Argo CD
 * resolves it), a full refname (`refs/heads/x`) is taken literally, and a 40-hex string is a commit.
 */
export function resolveRevision(targetRevision: string | undefined, refs: ServerRef[]): Resolved {
  const rev = (targetRevision ?? '').trim();
  const byRef = new Map(refs.map((r) => [r.ref, r]));
  const head = byRef.get('HEAD');
  const commitOf = (r: ServerRef): string => r.peeled ?? r.oid;
  if (rev === '' || rev === 'HEAD') {
    if (head === undefined) {
      // `git init --bare` names `master` as HEAD; pushing only `main` leaves it dangling and git advertises none.
      const branches = refs.filter((r) => r.ref.startsWith('refs/heads/')).map((r) => r.ref.slice('refs/heads/'.length));
      if (branches.length === 0) throw new RevisionNotFoundError('the repository has no branches (is it empty?)');
      throw new RevisionNotFoundError(`the server's HEAD names no existing branch; set targetRevision to one of: ${branches.slice(0, 10).join(', ')}`);
    }
    const branch = head.target ?? refs.find((r) => r.ref.startsWith('refs/heads/') && r.oid === head.oid)?.ref;
    return { kind: 'ref', commit: head.oid, fetchRef: branch ?? 'HEAD' };
  }
  if (FULL_SHA.test(rev)) {
    const tip = refs.find((r) => r.ref !== 'HEAD' && commitOf(r) === rev);
    if (tip !== undefined) return { kind: 'ref', commit: rev, fetchRef: tip.ref };
    return { kind: 'sha', commit: rev, fetchRef: head?.target };
  }
  for (const candidate of rev.startsWith('refs/') ? [rev] : [`refs/heads/${rev}`, `refs/tags/${rev}`]) {
    const r = byRef.get(candidate);
    if (r !== undefined) return { kind: 'ref', commit: commitOf(r), fetchRef: candidate };
  }
  throw new RevisionNotFoundError(`targetRevision ${JSON.stringify(rev)} is neither a branch, a tag nor a full commit SHA on the remote`);
}
