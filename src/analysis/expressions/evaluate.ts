// A safe evaluator for Argo-style analysis conditions (`result[0] >= 0.95`, `len(result) > 0 && result[0] < 500`,
// `isNaN(result[0])`, `default(result[0], 0) > 1`). jsep parses; this file interprets a small, closed language over
// plain data. Nothing here can reach JavaScript: no eval, no prototype walk (own properties of plain objects only),
// only the functions listed in FUNCTIONS, and every expression is bounded in length, AST size, depth and steps.
import jsep from 'jsep';

/** What a condition can see and produce: JSON-like data, plus `undefined` for "no such element" (Argo's nil). */
export type Value = number | string | boolean | null | undefined | readonly Value[] | { readonly [key: string]: Value };

export const LIMITS = {
  /** Characters in an expression: conditions are one-liners; anything longer is a mistake or an attack. */
  maxLength: 2048,
  /** AST nodes after parsing. */
  maxNodes: 256,
  /** Nesting depth of the AST (parentheses, member chains). */
  maxDepth: 32,
  /** Interpreter steps (one per node visit plus one per array element a function walks). */
  maxSteps: 10_000,
} as const;

export type ExpressionErrorKind = 'parse' | 'limit' | 'type' | 'unknown-identifier' | 'unknown-function' | 'unsupported';

/** The only error this module throws: it names the expression and, for parse errors, the character position. */
export class ExpressionError extends Error {
  readonly kind: ExpressionErrorKind;
  readonly expression: string;
  /** 0-based character index, when the parser reported one. */
  readonly position: number | undefined;

  constructor(kind: ExpressionErrorKind, expression: string, detail: string, position?: number) {
    const shown = expression.length > 120 ? `${expression.slice(0, 117)}...` : expression;
    super(`${position === undefined ? '' : `at ${position}: `}${detail} in "${shown}"`);
    this.name = 'ExpressionError';
    this.kind = kind;
    this.expression = expression;
    this.position = position;
  }
}

type Node = jsep.Expression;

// expr-lang (Argo's evaluator) also spells the logical operators as words; Argo templates use both forms. jsep keeps
// its operators in one process-wide table, so registering them here affects every jsep user in the process; no other
// Sluice code parses with jsep, and these words are not identifiers a condition could otherwise use.
jsep.addBinaryOp('and', 2);
jsep.addBinaryOp('or', 1);
jsep.addUnaryOp('not');
// Membership (`phase in ['Failed', 'Error']`, `'key' in labels`) and expr-lang's string operators, at the precedence of
// the relational operators, which is where expr-lang puts them.
for (const op of ['in', 'contains', 'startsWith', 'endsWith']) jsep.addBinaryOp(op, 7);
const WORD_OPS: Readonly<Record<string, string>> = { and: '&&', or: '||', not: '!' };
const canonical = (op: string): string => WORD_OPS[op] ?? op;

// Names a condition may read besides `result`. Argo (expr-lang) has `true`/`false`/`nil`; jsep parses true, false
// and null as literals itself, so nil is the one to add.
const CONSTANTS: Readonly<Record<string, Value>> = { nil: null, NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY };

// Own-property names that would reach the prototype machinery in a plain object; never readable.
const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__']);

const isRecord = (v: Value): v is { readonly [key: string]: Value } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A parsed condition, checked against the limits once; evaluate it as often as you like. */
export class Condition {
  readonly source: string;
  private readonly ast: Node;

  private constructor(source: string, ast: Node) {
    this.source = source;
    this.ast = ast;
  }

  static parse(source: string): Condition {
    if (typeof source !== 'string') throw new ExpressionError('type', String(source), 'the expression is not a string');
    if (source.length > LIMITS.maxLength) throw new ExpressionError('limit', source, `longer than ${LIMITS.maxLength} characters (${source.length})`);
    if (source.trim() === '') throw new ExpressionError('parse', source, 'the expression is empty', 0);
    let ast: Node;
    try {
      ast = jsep(source);
    } catch (err) {
      // jsep throws Error objects carrying `index` and `description`; a deep nesting may blow the stack instead.
      if (err instanceof RangeError) throw new ExpressionError('limit', source, 'nested too deeply');
      const e = err as { index?: unknown; description?: unknown; message?: unknown };
      const position = typeof e.index === 'number' ? e.index : undefined;
      const detail = typeof e.description === 'string' ? e.description : typeof e.message === 'string' ? e.message : 'cannot parse';
      throw new ExpressionError('parse', source, detail, position);
    }
    checkShape(source, ast);
    return new Condition(source, ast);
  }

  /** The expression's value with `result` bound; throws ExpressionError only. */
  evaluate(result: Value): Value {
    return this.evaluateWith({ result });
  }

  /** The expression's value with these names bound (notification triggers see `rollout` or `app`). */
  evaluateWith(bindings: Readonly<Record<string, Value>>): Value {
    const state = { steps: 0 };
    try {
      return evalNode(this.source, this.ast, { bindings }, state);
    } catch (err) {
      if (err instanceof ExpressionError) throw err;
      if (err instanceof RangeError) throw new ExpressionError('limit', this.source, 'evaluation nested too deeply');
      throw new ExpressionError('type', this.source, err instanceof Error ? err.message : String(err));
    }
  }

  /** Evaluates and requires a boolean, as successCondition and failureCondition must produce. */
  test(result: Value): boolean {
    const v = this.evaluate(result);
    if (typeof v !== 'boolean') throw new ExpressionError('type', this.source, `must evaluate to a boolean, got ${describe(v)}`);
    return v;
  }
}

/** Parses and evaluates in one go (tests, one-off use). */
export function evaluate(source: string, result: Value): Value {
  return Condition.parse(source).evaluate(result);
}

function checkShape(source: string, root: Node): void {
  let nodes = 0;
  const walk = (n: Node, depth: number): void => {
    nodes += 1;
    if (nodes > LIMITS.maxNodes) throw new ExpressionError('limit', source, `more than ${LIMITS.maxNodes} syntax nodes`);
    if (depth > LIMITS.maxDepth) throw new ExpressionError('limit', source, `nested deeper than ${LIMITS.maxDepth}`);
    for (const child of children(source, n)) walk(child, depth + 1);
  };
  walk(root, 0);
}

function children(source: string, n: Node): Node[] {
  switch (n.type) {
    case 'Literal':
    case 'Identifier':
      return [];
    case 'UnaryExpression':
      return [n.argument as Node];
    case 'BinaryExpression':
      return [n.left as Node, n.right as Node];
    case 'ConditionalExpression':
      return [n.test as Node, n.consequent as Node, n.alternate as Node];
    case 'MemberExpression':
      return [n.object as Node, n.property as Node];
    case 'CallExpression':
      return [n.callee as Node, ...(n.arguments as Node[])];
    case 'ArrayExpression': {
      const elements = n.elements as (Node | null)[];
      if (elements.some((e) => e === null)) throw new ExpressionError('unsupported', source, 'array holes are not supported');
      return elements as Node[];
    }
    default:
      // Compound ("a, b" or "a b"), this, sequences and anything a jsep plugin might add: not part of the language.
      throw new ExpressionError('unsupported', source, `${n.type} is not supported`);
  }
}

interface Scope {
  readonly bindings: Readonly<Record<string, Value>>;
}

function step(source: string, state: { steps: number }, n = 1): void {
  state.steps += n;
  if (state.steps > LIMITS.maxSteps) throw new ExpressionError('limit', source, `more than ${LIMITS.maxSteps} evaluation steps`);
}

function evalNode(source: string, n: Node, scope: Scope, state: { steps: number }): Value {
  step(source, state);
  const ev = (x: Node): Value => evalNode(source, x, scope, state);
  switch (n.type) {
    case 'Literal': {
      const v = n.value;
      if (v instanceof RegExp) throw new ExpressionError('unsupported', source, 'regular expressions are not supported');
      return v as Value;
    }
    case 'Identifier': {
      const name = n.name as string;
      if (Object.hasOwn(scope.bindings, name)) return scope.bindings[name];
      if (Object.hasOwn(CONSTANTS, name)) return CONSTANTS[name];
      throw new ExpressionError('unknown-identifier', source, `unknown name "${name}" (only ${[...Object.keys(scope.bindings), ...Object.keys(CONSTANTS)].join(', ')})`);
    }
    case 'ArrayExpression':
      return (n.elements as Node[]).map(ev);
    case 'UnaryExpression':
      return unary(source, canonical(n.operator as string), ev(n.argument as Node));
    case 'BinaryExpression': {
      const op = canonical(n.operator as string);
      // && and || short-circuit like expr-lang: the right side may guard on the left (`len(result) > 0 && result[0]`).
      if (op === '&&' || op === '||') {
        const left = bool(source, op, ev(n.left as Node));
        if (op === '&&' ? !left : left) return left;
        return bool(source, op, ev(n.right as Node));
      }
      return binary(source, op, ev(n.left as Node), ev(n.right as Node));
    }
    case 'ConditionalExpression':
      return bool(source, '?:', ev(n.test as Node)) ? ev(n.consequent as Node) : ev(n.alternate as Node);
    case 'MemberExpression': {
      const object = ev(n.object as Node);
      const key = n.computed === true ? ev(n.property as Node) : ((n.property as Node).name as string);
      return member(source, object, key);
    }
    case 'CallExpression': {
      const callee = n.callee as Node;
      if (callee.type !== 'Identifier') throw new ExpressionError('unsupported', source, 'only named functions can be called');
      const name = callee.name as string;
      if (!Object.hasOwn(FUNCTIONS, name)) throw new ExpressionError('unknown-function', source, `unknown function "${name}" (known: ${Object.keys(FUNCTIONS).join(', ')})`);
      const fn = FUNCTIONS[name] as Fn;
      const args = (n.arguments as Node[]).map(ev);
      if (args.length < fn.min || args.length > fn.max) {
        throw new ExpressionError('type', source, `${name}() takes ${fn.min === fn.max ? fn.min : `${fn.min} to ${fn.max}`} argument(s), got ${args.length}`);
      }
      return fn.call(args, source, state);
    }
    default:
      throw new ExpressionError('unsupported', source, `${n.type} is not supported`);
  }
}

function member(source: string, object: Value, key: Value): Value {
  if (Array.isArray(object)) {
    if (typeof key !== 'number' || !Number.isInteger(key)) throw new ExpressionError('type', source, `an array index must be an integer, got ${describe(key)}`);
    // Out of range reads as nil (not an error) so that default(result[0], x) and len() guards work as in Argo.
    const i = key < 0 ? object.length + key : key;
    return i >= 0 && i < object.length ? (object[i] as Value) : undefined;
  }
  if (isRecord(object)) {
    if (typeof key !== 'string') throw new ExpressionError('type', source, `an object key must be a string, got ${describe(key)}`);
    if (FORBIDDEN_KEYS.has(key)) throw new ExpressionError('unsupported', source, `the key "${key}" is not readable`);
    return Object.hasOwn(object, key) ? object[key] : undefined;
  }
  throw new ExpressionError('type', source, `cannot read ${describe(key)} of ${describe(object)}`);
}

function unary(source: string, op: string, v: Value): Value {
  switch (op) {
    case '!':
      return !bool(source, '!', v);
    case '-':
      return -num(source, '-', v);
    case '+':
      return num(source, '+', v);
    default:
      throw new ExpressionError('unsupported', source, `the operator ${op} is not supported`);
  }
}

function binary(source: string, op: string, a: Value, b: Value): Value {
  switch (op) {
    case '==':
    case '===':
      return equal(a, b);
    case '!=':
    case '!==':
      return !equal(a, b);
    case '<':
    case '<=':
    case '>':
    case '>=': {
      // Comparing with nil (a missing element) is an error, never a silent false: the measurement becomes Error.
      if (typeof a === 'string' && typeof b === 'string') return compare(op, a, b);
      return compare(op, num(source, op, a), num(source, op, b));
    }
    case '+':
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      return num(source, op, a) + num(source, op, b);
    case '-':
      return num(source, op, a) - num(source, op, b);
    case '*':
      return num(source, op, a) * num(source, op, b);
    case '/':
      return num(source, op, a) / num(source, op, b);
    case '%':
      return num(source, op, a) % num(source, op, b);
    case 'in':
      if (Array.isArray(b)) return b.some((x) => equal(a, x as Value));
      if (isRecord(b)) {
        if (typeof a !== 'string') throw new ExpressionError('type', source, `in needs a string key for an object, got ${describe(a)}`);
        return Object.hasOwn(b, a) && !FORBIDDEN_KEYS.has(a);
      }
      // A missing list (nil) holds nothing, as in expr-lang.
      if (b === undefined || b === null) return false;
      throw new ExpressionError('type', source, `in needs an array or an object on its right, got ${describe(b)}`);
    case 'contains':
      return str(source, op, a).includes(str(source, op, b));
    case 'startsWith':
      return str(source, op, a).startsWith(str(source, op, b));
    case 'endsWith':
      return str(source, op, a).endsWith(str(source, op, b));
    default:
      throw new ExpressionError('unsupported', source, `the operator ${op} is not supported`);
  }
}

function compare<T extends number | string>(op: string, a: T, b: T): boolean {
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}

function equal(a: Value, b: Value): boolean {
  // nil and a missing element are the same thing to a condition.
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x as Value, b[i] as Value));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]));
  }
  return a === b;
}

function num(source: string, op: string, v: Value): number {
  if (typeof v !== 'number') throw new ExpressionError('type', source, `${op} needs numbers, got ${describe(v)}`);
  return v;
}

function str(source: string, op: string, v: Value): string {
  if (typeof v !== 'string') throw new ExpressionError('type', source, `${op} needs strings, got ${describe(v)}`);
  return v;
}

function bool(source: string, op: string, v: Value): boolean {
  if (typeof v !== 'boolean') throw new ExpressionError('type', source, `${op} needs booleans, got ${describe(v)}`);
  return v;
}

function describe(v: Value): string {
  if (v === undefined) return 'nil (no such element)';
  if (v === null) return 'nil';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

interface Fn {
  min: number;
  max: number;
  call(args: Value[], source: string, state: { steps: number }): Value;
}

const arg = (args: Value[], i: number): Value => args[i];

// Argo's helpers (utils/evaluate) plus len, abs, min, max that expr-lang provides as builtins.
const FUNCTIONS: Readonly<Record<string, Fn>> = {
  len: {
    min: 1,
    max: 1,
    call: (args, source) => {
      const v = arg(args, 0);
      if (Array.isArray(v)) return v.length;
      if (typeof v === 'string') return v.length;
      if (isRecord(v)) return Object.keys(v).length;
      throw new ExpressionError('type', source, `len() needs an array, a string or an object, got ${describe(v)}`);
    },
  },
  isNaN: { min: 1, max: 1, call: (args, source) => Number.isNaN(num(source, 'isNaN()', arg(args, 0))) },
  isInf: {
    min: 1,
    max: 2,
    // Like Go's math.IsInf: a sign > 0 asks for +Inf, < 0 for -Inf, 0 (or none) for either.
    call: (args, source) => {
      const v = num(source, 'isInf()', arg(args, 0));
      const sign = args.length > 1 ? num(source, 'isInf()', arg(args, 1)) : 0;
      return sign > 0 ? v === Number.POSITIVE_INFINITY : sign < 0 ? v === Number.NEGATIVE_INFINITY : !Number.isFinite(v) && !Number.isNaN(v);
    },
  },
  default: {
    min: 2,
    max: 2,
    call: (args) => {
      const v = arg(args, 0);
      return v === undefined || v === null ? arg(args, 1) : v;
    },
  },
  asInt: {
    min: 1,
    max: 1,
    call: (args, source) => {
      const v = arg(args, 0);
      const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : typeof v === 'number' ? Math.trunc(v) : undefined;
      if (n === undefined || Number.isNaN(n)) throw new ExpressionError('type', source, `asInt() cannot convert ${describe(v)}`);
      return n;
    },
  },
  asFloat: {
    min: 1,
    max: 1,
    call: (args, source) => {
      const v = arg(args, 0);
      if (typeof v === 'number') return v;
      if (typeof v === 'string') {
        const t = v.trim();
        if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
        if (/^nan$/i.test(t)) return Number.NaN;
        if (t !== '' && !Number.isNaN(Number(t))) return Number(t);
      }
      throw new ExpressionError('type', source, `asFloat() cannot convert ${describe(v)}`);
    },
  },
  abs: { min: 1, max: 1, call: (args, source) => Math.abs(num(source, 'abs()', arg(args, 0))) },
  min: { min: 1, max: 8, call: (args, source, state) => extreme(args, source, state, 'min()') },
  max: { min: 1, max: 8, call: (args, source, state) => extreme(args, source, state, 'max()') },
};

/** min()/max() over numbers, or over the one array given (an empty array is nil). */
function extreme(args: Value[], source: string, state: { steps: number }, name: 'min()' | 'max()'): Value {
  const first = arg(args, 0);
  const list = args.length === 1 && Array.isArray(first) ? (first as Value[]) : args;
  step(source, state, list.length);
  if (list.length === 0) return undefined;
  const nums = list.map((v) => num(source, name, v));
  return name === 'min()' ? Math.min(...nums) : Math.max(...nums);
}
