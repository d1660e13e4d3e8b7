import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Condition, evaluate, ExpressionError, LIMITS, type Value } from './evaluate.ts';

const test = (src: string, result: Value): boolean => Condition.parse(src).test(result);
const kindOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ExpressionError) return err.kind;
    return `foreign error: ${String(err)}`;
  }
  return 'no error';
};

describe("Argo's condition forms", () => {
  it.each<[string, Value, boolean]>([
    ['result[0] >= 0.95', [0.97], true],
    ['result[0] >= 0.95', [0.9], false],
    ['len(result) > 0 && result[0] < 500', [120], true],
    ['len(result) > 0 && result[0] < 500', [], false],
    ['len(result) == 0 || result[0] < 500', [], true],
    ['isNaN(result[0])', [Number.NaN], true],
    ['isNaN(result[0])', [1], false],
    ['isInf(result[0])', [Number.POSITIVE_INFINITY], true],
    ['isInf(result[0], -1)', [Number.POSITIVE_INFINITY], false],
    ['isInf(result[0], -1)', [Number.NEGATIVE_INFINITY], true],
    ['isInf(result[0])', [Number.NaN], false],
    ['default(result[0], 0) > 1', [], false],
    ['default(result[0], 2) > 1', [], true],
    ['default(result[0], 0) > 1', [5], true],
    ['result == 1', 1, true],
    ['result == 1', 2, false],
    ['result != 1', 2, true],
    ['result.ok == true', { ok: true }, true],
    ['result.data.rate > 0.9', { data: { rate: 0.95 } }, true],
    ['result["ok"]', { ok: true }, true],
    ['!(result[0] > 5)', [3], true],
    ['result[0] * 100 >= 99', [0.995], true],
    ['(result[0] - result[1]) / result[1] < 0.1', [105, 100], true],
    ['result[-1] == 3', [1, 2, 3], true],
    ['result[0] % 2 == 1', [3], true],
    ['result[0] > 1 ? true : false', [2], true],
    ['result == nil', null, true],
    ['result.missing == nil', {}, true],
    ['asInt("42") == 42', 0, true],
    ['asFloat("+Inf") > 1e308', 0, true],
    ['asFloat("1.5") == 1.5', 0, true],
    ['abs(result[0]) < 1', [-0.5], true],
    ['max(result) < 10 && min(result) > 0', [1, 5, 9], true],
    ['result == [1, 2]', [1, 2], true],
    ['result.status == "ok"', { status: 'ok' }, true],
    ['len("abc") == 3', 0, true],
    ['-result[0] < 0', [1], true],
    ['len(result) > 0 and result[0] < 500', [120], true],
    ['len(result) > 0 and result[0] < 500', [], false],
    ['result[0] > 5 or not isNaN(result[0])', [1], true],
    ['not (result[0] > 5)', [1], true],
  ])('%s with %j is %s', (src, result, want) => {
    expect(test(src, result)).toBe(want);
  });

  it('short-circuits so a guard protects the right side', () => {
    // Without short-circuit, result[0] < 500 would compare nil and throw.
    expect(test('len(result) > 0 && result[0] < 500', [])).toBe(false);
    expect(kindOf(() => test('result[0] < 500', []))).toBe('type');
  });

  it('evaluates arithmetic to numbers', () => {
    expect(evaluate('1 + 2 * 3', 0)).toBe(7);
    expect(evaluate('result[0] / 0', [1])).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('typed errors', () => {
  it('names the expression and the parse position', () => {
    try {
      Condition.parse('result[0] >= ');
      throw new Error('expected a parse error');
    } catch (err) {
      expect(err).toBeInstanceOf(ExpressionError);
      const e = err as ExpressionError;
      expect(e.kind).toBe('parse');
      expect(e.expression).toBe('result[0] >= ');
      expect(typeof e.position).toBe('number');
      expect(e.message).toContain('result[0] >= ');
    }
  });

  it.each<[string, Value, string]>([
    ['', 0, 'parse'],
    ['   ', 0, 'parse'],
    ['result[0] >=', [1], 'parse'],
    ['foo > 1', 0, 'unknown-identifier'],
    ['process.exit(1)', 0, 'unsupported'],
    ['process', 0, 'unknown-identifier'],
    ['android > 1', 0, 'unknown-identifier'],
    ['globalThis', 0, 'unknown-identifier'],
    ['this', 0, 'unsupported'],
    ['exec("rm")', 0, 'unknown-function'],
    ['result.constructor', {}, 'unsupported'],
    ['result["__proto__"]', {}, 'unsupported'],
    ['result.__proto__.polluted', {}, 'unsupported'],
    ['result.toString', {}, 'no error'],
    ['result.constructor.constructor("return 1")()', {}, 'unsupported'],
    ['len.call', 0, 'unknown-identifier'],
    ['result[0](1)', [1], 'unsupported'],
    ['result > 1', 'abc', 'type'],
    ['result[0] > 1', 5, 'type'],
    ['result["a"] > 1', [1], 'type'],
    ['result[0.5]', [1], 'type'],
    ['result[0]', [1], 'no error'],
    ['1 & 2', 0, 'unsupported'],
    ['1 << 2', 0, 'unsupported'],
    ['~1', 0, 'unsupported'],
    ['a, b', 0, 'unsupported'],
    ['/x/', 0, 'parse'],
    ['len()', 0, 'type'],
    ['len(1)', 0, 'type'],
    ['isNaN("x")', 0, 'type'],
    ['!1', 0, 'type'],
    ['1 && true', 0, 'type'],
  ])('%s with %j -> %s', (src, result, kind) => {
    expect(kindOf(() => Condition.parse(src).evaluate(result))).toBe(kind);
  });

  it('test() requires a boolean', () => {
    expect(kindOf(() => test('result[0]', [1]))).toBe('type');
    expect(kindOf(() => test('result', undefined))).toBe('type');
  });

  it('does not read inherited properties', () => {
    // toString exists on every object's prototype; a condition must see only the data's own keys.
    expect(evaluate('result.toString', {})).toBeUndefined();
    expect(evaluate('result.hasOwnProperty', { a: 1 })).toBeUndefined();
  });
});

describe('hostile input is bounded', () => {
  it('rejects a huge expression before parsing', () => {
    const src = `${'result[0] + '.repeat(1000)}1 > 0`;
    expect(src.length).toBeGreaterThan(LIMITS.maxLength);
    expect(kindOf(() => Condition.parse(src))).toBe('limit');
  });

  it('rejects too many nodes within the length limit', () => {
    const src = `${Array.from({ length: 200 }, () => '1').join('+')} > 0`;
    expect(src.length).toBeLessThan(LIMITS.maxLength);
    expect(kindOf(() => Condition.parse(src))).toBe('limit');
  });

  it('rejects deep nesting', () => {
    // Parentheses alone make no nodes; nested operations do.
    expect(kindOf(() => Condition.parse(`${'('.repeat(100)}1${')'.repeat(100)}`))).toBe('no error');
    expect(kindOf(() => Condition.parse(`${'(1+'.repeat(40)}1${')'.repeat(40)}`))).toBe('limit');
    expect(kindOf(() => Condition.parse(`${'!'.repeat(200)}true`))).toBe('limit');
    expect(kindOf(() => Condition.parse(`result${'[0]'.repeat(60)}`))).toBe('limit');
  });

  it('bounds the work a function does over a large result', () => {
    const big = Array.from({ length: LIMITS.maxSteps + 1 }, (_, i) => i);
    expect(kindOf(() => evaluate('max(result) > 0', big))).toBe('limit');
    expect(evaluate('len(result) > 0', big)).toBe(true);
  });

  it('never pollutes Object.prototype', () => {
    for (const src of ['result.__proto__.x == 1', 'result["__proto__"]["x"] == 1', 'result.constructor.prototype.x == 1']) {
      expect(kindOf(() => evaluate(src, {}))).not.toBe('no error');
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

const valueArb: fc.Arbitrary<Value> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.string({ maxLength: 8 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 3 }),
  ),
})).value as fc.Arbitrary<Value>;

// Fragments that exercise the grammar more often than random characters do.
const tokens = ['result', '[', ']', '(', ')', '0', '1', '-1', '0.95', '>=', '<', '==', '!=', '&&', '||', '!', '+', '-', '*', '/', '%', '?', ':', '.', 'len', 'isNaN', 'isInf', 'default', 'asInt', 'asFloat', 'nil', ',', '"a"', '__proto__', 'constructor', 'true', 'false', 'and', 'or', 'not', ' '];

describe('properties', () => {
  it('throws nothing but ExpressionError on arbitrary text and data', () => {
    const text = fc.oneof(fc.string({ maxLength: 80 }), fc.array(fc.constantFrom(...tokens), { maxLength: 40 }).map((t) => t.join('')));
    fc.assert(
      fc.property(text, valueArb, (src, result) => {
        try {
          Condition.parse(src).test(result);
        } catch (err) {
          if (!(err instanceof ExpressionError)) throw err;
          expect(err.expression).toBe(src);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with JavaScript on number comparisons', () => {
    const num = fc.double({ noNaN: true });
    fc.assert(
      fc.property(num, num, fc.constantFrom('<', '<=', '>', '>=', '==', '!='), (a, b, op) => {
        const want = op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : op === '>=' ? a >= b : op === '==' ? a === b : a !== b;
        expect(test(`result[0] ${op} result[1]`, [a, b])).toBe(want);
      }),
    );
  });

  it('default() returns its fallback exactly when the element is missing', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true }), { maxLength: 5 }), fc.integer({ min: 0, max: 6 }), (xs, i) => {
        const got = evaluate(`default(result[${i}], -42)`, xs);
        expect(got).toBe(i < xs.length ? xs[i] : -42);
      }),
    );
  });
});

describe('membership and named bindings (notification triggers)', () => {
  const app = { status: { operationState: { phase: 'Failed' }, health: { status: 'Healthy' }, labels: { team: 'a' } } };
  const when = (src: string): Value => Condition.parse(src).evaluateWith({ app });

  it("evaluates Argo CD's catalog conditions over the bound object", () => {
    expect(when("app.status.operationState.phase in ['Error', 'Failed']")).toBe(true);
    expect(when("app.status.operationState.phase in ['Succeeded']")).toBe(false);
    expect(when("app.status.operationState.phase in ['Error', 'Failed'] and app.status.health.status == 'Healthy'")).toBe(true);
    expect(when("not (app.status.health.status in ['Degraded'])")).toBe(true);
  });

  it('reads keys of objects, treats a missing list as empty and refuses other right sides', () => {
    expect(when("'team' in app.status.labels")).toBe(true);
    expect(when("'constructor' in app.status.labels")).toBe(false);
    expect(when("'x' in app.status.missing")).toBe(false);
    expect(() => when("'x' in app.status.health.status")).toThrow(/in needs an array or an object on its right, got the string "Healthy"/);
  });

  it("has expr-lang's string operators", () => {
    expect(when("app.status.health.status startsWith 'Heal'")).toBe(true);
    expect(when("app.status.health.status endsWith 'thy'")).toBe(true);
    expect(when("app.status.health.status contains 'alt'")).toBe(true);
    expect(() => when("app.status contains 'x'")).toThrow(/contains needs strings, got an object/);
  });

  it('names the bound names when an identifier is unknown, and refuses method calls such as time.Now()', () => {
    expect(() => when('rollout.status.phase == "Healthy"')).toThrow(/unknown name "rollout" \(only app, nil, NaN, Infinity\)/);
    expect(() => when('time.Now() > 0')).toThrow(/only named functions can be called/);
  });

  it('agrees with Array.includes for numbers and strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('a', 'b', 'c')), fc.array(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('a', 'b', 'c')), { maxLength: 6 }), (x, xs) => {
        expect(Condition.parse('result[0] in result[1]').evaluate([x, xs])).toBe(xs.includes(x));
      }),
    );
  });
});
