// Interprets the AST of parse.ts over plain data. Bounded: steps (each node, each range iteration, each function
// element) and output size; a failure is a TemplateError naming the template and the position of the action.
import { GoTime } from './gotime.ts';
import { type Budget, ExecError, FUNCTIONS, Helper, describe, isRecord, show, spend, truthy, type TValue } from './funcs.ts';
import { TemplateError, lineCol, parseTemplate, type Arg, type Command, type Node, type Pipeline } from './parse.ts';

export const EXEC_LIMITS = { maxSteps: 200_000, maxOutput: 256 * 1024 } as const;

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

// Control flow of {{break}}/{{continue}}, unwound through the interpreter's recursion.
class Break extends Error {}
class Continue extends Error {}

interface Vars {
  names: string[];
  values: TValue[];
}

class Exec {
  private readonly vars: Vars = { names: [], values: [] };
  private out = '';
  private readonly budget: Budget = { steps: 0, maxSteps: EXEC_LIMITS.maxSteps, maxOutput: EXEC_LIMITS.maxOutput };
  private pos = 0;

  constructor(root: TValue) {
    this.vars.names.push('$');
    this.vars.values.push(root);
  }

  at(): number {
    return this.pos;
  }

  run(nodes: Node[], dot: TValue): string {
    this.list(nodes, dot);
    return this.out;
  }

  private write(s: string): void {
    this.out += s;
    if (this.out.length > this.budget.maxOutput) throw new ExecError(`output longer than ${this.budget.maxOutput} characters`);
  }

  private list(nodes: Node[], dot: TValue): void {
    const mark = this.vars.names.length;
    try {
      for (const n of nodes) this.node(n, dot);
    } finally {
      this.vars.names.length = mark;
      this.vars.values.length = mark;
    }
  }

  private node(n: Node, dot: TValue): void {
    spend(this.budget);
    switch (n.kind) {
      case 'text':
        this.write(n.text);
        return;
      case 'action': {
        const v = this.pipeline(n.pipe, dot);
        if (n.pipe.decl.length === 0) this.write(show(v));
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.vars.names.length;
        const v = this.pipeline(n.pipe, dot);
        try {
          if (truthy(v)) this.list(n.then, n.kind === 'with' ? v : dot);
          else this.list(n.else, dot);
        } finally {
          this.vars.names.length = mark;
          this.vars.values.length = mark;
        }
        return;
      }
      case 'range':
        this.range(n, dot);
        return;
      case 'break':
        throw new Break();
      case 'continue':
        throw new Continue();
    }
  }

  private range(n: Extract<Node, { kind: 'range' }>, dot: TValue): void {
    const pipe = { ...n.pipe, decl: [] };
    const v = this.pipeline(pipe, dot);
    let entries: [TValue, TValue][];
    if (Array.isArray(v)) entries = v.map((x: TValue, i) => [i, x]);
    else if (isRecord(v)) entries = Object.keys(v).sort().map((k) => [k, v[k]]);
    else if (typeof v === 'number' && Number.isInteger(v)) entries = Array.from({ length: Math.max(0, Math.min(v, this.budget.maxSteps)) }, (_x, i) => [i, i]);
    else if (v === undefined || v === null) entries = [];
    else throw new ExecError(`range can't iterate over ${describe(v)}`);
    if (entries.length === 0) {
      this.list(n.else, dot);
      return;
    }
    for (const [k, x] of entries) {
      spend(this.budget);
      const mark = this.vars.names.length;
      if (n.pipe.decl.length === 1) this.bind(n.pipe.decl[0] as string, x);
      if (n.pipe.decl.length === 2) {
        this.bind(n.pipe.decl[0] as string, k);
        this.bind(n.pipe.decl[1] as string, x);
      }
      try {
        this.list(n.body, x);
      } catch (e) {
        if (e instanceof Break) break;
        if (!(e instanceof Continue)) throw e;
      } finally {
        this.vars.names.length = mark;
        this.vars.values.length = mark;
      }
    }
  }

  private bind(name: string, v: TValue): void {
    this.vars.names.push(name);
    this.vars.values.push(v);
  }

  private variable(name: string): TValue {
    const i = this.vars.names.lastIndexOf(name);
    if (i < 0) throw new ExecError(`undefined variable: ${name}`);
    return this.vars.values[i];
  }

  private pipeline(p: Pipeline, dot: TValue): TValue {
    this.pos = p.pos;
    let v: TValue = undefined;
    let first = true;
    for (const c of p.cmds) {
      v = this.command(c, dot, first ? [] : [v]);
      first = false;
    }
    if (p.decl.length === 1) {
      const name = p.decl[0] as string;
      if (p.assign) {
        const i = this.vars.names.lastIndexOf(name);
        if (i < 0) throw new ExecError(`undefined variable: ${name}`);
        this.vars.values[i] = v;
      } else this.bind(name, v);
    }
    return v;
  }

  private command(c: Command, dot: TValue, piped: TValue[]): TValue {
    spend(this.budget);
    this.pos = c.pos;
    const [head, ...rest] = c.args as [Arg, ...Arg[]];
    if (head.kind === 'func') {
      const fn = FUNCTIONS[head.name];
      if (fn === undefined) throw new ExecError(`unknown function "${head.name}"`);
      // and/or short-circuit as Go's do (since 1.18): the right side may guard on the left.
      if (head.name === 'and' || head.name === 'or') {
        let last: TValue = undefined;
        for (const a of rest) {
          last = this.arg(a, dot);
          if (head.name === 'and' ? !truthy(last) : truthy(last)) return last;
        }
        for (const x of piped) last = x;
        return last;
      }
      const args = [...rest.map((a) => this.arg(a, dot)), ...piped];
      if (head.name === 'call') return this.call(args);
      if (args.length < fn.min || args.length > fn.max) throw new ExecError(`wrong number of args for ${head.name}: want ${fn.min === fn.max ? fn.min : `${fn.min}-${fn.max}`} got ${args.length}`);
      return fn.call(args, this.budget);
    }
    if (head.kind === 'field' && head.path.length > 0 && (rest.length > 0 || piped.length > 0)) {
      // A method call with arguments: `.Format "2006"` on a time.
      return this.field(head, dot, [...rest.map((a) => this.arg(a, dot)), ...piped]);
    }
    if (rest.length > 0 || piped.length > 0) throw new ExecError(`can't give argument to non-function ${describeArg(head)}`);
    return this.arg(head, dot);
  }

  private call(args: TValue[]): TValue {
    const [fn, ...rest] = args;
    if (!(fn instanceof Helper)) throw new ExecError(`call: ${describe(fn)} is not a function`);
    spend(this.budget);
    return fn.fn(rest);
  }

  private arg(a: Arg, dot: TValue): TValue {
    if (a.kind === 'lit') return a.value;
    if (a.kind === 'func') {
      const fn = FUNCTIONS[a.name];
      if (fn === undefined || fn.min > 0) throw new ExecError(`${a.name} needs arguments: use parentheses`);
      return fn.call([], this.budget);
    }
    return this.field(a, dot, []);
  }

  private field(a: Extract<Arg, { kind: 'field' }>, dot: TValue, args: TValue[]): TValue {
    let v: TValue = a.base === 'dot' ? dot : 'variable' in a.base ? this.variable(a.base.variable) : this.pipeline(a.base.pipe, dot);
    a.path.forEach((name, i) => {
      spend(this.budget);
      const last = i === a.path.length - 1;
      v = member(v, name, last ? args : []);
    });
    return v;
  }
}

function member(v: TValue, name: string, args: TValue[]): TValue {
  if (v instanceof GoTime) return timeMethod(v, name, args);
  if (args.length > 0) throw new ExecError(`${name} is not a method but has arguments`);
  if (isRecord(v)) {
    if (FORBIDDEN.has(name)) throw new ExecError(`the field "${name}" is not readable`);
    return Object.hasOwn(v, name) ? v[name] : undefined;
  }
  // A missing parent reads as nil (Argo's data is unstructured maps; `{{if .a.b.c}}` should not fail on a missing b).
  if (v === undefined || v === null) return undefined;
  throw new ExecError(`can't evaluate field ${name} in ${describe(v)}`);
}

function timeMethod(t: GoTime, name: string, args: TValue[]): TValue {
  switch (name) {
    case 'Format':
      if (typeof args[0] !== 'string') throw new ExecError('Format needs a layout string');
      return t.format(args[0]);
    case 'Unix':
      return Math.floor(t.ms / 1000);
    case 'UTC':
    case 'Local':
      return t;
    case 'String':
      return t.toString();
    case 'Year':
      return new Date(t.ms).getUTCFullYear();
    default:
      throw new ExecError(`a time has no method ${name}`);
  }
}

function describeArg(a: Arg): string {
  if (a.kind === 'lit') return JSON.stringify(a.value);
  if (a.kind === 'func') return a.name;
  return a.path.length > 0 ? `.${a.path.join('.')}` : 'the value';
}

/** A parsed template: parse once (at config load), render per notification. */
export class Template {
  readonly name: string;
  readonly source: string;
  private readonly ast: Node[];

  private constructor(name: string, source: string, ast: Node[]) {
    this.name = name;
    this.source = source;
    this.ast = ast;
  }

  /** Throws TemplateError (name:line:column) on anything outside the supported subset. */
  static parse(name: string, source: string): Template {
    return new Template(name, source, parseTemplate(name, source));
  }

  render(data: TValue): string {
    const ex = new Exec(data);
    try {
      return ex.run(this.ast, data);
    } catch (err) {
      const { line, column } = lineCol(this.source, ex.at());
      if (err instanceof ExecError) throw new TemplateError(this.name, line, column, err.message);
      if (err instanceof RangeError) throw new TemplateError(this.name, line, column, 'nested too deeply');
      throw err;
    }
  }
}
