// The functions a template may call: Go's builtins and the sprig functions real notification templates use. Each
// is a pure function over plain data; nothing reaches JavaScript objects beyond their own properties.
import { createHash } from 'node:crypto';
import { GoTime } from './gotime.ts';

/** A function value placed in the data (Argo's `.time.Now`, `.repo.RepoURLToHTTPS`), invoked with `call`. */
export class Helper {
  readonly name: string;
  readonly fn: (args: TValue[]) => TValue;
  constructor(name: string, fn: (args: TValue[]) => TValue) {
    this.name = name;
    this.fn = fn;
  }
}

export type TValue = string | number | boolean | null | undefined | GoTime | Helper | readonly TValue[] | { readonly [key: string]: TValue };

export class ExecError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'ExecError';
  }
}

/** Limits an evaluation shares with its functions (output a function builds counts too). */
export interface Budget {
  steps: number;
  readonly maxSteps: number;
  readonly maxOutput: number;
}

export function spend(b: Budget, n = 1): void {
  b.steps += n;
  if (b.steps > b.maxSteps) throw new ExecError(`more than ${b.maxSteps} evaluation steps`);
}

export const isRecord = (v: TValue): v is { readonly [key: string]: TValue } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof GoTime) && !(v instanceof Helper);

/** Go's notion of "true" for if/with/and/or/not: false, 0, nil and empty values are false. */
export function truthy(v: TValue): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isRecord(v)) return Object.keys(v).length > 0;
  return true;
}

/** How `{{ x }}` prints a value, as Go's fmt does for the JSON-shaped data templates see. */
export function show(v: TValue): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof GoTime) return v.toString();
  if (v instanceof Helper) return `<func ${v.name}>`;
  if (Array.isArray(v)) return `[${v.map((x: TValue) => (x === null || x === undefined ? '<nil>' : show(x))).join(' ')}]`;
  const rec = v as { readonly [key: string]: TValue };
  return `map[${Object.keys(rec)
    .sort()
    .map((k) => `${k}:${rec[k] === null || rec[k] === undefined ? '<nil>' : show(rec[k])}`)
    .join(' ')}]`;
}

function toJson(v: TValue, indent?: number): string {
  return JSON.stringify(v ?? null, (_k, x: unknown) => (x instanceof GoTime ? new Date(x.ms).toISOString() : x instanceof Helper ? undefined : x), indent) ?? 'null';
}

const str = (v: TValue): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : show(v));

function num(name: string, v: TValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  if (v === undefined || v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new ExecError(`${name}: cannot use ${describe(v)} as a number`);
}

export function describe(v: TValue): string {
  if (v === undefined || v === null) return 'nil';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v instanceof GoTime) return 'a time';
  if (v instanceof Helper) return `the function ${v.name}`;
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}

function equal(a: TValue, b: TValue): boolean {
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (typeof a !== typeof b && !(a === null || b === null || a === undefined || b === undefined)) {
    throw new ExecError(`incompatible types for comparison: ${describe(a)} and ${describe(b)}`);
  }
  return a === b;
}

function compare(name: string, a: TValue, b: TValue): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  throw new ExecError(`${name}: cannot compare ${describe(a)} with ${describe(b)}`);
}

function toTime(name: string, v: TValue): GoTime {
  if (v instanceof GoTime) return v;
  if (typeof v === 'number') return new GoTime(v * 1000);
  if (typeof v === 'string') {
    const t = GoTime.parse(v);
    if (t !== undefined) return t;
  }
  throw new ExecError(`${name}: ${describe(v)} is not a time`);
}

function index(b: Budget, v: TValue, keys: TValue[]): TValue {
  let cur = v;
  for (const k of keys) {
    spend(b);
    if (Array.isArray(cur)) {
      const i = num('index', k);
      if (!Number.isInteger(i) || i < 0 || i >= cur.length) throw new ExecError(`index out of range: ${i}`);
      cur = cur[i] as TValue;
    } else if (isRecord(cur)) {
      cur = Object.hasOwn(cur, str(k)) ? cur[str(k)] : undefined;
    } else if (cur === undefined || cur === null) {
      return undefined;
    } else {
      throw new ExecError(`index: cannot index ${describe(cur)}`);
    }
  }
  return cur;
}

/** Go's fmt verbs that templates use: %s %v %d %f %.Nf %q %t %x %%. */
function sprintf(format: string, args: TValue[]): string {
  let n = 0;
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([svdfqtxXge%])/g, (_m, _flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const a = args[n++];
    let out: string;
    switch (verb) {
      case 'd':
        out = String(Math.trunc(num('printf', a)));
        break;
      case 'f':
      case 'g':
      case 'e':
        out = verb === 'f' ? num('printf', a).toFixed(prec === undefined ? 6 : Number(prec)) : String(num('printf', a));
        break;
      case 'q':
        out = JSON.stringify(str(a));
        break;
      case 'x':
      case 'X':
        out = typeof a === 'number' ? a.toString(16) : Buffer.from(str(a)).toString('hex');
        if (verb === 'X') out = out.toUpperCase();
        break;
      default:
        out = a === undefined ? '%!v(MISSING)' : show(a);
    }
    return width === undefined ? out : out.padStart(Number(width));
  });
}

function sized(b: Budget, s: string): string {
  if (s.length > b.maxOutput) throw new ExecError(`a value longer than ${b.maxOutput} characters`);
  return s;
}

type Fn = { min: number; max: number; call: (args: TValue[], b: Budget) => TValue };
const f = (min: number, max: number, call: Fn['call']): Fn => ({ min, max, call });
const MANY = 64;
const a0 = (args: TValue[]): TValue => args[0];
const a1 = (args: TValue[]): TValue => args[1];
const a2 = (args: TValue[]): TValue => args[2];
const list = (v: TValue): readonly TValue[] => (Array.isArray(v) ? (v as readonly TValue[]) : v === undefined || v === null ? [] : [v]);

export const FUNCTIONS: Readonly<Record<string, Fn>> = {
  // Go builtins (and/or/call are special forms in exec.ts but listed so the parser knows them).
  and: f(1, MANY, () => null),
  or: f(1, MANY, () => null),
  call: f(1, MANY, () => null),
  not: f(1, 1, (a) => !truthy(a0(a))),
  len: f(1, 1, (a) => {
    const v = a0(a);
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (isRecord(v)) return Object.keys(v).length;
    if (v === undefined || v === null) return 0;
    throw new ExecError(`len of ${describe(v)}`);
  }),
  index: f(1, MANY, (a, b) => index(b, a0(a), a.slice(1))),
  slice: f(1, 3, (a) => {
    const v = a0(a);
    if (typeof v !== 'string' && !Array.isArray(v)) throw new ExecError(`slice of ${describe(v)}`);
    const from = a.length > 1 ? num('slice', a1(a)) : 0;
    const to = a.length > 2 ? num('slice', a2(a)) : undefined;
    return typeof v === 'string' ? v.slice(from, to) : (v as readonly TValue[]).slice(from, to);
  }),
  eq: f(2, MANY, (a) => a.slice(1).some((x) => equal(a0(a), x))),
  ne: f(2, 2, (a) => !equal(a0(a), a1(a))),
  lt: f(2, 2, (a) => compare('lt', a0(a), a1(a)) < 0),
  le: f(2, 2, (a) => compare('le', a0(a), a1(a)) <= 0),
  gt: f(2, 2, (a) => compare('gt', a0(a), a1(a)) > 0),
  ge: f(2, 2, (a) => compare('ge', a0(a), a1(a)) >= 0),
  print: f(0, MANY, (a, b) => sized(b, a.map(str).join(''))),
  println: f(0, MANY, (a, b) => sized(b, `${a.map(str).join(' ')}\n`)),
  printf: f(1, MANY, (a, b) => sized(b, sprintf(str(a0(a)), a.slice(1)))),
  html: f(1, 1, (a) => str(a0(a)).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)),
  urlquery: f(1, MANY, (a) => encodeURIComponent(a.map(str).join(''))),
  // sprig
  default: f(1, 2, (a) => (a.length < 2 || !truthy(a1(a)) ? a0(a) : a1(a))),
  empty: f(1, 1, (a) => !truthy(a0(a))),
  coalesce: f(1, MANY, (a) => a.find(truthy)),
  ternary: f(3, 3, (a) => (truthy(a2(a)) ? a0(a) : a1(a))),
  toJson: f(1, 1, (a, b) => sized(b, toJson(a0(a)))),
  toPrettyJson: f(1, 1, (a, b) => sized(b, toJson(a0(a), 2))),
  toRawJson: f(1, 1, (a, b) => sized(b, toJson(a0(a)))),
  toString: f(1, 1, (a) => str(a0(a))),
  quote: f(0, MANY, (a) => a.map((x) => JSON.stringify(str(x))).join(' ')),
  squote: f(0, MANY, (a) => a.map((x) => `'${str(x)}'`).join(' ')),
  trunc: f(2, 2, (a) => {
    const n = num('trunc', a0(a));
    const s = str(a1(a));
    return n >= 0 ? s.slice(0, n) : s.slice(Math.max(0, s.length + n));
  }),
  substr: f(3, 3, (a) => str(a2(a)).slice(num('substr', a0(a)), num('substr', a1(a)))),
  upper: f(1, 1, (a) => str(a0(a)).toUpperCase()),
  lower: f(1, 1, (a) => str(a0(a)).toLowerCase()),
  title: f(1, 1, (a) => str(a0(a)).replace(/\b\w/g, (c) => c.toUpperCase())),
  trim: f(1, 1, (a) => str(a0(a)).trim()),
  trimPrefix: f(2, 2, (a) => (str(a1(a)).startsWith(str(a0(a))) ? str(a1(a)).slice(str(a0(a)).length) : str(a1(a)))),
  trimSuffix: f(2, 2, (a) => (str(a0(a)) !== '' && str(a1(a)).endsWith(str(a0(a))) ? str(a1(a)).slice(0, -str(a0(a)).length) : str(a1(a)))),
  replace: f(3, 3, (a, b) => sized(b, str(a2(a)).split(str(a0(a))).join(str(a1(a))))),
  contains: f(2, 2, (a) => str(a1(a)).includes(str(a0(a)))),
  hasPrefix: f(2, 2, (a) => str(a1(a)).startsWith(str(a0(a)))),
  hasSuffix: f(2, 2, (a) => str(a1(a)).endsWith(str(a0(a)))),
  repeat: f(2, 2, (a, b) => {
    const n = num('repeat', a0(a));
    if (n < 0 || n * str(a1(a)).length > b.maxOutput) throw new ExecError(`repeat: ${n} copies exceed the output limit`);
    return str(a1(a)).repeat(n);
  }),
  indent: f(2, 2, (a) => str(a1(a)).replace(/^/gm, ' '.repeat(Math.min(num('indent', a0(a)), 256)))),
  nindent: f(2, 2, (a) => `\n${str(a1(a)).replace(/^/gm, ' '.repeat(Math.min(num('nindent', a0(a)), 256)))}`),
  join: f(2, 2, (a, b) => sized(b, list(a1(a)).map(str).join(str(a0(a))))),
  splitList: f(2, 2, (a) => str(a1(a)).split(str(a0(a)))),
  list: f(0, MANY, (a) => a),
  dict: f(0, MANY, (a) => {
    const out: Record<string, TValue> = {};
    for (let i = 0; i + 1 < a.length; i += 2) out[str(a[i])] = a[i + 1];
    return out;
  }),
  get: f(2, 2, (a) => index({ steps: 0, maxSteps: 1, maxOutput: 0 }, a0(a), [a1(a)])),
  hasKey: f(2, 2, (a) => isRecord(a0(a)) && Object.hasOwn(a0(a) as object, str(a1(a)))),
  first: f(1, 1, (a) => list(a0(a))[0]),
  last: f(1, 1, (a) => list(a0(a)).at(-1)),
  add: f(1, MANY, (a) => a.reduce<number>((s, x) => s + num('add', x), 0)),
  sub: f(2, 2, (a) => num('sub', a0(a)) - num('sub', a1(a))),
  mul: f(1, MANY, (a) => a.reduce<number>((s, x) => s * num('mul', x), 1)),
  div: f(2, 2, (a) => {
    const d = num('div', a1(a));
    if (d === 0) throw new ExecError('div: division by zero');
    return Math.trunc(num('div', a0(a)) / d);
  }),
  mod: f(2, 2, (a) => num('mod', a0(a)) % num('mod', a1(a))),
  int: f(1, 1, (a) => Math.trunc(num('int', a0(a)))),
  int64: f(1, 1, (a) => Math.trunc(num('int64', a0(a)))),
  float64: f(1, 1, (a) => num('float64', a0(a))),
  b64enc: f(1, 1, (a) => Buffer.from(str(a0(a))).toString('base64')),
  b64dec: f(1, 1, (a) => Buffer.from(str(a0(a)), 'base64').toString('utf8')),
  sha256sum: f(1, 1, (a) => createHash('sha256').update(str(a0(a))).digest('hex')),
  now: f(0, 0, () => new GoTime(Date.now())),
  date: f(2, 2, (a) => toTime('date', a1(a)).format(str(a0(a)))),
  htmlDate: f(1, 1, (a) => toTime('htmlDate', a0(a)).format('2006-01-02')),
  unixEpoch: f(1, 1, (a) => String(Math.floor(toTime('unixEpoch', a0(a)).ms / 1000))),
  toDate: f(2, 2, (a) => toTime('toDate', a1(a))),
};

export const FUNCTION_NAMES: ReadonlySet<string> = new Set(Object.keys(FUNCTIONS));
