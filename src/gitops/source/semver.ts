// Chart versions and the constraints Helm accepts for them (Masterminds/semver's syntax, the part charts use):
// `1.2.3`, `=`, `!=`, `>`, `>=`, `<`, `<=`, `~1.2` (patch updates), `^1.2` (minor updates; `^0.2` patch only),
// wildcards `1.x`/`1.2.*`/`*`, hyphen ranges `1.2 - 1.4`, AND by comma or space, OR by `||`. A prerelease version
// matches only a constraint that names a prerelease, as in Helm. Pure.

export interface Version {
  major: number;
  minor: number;
  patch: number;
  pre: string[];
  raw: string;
}

const VERSION = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseVersion(raw: string): Version | undefined {
  const m = VERSION.exec(raw.trim());
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2] ?? 0), patch: Number(m[3] ?? 0), pre: m[4] === undefined ? [] : m[4].split('.'), raw };
}

function comparePre(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length; // a release is newer than its prereleases
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : undefined;
    const ny = /^\d+$/.test(y) ? Number(y) : undefined;
    if (nx !== undefined && ny !== undefined && nx !== ny) return nx - ny;
    if (nx !== undefined && ny === undefined) return -1;
    if (nx === undefined && ny !== undefined) return 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || comparePre(a.pre, b.pre);
}

type Check = (v: Version) => boolean;

/** One comparator (`>=1.2`, `~1.2.3`, `1.x`) → a check; undefined when it does not parse. */
function comparator(term: string): { check: Check; pre: boolean } | undefined {
  const m = /^(=|!=|>=|<=|>|<|~>?|\^)?\s*v?([0-9xX*]+(?:\.[0-9xX*]+){0,2}(?:-[0-9A-Za-z.-]+)?)$/.exec(term);
  if (m === null) return undefined;
  const op = m[1] ?? '';
  const body = m[2] ?? '';
  const [core = '', preRaw] = body.split(/-(.*)/s, 2);
  const parts = core.split('.');
  const wild = (p: string | undefined): boolean => p === undefined || p === 'x' || p === 'X' || p === '*';
  const nums = parts.map((p) => (wild(p) ? undefined : Number(p)));
  const [M, m2, p] = [nums[0], parts.length > 1 ? nums[1] : undefined, parts.length > 2 ? nums[2] : undefined];
  const base: Version = { major: M ?? 0, minor: m2 ?? 0, patch: p ?? 0, pre: preRaw === undefined ? [] : preRaw.split('.'), raw: body };
  const cmp = (v: Version): number => compareVersions(v, base);
  const pre = preRaw !== undefined;
  if (M === undefined) return { check: () => op !== '<' && op !== '>' && op !== '!=', pre };
  const upper = (v: Version, bound: Version): boolean => compareVersions(v, bound) < 0;
  const next = (major: number, minor: number, patch: number): Version => ({ major, minor, patch, pre: ['0'], raw: '' });
  switch (op) {
    case '':
    case '=':
      if (m2 === undefined) return { check: (v) => v.major === M, pre };
      if (p === undefined) return { check: (v) => v.major === M && v.minor === m2, pre };
      return { check: (v) => cmp(v) === 0, pre };
    case '!=':
      return { check: (v) => cmp(v) !== 0, pre };
    case '>':
      return { check: (v) => (m2 === undefined ? v.major > M : p === undefined ? compareVersions(v, next(M, m2 + 1, 0)) >= 0 : cmp(v) > 0), pre };
    case '>=':
      return { check: (v) => cmp(v) >= 0, pre };
    case '<':
      return { check: (v) => cmp(v) < 0, pre };
    case '<=':
      return { check: (v) => (m2 === undefined ? v.major <= M : p === undefined ? v.major < M || (v.major === M && v.minor <= m2) : cmp(v) <= 0), pre };
    case '~':
    case '~>':
      return { check: (v) => cmp(v) >= 0 && upper(v, m2 === undefined ? next(M + 1, 0, 0) : next(M, m2 + 1, 0)), pre };
    case '^':
      return { check: (v) => cmp(v) >= 0 && upper(v, M > 0 || m2 === undefined ? next(M + 1, 0, 0) : next(0, m2 + 1, 0)), pre };
    default:
      return undefined;
  }
}

export interface Constraint {
  test(v: Version): boolean;
}

/** Parses a constraint; a string naming what does not parse when it does not. */
export function parseConstraint(text: string): Constraint | string {
  const alternatives: { checks: Check[]; pre: boolean }[] = [];
  for (const alt of text.split('||')) {
    const checks: Check[] = [];
    let pre = false;
    // Hyphen ranges first (`1.2 - 1.4` is `>=1.2 <=1.4`), then terms split by commas and spaces; an operator may be
    // separated from its version by spaces (`>= 1.2`).
    const normalized = alt.replace(/([0-9A-Za-z.*-]+)\s+-\s+([0-9A-Za-z.*-]+)/g, '>=$1 <=$2').replace(/(>=|<=|!=|>|<|=|~>|~|\^)\s+/g, '$1');
    for (const term of normalized.split(/[\s,]+/).filter((t) => t !== '')) {
      const c = comparator(term);
      if (c === undefined) return `"${term}" is not a version constraint`;
      checks.push(c.check);
      pre ||= c.pre;
    }
    if (checks.length === 0) return `"${text}" is not a version constraint`;
    alternatives.push({ checks, pre });
  }
  return { test: (v) => alternatives.some((a) => (v.pre.length === 0 || a.pre) && a.checks.every((c) => c(v))) };
}

/** The newest of `versions` that satisfies `constraint` ('' or '*' or 'latest': the newest release). */
export function maxSatisfying(versions: string[], constraint: string | undefined): string | undefined | { error: string } {
  const text = (constraint ?? '').trim();
  const c = text === '' || text === 'latest' ? parseConstraint('*') : parseConstraint(text);
  if (typeof c === 'string') return { error: c };
  let best: Version | undefined;
  for (const raw of versions) {
    const v = parseVersion(raw);
    if (v === undefined || !c.test(v)) continue;
    if (best === undefined || compareVersions(v, best) > 0) best = v;
  }
  return best?.raw;
}
